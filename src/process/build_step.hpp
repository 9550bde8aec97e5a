// SPDX-License-Identifier: Apache-2.0
// BuildStep: one step of a build, and StepContext: what a running step may use (properties,
// the worker, logs, its state string). The step library (src/steps) implements steps; the
// Build runs them in order and applies Buildbot's result rules (data-model.md §9).
#pragma once

#include "core/expected.hpp"
#include "core/properties.hpp"
#include "core/results.hpp"
#include "data/entities.hpp"
#include "process/remote_command.hpp"

#include <filesystem>
#include <functional>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>

namespace kiln::process {

class TriggerServices;
class WorkerConnection;

// The options every step has (Buildbot's names in snake_case).
struct StepOptions {
    std::string name;
    bool halt_on_failure = false;
    bool flunk_on_failure = true;
    bool warn_on_failure = false;
    bool warn_on_warnings = false;
    bool flunk_on_warnings = false;
    bool always_run = false;
    // Unset: run the step. An error ends the step in EXCEPTION.
    std::function<core::Expected<bool>(const core::Properties&)> do_step_if;
    std::function<core::Expected<bool>(core::Results, const core::Properties&)> hide_step_if;
};

struct StepOutcome {
    core::Results results = core::Results::success;
    // The final state string without the result suffix (Build adds " (failure)" etc.).
    std::string summary;
};

class StepContext {
public:
    virtual ~StepContext() = default;

    // The build's properties as they are now (steps render their arguments with them).
    virtual const core::Properties& properties() const = 0;
    virtual boost::asio::awaitable<void> set_property(std::string name, boost::json::value value,
                                                      std::string source) = 0;

    virtual WorkerConnection& worker() = 0;
    virtual const std::string& builder_name() const = 0;
    // The builder's directory on the worker (absolute, in the worker's path syntax).
    virtual std::string worker_builddir() const = 0;
    // Joins path segments in the worker's path syntax.
    virtual std::string worker_path(std::string_view base, std::string_view relative) const = 0;
    virtual const std::filesystem::path& master_dir() const = 0;
    // Whether master-side paths may leave the master directory (config).
    virtual bool allow_master_paths_outside() const = 0;

    // Runs a command on the worker; a stop of the build interrupts it.
    virtual boost::asio::awaitable<CommandResult> run_command(RemoteCommand command) = 0;

    virtual boost::asio::awaitable<data::Log> add_log(std::string name, std::string type) = 0;
    virtual boost::asio::awaitable<void> append_log(data::Id logid, std::string lines) = 0;
    // Appends last_lines (whole lines; may be empty) and finishes the log, in one store.
    virtual boost::asio::awaitable<void> finish_log(data::Id logid, std::string last_lines) = 0;
    virtual boost::asio::awaitable<void> set_state_string(std::string text) = 0;
    virtual boost::asio::awaitable<void> add_url(std::string name, std::string url) = 0;

    // True once the build was asked to stop (user stop or master shutdown).
    virtual bool is_stopping() const = 0;

    // The build's id, and its buildset's sourcestamps (a patched one with its patch's body).
    virtual data::Id build_id() const = 0;
    virtual boost::asio::awaitable<std::vector<data::SourceStamp>> sourcestamps() = 0;
    // For Trigger steps; nullptr when the master offers none.
    virtual TriggerServices* triggers() = 0;
};

class BuildStep {
public:
    explicit BuildStep(StepOptions options)
        : options_(std::move(options)) {}
    virtual ~BuildStep() = default;
    const StepOptions& options() const { return options_; }

    // The state string while it runs, e.g. the command line.
    virtual std::string description(const core::Properties& properties) const = 0;
    // Runs the step. Exceptions: WorkerLost -> RETRY; others -> EXCEPTION with the text in
    // the step's log.
    virtual boost::asio::awaitable<StepOutcome> run(StepContext& context) = 0;
    // The build is being stopped while the step runs (after a running command was asked to
    // stop). Steps that wait for something other than a command (Trigger) end their wait.
    virtual boost::asio::awaitable<void> interrupt(StepContext& context, std::string reason) {
        (void)context;
        (void)reason;
        co_return;
    }

private:
    StepOptions options_;
};

// Makes the steps of one build (from the builder's config, in master/).
using StepFactory = std::function<std::vector<std::unique_ptr<BuildStep>>()>;

}  // namespace kiln::process
