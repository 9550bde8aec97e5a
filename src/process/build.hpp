// SPDX-License-Identifier: Apache-2.0
// Build: one build of one build request on one worker. Stores the build, its properties and
// steps through data/, runs the steps in order with Buildbot's result rules, then completes
// the request (or returns it to the queue after RETRY).
#pragma once

#include "data/builds.hpp"
#include "data/buildsets.hpp"
#include "process/build_step.hpp"
#include "process/worker_connection.hpp"

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

namespace kiln::process {

// What every build of this master shares.
struct BuildServices {
    data::Builds& builds;
    data::Buildsets& buildsets;
    data::Id masterid = 0;
    std::filesystem::path master_dir;
    bool allow_master_paths_outside = false;
    TriggerServices* triggers = nullptr;  // for Trigger steps
};

// What the distributor decided: which request, which builder, which worker.
struct BuildPlan {
    data::Id builderid = 0;
    std::string builder_name;
    std::string workerbuilddir;  // relative to the worker's basedir
    data::BuildRequest request;
    core::Properties properties;  // global + builder + worker properties from the config
    std::vector<std::unique_ptr<BuildStep>> steps;
    std::string worker_name;
    data::Id workerid = 0;
    // Pending requests collapsed into this build (claimed with it): completed SKIPPED once
    // the build exists, naming it.
    std::vector<data::Id> collapsed;
};

class Build final : public StepContext {
public:
    Build(BuildServices& services, BuildPlan plan, std::shared_ptr<WorkerConnection> worker);
    ~Build() override;

    // Runs the build to its end and returns its results. Never throws for build failures;
    // a database failure propagates (the request stays claimed and is recovered at the next
    // start, like after a crash).
    boost::asio::awaitable<core::Results> run();
    // Asks the build to stop: the running command is interrupted, the build ends CANCELLED
    // (or RETRY when retry is true, for a master shutdown: the request is built again).
    void stop(std::string reason, bool retry = false);

    std::optional<data::Id> buildid() const {
        return build_ ? std::optional(build_->buildid) : std::nullopt;
    }
    const BuildPlan& plan() const { return plan_; }

    // StepContext
    const core::Properties& properties() const override { return properties_; }
    boost::asio::awaitable<void> set_property(std::string name, boost::json::value value,
                                              std::string source) override;
    WorkerConnection& worker() override { return *worker_; }
    const std::string& builder_name() const override { return plan_.builder_name; }
    std::string worker_builddir() const override;
    std::string worker_path(std::string_view base, std::string_view relative) const override;
    const std::filesystem::path& master_dir() const override { return services_.master_dir; }
    bool allow_master_paths_outside() const override {
        return services_.allow_master_paths_outside;
    }
    boost::asio::awaitable<CommandResult> run_command(RemoteCommand command) override;
    boost::asio::awaitable<data::Log> add_log(std::string name, std::string type) override;
    boost::asio::awaitable<void> append_log(data::Id logid, std::string lines) override;
    boost::asio::awaitable<void> finish_log(data::Id logid, std::string last_lines) override;
    boost::asio::awaitable<void> set_state_string(std::string text) override;
    boost::asio::awaitable<void> add_url(std::string name, std::string url) override;
    bool is_stopping() const override { return stop_reason_.has_value(); }
    data::Id build_id() const override { return build_ ? build_->buildid : 0; }
    boost::asio::awaitable<std::vector<data::SourceStamp>> sourcestamps() override;
    TriggerServices* triggers() override { return services_.triggers; }

private:
    boost::asio::awaitable<core::Properties> initial_properties();
    boost::asio::awaitable<bool> prepare_worker();
    boost::asio::awaitable<void> run_step(BuildStep& step);
    boost::asio::awaitable<void> finish_build();
    boost::asio::awaitable<void> set_state_string_of_build(std::string text);
    void add_result(const BuildStep& step, core::Results step_results, const std::string& summary);

    BuildServices& services_;
    BuildPlan plan_;
    std::shared_ptr<WorkerConnection> worker_;
    core::Properties properties_;
    std::optional<data::Build> build_;
    std::optional<data::Id> current_stepid_;
    BuildStep* current_step_ = nullptr;
    std::optional<std::string> current_command_;
    std::optional<std::string> stop_reason_;
    bool stop_is_retry_ = false;
    core::Results results_ = core::Results::success;
    bool is_terminated_ = false;
    std::vector<std::string> failed_summaries_;
    std::shared_ptr<void> tasks_;  // io::TaskGroup for interrupts
};

// Merges a step's results into the build's; second: whether the build must stop (Buildbot's
// computeResultAndTermination, data-model.md §9).
std::pair<core::Results, bool> merge_step_results(const StepOptions& options, core::Results step,
                                                  core::Results build);

// The final state string of a build ("build successful", "failed 'make' (failure)").
std::string build_summary(core::Results results, const std::optional<std::string>& stop_reason,
                          const std::vector<std::string>& step_summaries);

}  // namespace kiln::process
