// SPDX-License-Identifier: Apache-2.0
#include "process/build.hpp"

#include "io/task_group.hpp"

#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

namespace kiln::process {

namespace asio = boost::asio;
using core::Results;

namespace {

boost::json::value text(std::string_view value) { return boost::json::string(value); }

// Step results that also go into the build's state string (Buildbot's
// updateBuildSummaryPolicy defaults).
bool summary_goes_to_build(const StepOptions& options, Results results) {
    switch (results) {
    case Results::exception:
    case Results::retry:
    case Results::cancelled: return true;
    case Results::failure:
        return options.flunk_on_failure || options.halt_on_failure || options.warn_on_failure;
    case Results::warnings: return options.warn_on_warnings || options.flunk_on_warnings;
    default: return false;
    }
}

}  // namespace

std::pair<Results, bool> merge_step_results(const StepOptions& options, Results step,
                                            Results build) {
    auto possible = step;
    bool terminate = false;
    if (step == Results::failure) {
        if (!options.flunk_on_failure) possible = Results::success;
        if (options.warn_on_failure) possible = Results::warnings;
        if (options.flunk_on_failure) possible = Results::failure;
        terminate = options.halt_on_failure;
    } else if (step == Results::warnings) {
        possible = options.warn_on_warnings ? Results::warnings : Results::success;
        if (options.flunk_on_warnings) possible = Results::failure;
    } else if (step == Results::exception || step == Results::retry || step == Results::cancelled) {
        terminate = true;
    }
    return {core::worst(build, possible), terminate};
}

std::string build_summary(Results results, const std::optional<std::string>& stop_reason,
                          const std::vector<std::string>& step_summaries) {
    std::string text;
    switch (results) {
    case Results::failure: text = "failed"; break;
    case Results::warnings: text = "warnings"; break;
    case Results::exception: text = "exception"; break;
    case Results::retry: text = "retry"; break;
    case Results::cancelled: text = "cancelled"; break;
    default: text = "build successful"; break;
    }
    if (stop_reason && results == Results::cancelled) text += " (" + *stop_reason + ")";
    for (const auto& summary : step_summaries)
        text += " " + summary;
    return text;
}

Build::Build(BuildServices& services, BuildPlan plan, std::shared_ptr<WorkerConnection> worker)
    : services_(services)
    , plan_(std::move(plan))
    , worker_(std::move(worker)) {}

Build::~Build() = default;

std::string Build::worker_path(std::string_view base, std::string_view relative) const {
    const char separator = worker_->system() == "nt" ? '\\' : '/';
    if (relative.empty()) return std::string(base);
    if (relative.front() == '/' || (separator == '\\' && relative.size() > 1 && relative[1] == ':'))
        return std::string(relative);
    std::string path(base);
    if (!path.empty() && path.back() != separator) path += separator;
    path += relative;
    return path;
}

std::string Build::worker_builddir() const {
    return worker_path(worker_->basedir(), plan_.workerbuilddir);
}

asio::awaitable<core::Properties> Build::initial_properties() {
    auto inputs = co_await services_.buildsets.get_with_properties(plan_.request.buildsetid);
    auto& [buildset, properties] = inputs;
    // Config properties do not override what the buildset asked for.
    for (const auto& [name, property] : plan_.properties.all())
        if (!properties.has(name)) properties.set(name, property.value, property.source);
    properties.set("buildername", text(plan_.builder_name), "Builder");
    properties.set("workername", text(plan_.worker_name), "Worker");
    properties.set("builddir", text(worker_builddir()), "Worker");
    properties.set("workerbuilddir", text(plan_.workerbuilddir), "Worker");
    properties.set("masterid", services_.masterid, "Build");
    if (buildset && !buildset->sourcestamps.empty()) {
        const auto& stamp = buildset->sourcestamps.front();
        auto optional = [](const std::optional<std::string>& value) {
            return value ? boost::json::value(*value) : boost::json::value(nullptr);
        };
        properties.set("branch", optional(stamp.branch), "Build");
        properties.set("revision", optional(stamp.revision), "Build");
        properties.set("repository", text(stamp.repository), "Build");
        properties.set("codebase", text(stamp.codebase), "Build");
        properties.set("project", text(stamp.project), "Build");
    }
    if (const auto* owner = properties.find("owner"); owner && !properties.has("owners"))
        properties.set("owners", boost::json::array{owner->value}, "Build");
    co_return std::move(properties);
}

asio::awaitable<Results> Build::run() {
    tasks_ = std::make_shared<io::TaskGroup>(co_await asio::this_coro::executor);
    properties_ = co_await initial_properties();
    build_ =
        co_await services_.builds.add(plan_.builderid, plan_.request.buildrequestid, plan_.workerid,
                                      services_.masterid, properties_, "starting");
    properties_.set("buildnumber", build_->number, "Build");
    if (!plan_.collapsed.empty()) {
        spdlog::info("build {}/{} covers collapsed request(s) {}", plan_.builder_name,
                     build_->number, fmt::join(plan_.collapsed, ", "));
        auto collapsed = plan_.collapsed;
        co_await services_.buildsets.complete_collapsed(std::move(collapsed), build_->buildid);
    }
    spdlog::info("build {}/{} started on {} (request {})", plan_.builder_name, build_->number,
                 plan_.worker_name, plan_.request.buildrequestid);

    if (co_await prepare_worker()) {
        co_await set_state_string_of_build("building");
        for (auto& step : plan_.steps) {
            if (is_terminated_ && !step->options().always_run) continue;
            if (stop_reason_ && !step->options().always_run) continue;
            co_await run_step(*step);
        }
    }
    co_await finish_build();
    co_return results_;
}

asio::awaitable<void> Build::set_state_string_of_build(std::string text) {
    build_ = co_await services_.builds.set_state_string(build_->buildid, std::move(text));
}

asio::awaitable<bool> Build::prepare_worker() {
    auto step = co_await services_.builds.add_started_step(build_->buildid, "worker_preparation",
                                                           std::nullopt);
    auto results = Results::success;
    std::string text = "worker " + plan_.worker_name + " ready";
    try {
        co_await worker_->print("ping");
    } catch (const WorkerLost& lost) {
        results = Results::retry;
        text = "worker not available";
        spdlog::warn("build {}/{}: {}", plan_.builder_name, build_->number, lost.what());
    }
    co_await services_.builds.finish_step(step.stepid, text, static_cast<int>(results), false);
    if (results != Results::success) {
        results_ = results;
        is_terminated_ = true;
        failed_summaries_.push_back(text);
        co_return false;
    }
    co_return true;
}

void Build::add_result(const BuildStep& step, Results step_results, const std::string& summary) {
    auto [merged, terminate] = merge_step_results(step.options(), step_results, results_);
    results_ = merged;
    if (terminate) is_terminated_ = true;
    if (summary_goes_to_build(step.options(), step_results)) failed_summaries_.push_back(summary);
}

asio::awaitable<void> Build::run_step(BuildStep& step) {
    const auto& options = step.options();
    StepOutcome outcome;
    bool should_run = true;
    if (options.do_step_if) {
        auto decision = options.do_step_if(properties_);
        if (!decision) {
            outcome = {Results::exception, "do_step_if: " + decision.error().message};
            should_run = false;
        } else if (!*decision) {
            // Buildbot's summary of a skipped step: its description + " (skipped)".
            outcome = {Results::skipped, step.description(properties_)};
            should_run = false;
        }
    }
    // Added, started and described in one transaction.
    std::optional<std::string> running_text;
    if (should_run) running_text = step.description(properties_);
    auto record = co_await services_.builds.add_started_step(build_->buildid, options.name,
                                                             std::move(running_text));
    current_stepid_ = record.stepid;
    current_step_ = &step;
    if (should_run) {
        std::string error;
        bool is_lost = false;
        try {
            outcome = co_await step.run(*this);
        } catch (const WorkerLost& lost) {
            is_lost = true;
            error = lost.what();
        } catch (const std::exception& failure) {
            error = failure.what();
        }
        if (is_lost) {
            outcome = {Results::retry, step.description(properties_)};
            spdlog::warn("build {}/{} step {}: {}", plan_.builder_name, build_->number,
                         options.name, error);
        } else if (!error.empty()) {
            outcome = {Results::exception, step.description(properties_)};
            spdlog::warn("build {}/{} step {}: {}", plan_.builder_name, build_->number,
                         options.name, error);
            auto log = co_await services_.builds.add_log(record.stepid, "err.text", "t");
            auto text = error + "\n";
            co_await services_.builds.finish_log(log.logid, std::move(text));
        }
        if (stop_reason_ && outcome.results != Results::retry)
            outcome.results = stop_is_retry_ ? Results::retry : Results::cancelled;
        if (worker_->is_lost() && outcome.results != Results::success)
            outcome.results = Results::retry;
    }

    std::string summary = outcome.summary.empty() ? "finished" : outcome.summary;
    if (outcome.results != Results::success)
        summary += " (" + std::string(core::to_string(outcome.results)) + ")";
    bool hidden = false;
    if (options.hide_step_if) {
        auto decision = options.hide_step_if(outcome.results, properties_);
        hidden = decision && *decision;
    }
    co_await services_.builds.finish_step(record.stepid, summary, static_cast<int>(outcome.results),
                                          hidden);
    current_stepid_.reset();
    current_step_ = nullptr;
    if (outcome.results != Results::skipped) add_result(step, outcome.results, summary);
}

asio::awaitable<void> Build::finish_build() {
    if (stop_reason_ && results_ != Results::retry)
        results_ = stop_is_retry_ ? Results::retry : Results::cancelled;
    if (worker_->is_lost() && results_ != Results::success) results_ = Results::retry;
    auto summary = build_summary(results_, stop_reason_, failed_summaries_);
    build_ = co_await services_.builds.finish(build_->buildid, std::move(summary),
                                              static_cast<int>(results_));
    spdlog::info("build {}/{} finished: {}", plan_.builder_name, build_->number,
                 core::to_string(results_));
    std::vector<data::Id> requests{plan_.request.buildrequestid};
    if (results_ == Results::retry)
        co_await services_.buildsets.unclaim(std::move(requests), services_.masterid);
    else
        co_await services_.buildsets.complete(std::move(requests), static_cast<int>(results_));
    if (auto* group = static_cast<io::TaskGroup*>(tasks_.get())) co_await group->wait();
}

void Build::stop(std::string reason, bool retry) {
    if (stop_reason_) return;
    stop_reason_ = std::move(reason);
    stop_is_retry_ = retry;
    if (current_step_ && tasks_) {
        auto* group = static_cast<io::TaskGroup*>(tasks_.get());
        group->spawn(current_step_->interrupt(*this, *stop_reason_));
    }
    if (current_command_ && tasks_ && !worker_->is_lost()) {
        auto* group = static_cast<io::TaskGroup*>(tasks_.get());
        group->spawn([](std::shared_ptr<WorkerConnection> worker, std::string id,
                        std::string why) -> asio::awaitable<void> {
            try {
                co_await worker->interrupt(std::move(id), std::move(why));
            } catch (const WorkerLost&) {
                // The command ends with the connection.
            }
        }(worker_, *current_command_, *stop_reason_));
    }
}

asio::awaitable<void> Build::set_property(std::string name, boost::json::value value,
                                          std::string source) {
    if (!properties_.set(name, value, source)) co_return;
    core::Properties changed;
    changed.set(name, std::move(value), source);
    co_await services_.builds.set_properties(build_->buildid, std::move(changed));
}

asio::awaitable<CommandResult> Build::run_command(RemoteCommand command) {
    if (stop_reason_) throw std::runtime_error("build stopping: " + *stop_reason_);
    if (command.command_id.empty()) command.command_id = new_command_id();
    if (!command.builder_name) command.builder_name = plan_.builder_name;
    current_command_ = command.command_id;
    std::exception_ptr error;
    CommandResult result;
    try {
        result = co_await worker_->run_command(std::move(command));
    } catch (...) {
        error = std::current_exception();
    }
    current_command_.reset();
    if (error) std::rethrow_exception(error);
    co_return result;
}

asio::awaitable<data::Log> Build::add_log(std::string name, std::string type) {
    co_return co_await services_.builds.add_log(*current_stepid_, std::move(name), std::move(type));
}

asio::awaitable<void> Build::append_log(data::Id logid, std::string lines) {
    co_await services_.builds.append_log(logid, std::move(lines));
}

asio::awaitable<void> Build::finish_log(data::Id logid, std::string last_lines) {
    co_await services_.builds.finish_log(logid, std::move(last_lines));
}

asio::awaitable<void> Build::set_state_string(std::string text) {
    if (current_stepid_)
        co_await services_.builds.set_step_state_string(*current_stepid_, std::move(text));
}

asio::awaitable<std::vector<data::SourceStamp>> Build::sourcestamps() {
    auto buildset = co_await services_.buildsets.get(plan_.request.buildsetid);
    if (!buildset) co_return std::vector<data::SourceStamp>{};
    // A patched stamp comes with its diff (the source step applies it).
    for (auto& stamp : buildset->sourcestamps) {
        if (!stamp.patch) continue;
        auto body = co_await services_.buildsets.patch_body(stamp.patch->patchid);
        if (body) stamp.patch->body = std::move(*body);
    }
    co_return std::move(buildset->sourcestamps);
}

asio::awaitable<void> Build::add_url(std::string name, std::string url) {
    if (current_stepid_)
        co_await services_.builds.add_step_url(*current_stepid_, std::move(name), std::move(url));
}

}  // namespace kiln::process
