// SPDX-License-Identifier: Apache-2.0
#include "steps/step_factory.hpp"

#include "steps/git_step.hpp"
#include "steps/shell_step.hpp"
#include "steps/transfer_steps.hpp"
#include "steps/trigger_step.hpp"

#include <stdexcept>

namespace kiln::steps {

namespace {

process::StepOptions options_of(const config::StepConfig& step) {
    process::StepOptions options;
    options.name = step.name;
    options.halt_on_failure = step.halt_on_failure;
    options.flunk_on_failure = step.flunk_on_failure;
    options.warn_on_failure = step.warn_on_failure;
    options.warn_on_warnings = step.warn_on_warnings;
    options.flunk_on_warnings = step.flunk_on_warnings;
    options.always_run = step.always_run;
    if (!(step.do_step_if.is_constant() && step.do_step_if.value)) {
        options.do_step_if = [predicate = step.do_step_if](const core::Properties& properties) {
            return predicate.evaluate({}, &properties);
        };
    }
    if (!(step.hide_step_if.is_constant() && !step.hide_step_if.value)) {
        options.hide_step_if = [predicate = step.hide_step_if](core::Results results,
                                                               const core::Properties& properties) {
            const boost::json::value argument = static_cast<int>(results);
            return predicate.evaluate({&argument, 1}, &properties);
        };
    }
    return options;
}

StepArgs::Map args_of(const config::StepConfig& step) {
    StepArgs::Map args = step.args;
    if (step.description) args.insert_or_assign("description", *step.description);
    if (step.description_done) args.insert_or_assign("description_done", *step.description_done);
    return args;
}

}  // namespace

std::unique_ptr<process::BuildStep> make_step(const config::StepConfig& step) {
    auto options = options_of(step);
    auto args = args_of(step);
    if (step.type == "shell")
        return std::make_unique<ShellStep>(std::move(options), ShellStep::Kind::shell,
                                           std::move(args));
    if (step.type == "set_property_from_command") {
        std::function<core::Expected<boost::json::value>(std::int64_t, const std::string&,
                                                         const std::string&)>
            extract;
        if (auto found = step.functions.find("extract_fn"); found != step.functions.end()) {
            extract = [function = found->second](std::int64_t rc, const std::string& out,
                                                 const std::string& err) {
                const std::array<boost::json::value, 3> arguments{
                    boost::json::value(rc), boost::json::value(out), boost::json::value(err)};
                return function.call(arguments);
            };
        }
        return std::make_unique<ShellStep>(std::move(options),
                                           ShellStep::Kind::set_property_from_command,
                                           std::move(args), std::move(extract));
    }
    if (step.type == "set_property")
        return std::make_unique<SetPropertyStep>(std::move(options), std::move(args));
    if (step.type == "master_shell")
        return std::make_unique<MasterShellStep>(std::move(options), std::move(args));
    if (step.type == "file_upload")
        return std::make_unique<TransferStep>(std::move(options), TransferStep::Kind::file_upload,
                                              std::move(args));
    if (step.type == "directory_upload")
        return std::make_unique<TransferStep>(
            std::move(options), TransferStep::Kind::directory_upload, std::move(args));
    if (step.type == "file_download")
        return std::make_unique<TransferStep>(std::move(options), TransferStep::Kind::file_download,
                                              std::move(args));
    if (step.type == "string_download")
        return std::make_unique<TransferStep>(std::move(options),
                                              TransferStep::Kind::string_download, std::move(args));
    if (step.type == "git") return std::make_unique<GitStep>(std::move(options), std::move(args));
    if (step.type == "trigger")
        return std::make_unique<TriggerStep>(std::move(options), std::move(args));
    throw std::invalid_argument("unknown step type '" + step.type + "'");
}

std::vector<std::unique_ptr<process::BuildStep>>
make_steps(const std::vector<config::StepConfig>& steps) {
    std::vector<std::unique_ptr<process::BuildStep>> result;
    result.reserve(steps.size());
    for (const auto& step : steps)
        result.push_back(make_step(step));
    return result;
}

}  // namespace kiln::steps
