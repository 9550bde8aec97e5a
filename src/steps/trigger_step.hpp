// SPDX-License-Identifier: Apache-2.0
// TriggerStep: k.trigger (Buildbot's Trigger). Asks each named triggerable scheduler for a
// buildset (the build as parent; its sourcestamps with got_revision, or the latest sources;
// set_properties and copy_properties as properties with source "Trigger"), links each build
// request, and with wait_for_finish waits for the buildsets: the step's result is the worst
// of theirs, and each child build gets a link. Stopping the parent build cancels the
// children.
#pragma once

#include "process/build_step.hpp"
#include "steps/step_args.hpp"

#include <set>

namespace kiln::steps {

class TriggerStep : public process::BuildStep {
public:
    TriggerStep(process::StepOptions options, StepArgs::Map args);

    std::string description(const core::Properties& properties) const override;
    boost::asio::awaitable<process::StepOutcome> run(process::StepContext& context) override;
    boost::asio::awaitable<void> interrupt(process::StepContext& context,
                                           std::string reason) override;

private:
    boost::asio::awaitable<void> cancel(process::TriggerServices& services,
                                        std::vector<data::Id> brids);

    StepArgs::Map args_;
    std::vector<data::Id> brids_;  // the requests triggered so far
    bool is_interrupted_ = false;
};

// Buildbot's Trigger summary: "triggered a, b" and the counts of the children's results
// ("triggered tests, 2 successes, 1 failure").
std::string trigger_summary(const std::vector<std::string>& names,
                            const std::vector<core::Results>& results);

}  // namespace kiln::steps
