// SPDX-License-Identifier: Apache-2.0
#include "schedulers/triggerable_scheduler.hpp"

#include "core/results.hpp"
#include "schedulers/branch_scheduler.hpp"
#include "schedulers/timed_scheduler.hpp"

#include <algorithm>

#include <boost/json/array.hpp>

#include <spdlog/spdlog.h>

namespace kiln::schedulers {

namespace asio = boost::asio;

asio::awaitable<void> TriggerableScheduler::activate(bool) { co_await object_id(); }

asio::awaitable<core::Expected<data::AddedBuildset>>
TriggerableScheduler::trigger(TriggerRequest trigger) {
    if (!is_enabled())
        co_return core::fail(core::ErrorKind::conflict, "scheduler '" + name() + "' is disabled");
    if (!is_active())
        co_return core::fail(core::ErrorKind::unavailable,
                             "scheduler '" + name() + "' does not run on this master");
    BuildsetRequest request;
    // Buildbot: a 'reason' property among the trigger's properties is the buildset's reason.
    const auto* reason = trigger.properties.find("reason");
    request.reason = reason && reason->value.is_string() ? std::string(reason->value.get_string())
                                                         : config_.reason_string;
    request.sourcestamps = std::move(trigger.sourcestamps);
    request.properties = std::move(trigger.properties);
    request.parent_buildid = trigger.parent_buildid;
    request.parent_relationship = std::move(trigger.parent_relationship);
    request.waited_for = trigger.waited_for;
    auto added = co_await add_buildset(std::move(request));
    if (!added)
        co_return core::fail(core::ErrorKind::not_found,
                             "scheduler '" + name() + "': none of its builders runs here");
    co_return std::move(*added);
}

asio::awaitable<void> DependentScheduler::activate(bool) {
    auto stored = co_await get_state("upstream_bsids");
    upstream_bsids_.clear();
    if (stored && stored->is_array())
        for (const auto& bsid : stored->get_array())
            if (bsid.is_int64()) upstream_bsids_.push_back(bsid.get_int64());
    new_subscription_ = environment_.bus.subscribe(
        bus::parse_key("buildsets/*/new"), [this](const bus::Message& message) {
            const auto* scheduler = message.payload->if_contains("scheduler");
            const auto* bsid = message.payload->if_contains("bsid");
            if (!scheduler || !bsid || !bsid->is_int64() || !scheduler->is_string() ||
                scheduler->get_string() != config_.upstream)
                return;
            const auto id = bsid->get_int64();
            enqueue([this, id] { return add_upstream(id); });
        });
    complete_subscription_ = environment_.bus.subscribe(
        bus::parse_key("buildsets/*/complete"), [this](const bus::Message& message) {
            const auto* bsid = message.payload->if_contains("bsid");
            if (!bsid || !bsid->is_int64()) return;
            if (std::find(upstream_bsids_.begin(), upstream_bsids_.end(), bsid->get_int64()) ==
                upstream_bsids_.end())
                return;
            enqueue([this] { return check_completed(); });
        });
    // Upstream buildsets that completed while this scheduler was not running.
    co_await check_completed();
}

void DependentScheduler::deactivate() {
    new_subscription_.reset();
    complete_subscription_.reset();
}

asio::awaitable<void> DependentScheduler::save() {
    boost::json::array bsids(upstream_bsids_.begin(), upstream_bsids_.end());
    auto record = new_record();
    record.objectid = co_await object_id();
    record.state.emplace_back("upstream_bsids", std::move(bsids));
    co_await environment_.schedulers.record(std::move(record));
}

asio::awaitable<void> DependentScheduler::add_upstream(data::Id bsid) {
    if (!is_active()) co_return;
    if (std::find(upstream_bsids_.begin(), upstream_bsids_.end(), bsid) != upstream_bsids_.end())
        co_return;
    upstream_bsids_.push_back(bsid);
    co_await save();
    // A buildset without builders completes before anyone could follow it.
    co_await check_completed();
}

asio::awaitable<void> DependentScheduler::check_completed() {
    if (!is_active()) co_return;
    std::vector<data::Id> done;
    for (auto bsid : upstream_bsids_) {
        auto buildset = co_await environment_.buildsets.get(bsid);
        if (buildset && !buildset->complete) continue;
        done.push_back(bsid);
        if (!buildset) continue;
        const auto results = static_cast<core::Results>(buildset->results);
        if (results != core::Results::success && results != core::Results::warnings) continue;
        BuildsetRequest request;
        request.reason = config_.reason_string;
        for (const auto& stamp : buildset->sourcestamps)
            request.sourcestamps.push_back(
                {stamp.branch, stamp.revision, stamp.repository, stamp.project, stamp.codebase});
        co_await add_buildset(std::move(request));
    }
    if (done.empty()) co_return;
    std::erase_if(upstream_bsids_, [&](data::Id bsid) {
        return std::find(done.begin(), done.end(), bsid) != done.end();
    });
    co_await save();
}

std::shared_ptr<Scheduler> make_scheduler(SchedulerEnvironment& environment,
                                          config::SchedulerConfig config, data::Id schedulerid) {
    const auto type = config.type;
    if (type == "single_branch" || type == "any_branch")
        return std::make_shared<BranchScheduler>(environment, std::move(config), schedulerid);
    if (type == "periodic" || type == "nightly")
        return std::make_shared<TimedScheduler>(environment, std::move(config), schedulerid);
    if (type == "triggerable")
        return std::make_shared<TriggerableScheduler>(environment, std::move(config), schedulerid);
    if (type == "dependent")
        return std::make_shared<DependentScheduler>(environment, std::move(config), schedulerid);
    return std::make_shared<ForceScheduler>(environment, std::move(config), schedulerid);
}

}  // namespace kiln::schedulers
