// SPDX-License-Identifier: Apache-2.0
// ShellStep: k.shell (Buildbot's ShellCommand) and k.set_property_from_command. Runs the
// protocol's `shell` command with every argument it has, streams stdout/stderr/header into
// the step's stdio log and the worker's logfiles into their own logs, and maps the exit code
// to a result (decode_rc).
#pragma once

#include "config/renderable.hpp"
#include "process/build_step.hpp"
#include "steps/step_args.hpp"

namespace kiln::steps {

class ShellStep : public process::BuildStep {
public:
    enum class Kind { shell, set_property_from_command };
    // extract_fn: set_property_from_command's function(rc, stdout, stderr) -> table.
    ShellStep(process::StepOptions options, Kind kind, StepArgs::Map args,
              std::function<core::Expected<boost::json::value>(std::int64_t, const std::string&,
                                                               const std::string&)>
                  extract_fn = {});

    std::string description(const core::Properties& properties) const override;
    boost::asio::awaitable<process::StepOutcome> run(process::StepContext& context) override;

private:
    Kind kind_;
    StepArgs::Map args_;
    std::function<core::Expected<boost::json::value>(std::int64_t, const std::string&,
                                                     const std::string&)>
        extract_fn_;
};

}  // namespace kiln::steps
