// SPDX-License-Identifier: Apache-2.0
#include "schedulers/scheduler.hpp"

#include "schedulers/change_filter.hpp"

#include <algorithm>
#include <map>

#include <spdlog/spdlog.h>

namespace kiln::schedulers {

namespace asio = boost::asio;

namespace {

constexpr int kCatchUpBatch = 500;

std::optional<std::string> optional_text(const boost::json::value* value) {
    if (!value || !value->is_string()) return std::nullopt;
    return std::string(value->get_string());
}

std::string text(const boost::json::object& object, std::string_view key) {
    return optional_text(object.if_contains(key)).value_or("");
}

}  // namespace

Scheduler::Scheduler(SchedulerEnvironment& environment, config::SchedulerConfig config,
                     data::Id schedulerid)
    : environment_(environment)
    , config_(std::move(config))
    , schedulerid_(schedulerid)
    , tasks_(environment.executor, [name = config_.name](std::exception_ptr error) {
        try {
            std::rethrow_exception(error);
        } catch (const std::exception& failure) {
            if (!io::is_cancellation(failure))
                spdlog::error("scheduler {}: {}", name, failure.what());
        }
    }) {}

Scheduler::~Scheduler() = default;

std::string_view Scheduler::class_name(std::string_view type) {
    if (type == "single_branch") return "SingleBranchScheduler";
    if (type == "any_branch") return "AnyBranchScheduler";
    if (type == "periodic") return "Periodic";
    if (type == "nightly") return "Nightly";
    if (type == "triggerable") return "Triggerable";
    if (type == "dependent") return "Dependent";
    return "ForceScheduler";
}

void Scheduler::start(bool enabled) {
    is_started_ = true;
    is_enabled_ = enabled;
    if (enabled) enqueue([this] { return activation(true); });
}

void Scheduler::set_enabled(bool enabled) {
    if (enabled == is_enabled_) return;
    is_enabled_ = enabled;
    if (!is_started_ || is_stopped_) return;
    spdlog::info("scheduler {} {}", name(), enabled ? "enabled" : "disabled");
    if (enabled)
        enqueue([this] { return activation(false); });
    else
        end_activity();
}

void Scheduler::stop() {
    if (is_stopped_) return;
    is_stopped_ = true;
    end_activity();
    jobs_.clear();
}

asio::awaitable<void> Scheduler::wait_stopped() { co_await tasks_.wait(); }

void Scheduler::end_activity() {
    if (!is_active_) return;
    is_active_ = false;
    change_subscription_.reset();
    deactivate();
}

asio::awaitable<void> Scheduler::activation(bool catch_up) {
    if (is_active_ || !is_enabled_ || is_stopped_) co_return;
    is_active_ = true;
    co_await activate(catch_up);
}

void Scheduler::enqueue(std::function<asio::awaitable<void>()> job) {
    if (is_stopped_) return;
    jobs_.push_back(std::move(job));
    if (is_running_jobs_) return;
    is_running_jobs_ = true;
    tasks_.spawn(run_jobs(shared_from_this()));
}

// `self` keeps the scheduler alive while its jobs run (a reconfig may drop it meanwhile).
asio::awaitable<void> Scheduler::run_jobs(std::shared_ptr<Scheduler> self) {
    while (!self->jobs_.empty()) {
        auto job = std::move(jobs_.front());
        jobs_.pop_front();
        try {
            co_await job();
        } catch (const std::exception& failure) {
            // One failed job (a database error) does not stop the scheduler.
            spdlog::error("scheduler {}: {}", name(), failure.what());
        }
    }
    is_running_jobs_ = false;
}

asio::awaitable<data::Id> Scheduler::object_id() {
    if (!objectid_) {
        auto id =
            co_await environment_.state.object_id(name(), std::string(class_name(config_.type)));
        objectid_ = id;
    }
    co_return *objectid_;
}

asio::awaitable<std::optional<boost::json::value>> Scheduler::get_state(std::string state_name) {
    const auto objectid = co_await object_id();
    co_return co_await environment_.state.get(objectid, std::move(state_name));
}

data::SchedulerRecord Scheduler::new_record() const {
    data::SchedulerRecord record;
    record.schedulerid = schedulerid_;
    record.objectid = objectid_.value_or(0);
    return record;
}

asio::awaitable<void> Scheduler::got_change(boost::json::object, bool, data::SchedulerRecord&) {
    co_return;
}

// ---- changes -----------------------------------------------------------------------------

asio::awaitable<void> Scheduler::start_consuming_changes(bool catch_up) {
    co_await object_id();
    // Subscribed first: changes announced while this job runs queue up behind it.
    change_subscription_ = environment_.bus.subscribe(
        bus::parse_key("changes/*/new"), [this](const bus::Message& message) {
            const auto* changeid = message.payload->if_contains("changeid");
            if (!changeid || !changeid->is_int64()) return;
            const auto id = changeid->get_int64();
            enqueue([this, id] { return process_change(id); });
        });
    auto stored = co_await get_state("last_changeid");
    if (catch_up && stored && stored->is_int64()) {
        last_changeid_ = std::max(last_changeid_, stored->get_int64());
        for (;;) {
            auto ids =
                co_await environment_.schedulers.changes_after(last_changeid_, kCatchUpBatch);
            if (ids.empty()) break;
            spdlog::info("scheduler {}: catching up with {} change(s)", name(), ids.size());
            for (auto id : ids)
                co_await process_change(id);
            if (!is_active_) co_return;
        }
        co_return;
    }
    // New, or enabled again: changes from before do not concern it (Buildbot).
    last_changeid_ = co_await environment_.schedulers.last_changeid();
    auto record = new_record();
    record.state.emplace_back("last_changeid", last_changeid_);
    co_await environment_.schedulers.record(std::move(record));
}

asio::awaitable<void> Scheduler::process_change(data::Id changeid) {
    // Already handled (while catching up); changes are announced in id order.
    if (!is_active_ || changeid <= last_changeid_) co_return;
    last_changeid_ = changeid;
    auto change = co_await environment_.schedulers.change(changeid);
    if (!change) co_return;
    auto classification = classify(config_, *change);
    if (!classification) {
        spdlog::warn("scheduler {}: change {} ignored: {}", name(), changeid,
                     classification.error().message);
        co_return;
    }
    if (*classification == Classification::ignored) co_return;
    auto record = new_record();
    const bool important = *classification == Classification::important;
    co_await got_change(std::move(*change), important, record);
    record.state.emplace_back("last_changeid", changeid);
    co_await environment_.schedulers.record(std::move(record));
}

// ---- buildsets ---------------------------------------------------------------------------

const std::vector<config::CodebaseConfig>& Scheduler::codebases() const {
    static const std::vector<config::CodebaseConfig> kDefault{config::CodebaseConfig{}};
    return config_.codebases.empty() ? kDefault : config_.codebases;
}

data::SourceStampSpec Scheduler::default_stamp(const config::CodebaseConfig& codebase) const {
    data::SourceStampSpec stamp;
    stamp.codebase = codebase.name;
    stamp.repository = codebase.repository;
    // Kiln: a timed scheduler's branch names the branch it builds when the codebase does not.
    stamp.branch = codebase.branch ? codebase.branch : config_.branch;
    stamp.revision = codebase.revision;
    return stamp;
}

asio::awaitable<std::optional<data::AddedBuildset>>
Scheduler::add_buildset_for_changes(std::vector<data::Id> changeids) {
    std::map<std::string, boost::json::object> latest;  // codebase -> its newest change
    for (auto changeid : changeids) {
        auto change = co_await environment_.schedulers.change(changeid);
        if (!change) continue;
        auto& slot = latest[text(*change, "codebase")];
        if (slot.empty() || slot.at("changeid").as_int64() < changeid) slot = std::move(*change);
    }
    BuildsetRequest request;
    request.reason = config_.reason_string;
    for (const auto& codebase : codebases()) {
        auto found = latest.find(codebase.name);
        if (found == latest.end()) {
            request.sourcestamps.push_back(default_stamp(codebase));
            continue;
        }
        const auto& stamp = found->second.at("sourcestamp").as_object();
        data::SourceStampSpec spec;
        spec.branch = optional_text(stamp.if_contains("branch"));
        spec.revision = optional_text(stamp.if_contains("revision"));
        spec.repository = text(stamp, "repository");
        spec.project = text(stamp, "project");
        spec.codebase = text(stamp, "codebase");
        request.sourcestamps.push_back(std::move(spec));
        // The changes' properties come over the scheduler's (Buildbot).
        if (const auto* properties = found->second.if_contains("properties"))
            for (const auto& [property, pair] : properties->as_object())
                if (const auto* values = pair.if_array(); values && values->size() == 2)
                    request.properties.set(property, (*values)[0],
                                           optional_text(&(*values)[1]).value_or("Change"));
    }
    co_return co_await add_buildset(std::move(request));
}

asio::awaitable<std::optional<data::AddedBuildset>>
Scheduler::add_buildset(BuildsetRequest request) {
    data::NewBuildset buildset;
    buildset.reason = std::move(request.reason);
    // The codebases' defaults, overlaid by the stamps given; then stamps of other codebases.
    std::vector<data::SourceStampSpec> given = std::move(request.sourcestamps);
    for (const auto& codebase : codebases()) {
        auto found = std::find_if(given.begin(), given.end(), [&](const auto& stamp) {
            return stamp.codebase == codebase.name;
        });
        if (found == given.end()) {
            buildset.sourcestamps.push_back(default_stamp(codebase));
        } else {
            buildset.sourcestamps.push_back(std::move(*found));
            given.erase(found);
        }
    }
    for (auto& stamp : given)
        buildset.sourcestamps.push_back(std::move(stamp));

    core::Properties properties = config_.properties;
    properties.set("scheduler", boost::json::string(name()), "Scheduler");
    properties.update(request.properties);
    for (const auto& [property, renderable] : config_.renderable_properties) {
        auto value = renderable.render(properties);
        if (!value) {
            spdlog::warn("scheduler {}: property {}: {}", name(), property, value.error().message);
            continue;
        }
        properties.set(property, std::move(*value), "Scheduler");
    }
    buildset.properties = std::move(properties);
    for (const auto& builder : config_.builders) {
        if (auto builderid = environment_.builder_id(builder))
            buildset.builderids.push_back(*builderid);
        else
            spdlog::warn("scheduler {}: no builder named '{}' on this master", name(), builder);
    }
    if (buildset.builderids.empty()) co_return std::nullopt;
    buildset.scheduler = name();
    buildset.parent_buildid = request.parent_buildid;
    buildset.parent_relationship = std::move(request.parent_relationship);
    buildset.waited_for = request.waited_for;
    buildset.priority = config_.priority;
    auto added = co_await environment_.buildsets.add(std::move(buildset));
    spdlog::info("scheduler {}: buildset {} ({} build request(s))", name(), added.bsid,
                 added.request_by_builder.size());
    co_return added;
}

}  // namespace kiln::schedulers
