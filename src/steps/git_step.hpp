// SPDX-License-Identifier: Apache-2.0
// GitStep: k.git, Buildbot's Git source step commanded from the master: each git command is
// a `shell` remote command (argv, never a shell line) in the step's workdir, with `stat`,
// `rmdir` and `cpdir` for the checkout's housekeeping. Modes: incremental (fetch into the
// existing clone, or clone), full with method clean, fresh, clobber or copy. Shallow clones
// (depth), submodules, branch and revision from the build's source stamp properties, the
// got_revision property, retries of fetch and clone, and an optional per-worker mirror that
// later clones borrow objects from (`git clone --reference`).
#pragma once

#include "process/build_step.hpp"
#include "steps/step_args.hpp"

namespace kiln::steps {

class GitStep : public process::BuildStep {
public:
    GitStep(process::StepOptions options, StepArgs::Map args);

    std::string description(const core::Properties& properties) const override;
    boost::asio::awaitable<process::StepOutcome> run(process::StepContext& context) override;

private:
    StepArgs::Map args_;
};

}  // namespace kiln::steps
