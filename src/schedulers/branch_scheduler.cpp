// SPDX-License-Identifier: Apache-2.0
#include "schedulers/branch_scheduler.hpp"

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <spdlog/spdlog.h>

namespace kiln::schedulers {

namespace asio = boost::asio;

namespace {

boost::json::value field(const boost::json::object& change, std::string_view key) {
    const auto* value = change.if_contains(key);
    return value ? *value : boost::json::value(nullptr);
}

std::string text(const boost::json::value& value) {
    return value.is_string() ? std::string(value.get_string()) : std::string();
}

}  // namespace

std::string BranchScheduler::timer_key(const boost::json::object& change) const {
    if (config_.type == "single_branch") return "";
    boost::json::array scope{field(change, "codebase"), field(change, "project"),
                             field(change, "repository"), field(change, "branch")};
    return boost::json::serialize(scope);
}

std::optional<data::ChangeScope> BranchScheduler::scope_of(const std::string& key) const {
    if (key.empty()) return std::nullopt;
    boost::system::error_code error;
    auto parsed = boost::json::parse(key, error);
    const auto* scope = parsed.if_array();
    if (error || !scope || scope->size() != 4) return std::nullopt;
    data::ChangeScope result;
    result.codebase = text((*scope)[0]);
    result.project = text((*scope)[1]);
    result.repository = text((*scope)[2]);
    if ((*scope)[3].is_string()) result.branch = text((*scope)[3]);
    return result;
}

boost::json::object BranchScheduler::deadlines_json() const {
    boost::json::object timers;
    for (const auto& [key, deadline] : deadlines_)
        timers[key] = deadline;
    return timers;
}

void BranchScheduler::set_timer(const std::string& key, double deadline) {
    deadlines_[key] = deadline;
    timers_[key] = environment_.clock.call_at(
        deadline, [this, key] { enqueue([this, key] { return timer_fired(key); }); });
}

asio::awaitable<void> BranchScheduler::activate(bool catch_up) {
    const auto objectid = co_await object_id();
    if (!config_.tree_stable_timer) {
        // Without a timer classified changes have no use: drop any an earlier config left.
        auto left = co_await environment_.schedulers.classifications(schedulerid_);
        if (!left.empty()) {
            auto record = new_record();
            for (const auto& [changeid, important] : left)
                record.forget.push_back(changeid);
            record.state.emplace_back("stable_timers", boost::json::object{});
            co_await environment_.schedulers.record(std::move(record));
        }
    } else {
        // Resume the timers of the classified changes: at their stored deadlines, or a full
        // period from now for changes classified without one (Buildbot's restart).
        std::map<std::string, double> stored;
        auto state = co_await environment_.state.get(objectid, "stable_timers");
        if (state && state->is_object())
            for (const auto& [key, deadline] : state->get_object())
                if (deadline.is_number()) stored[std::string(key)] = deadline.to_number<double>();
        auto classified = co_await environment_.schedulers.classifications(schedulerid_);
        std::map<std::string, bool> has_important;
        for (const auto& [changeid, important] : classified) {
            auto change = co_await environment_.schedulers.change(changeid);
            if (!change) continue;
            has_important[timer_key(*change)] |= important;
        }
        const double now = environment_.clock.now();
        for (const auto& [key, important] : has_important) {
            auto found = stored.find(key);
            if (found != stored.end())
                set_timer(key, found->second);
            else if (important)
                set_timer(key, now + static_cast<double>(*config_.tree_stable_timer));
        }
        if (!deadlines_.empty())
            spdlog::info("scheduler {}: {} tree-stable timer(s) resumed", name(),
                         deadlines_.size());
    }
    co_await start_consuming_changes(catch_up);
}

void BranchScheduler::deactivate() {
    timers_.clear();
    deadlines_.clear();
}

asio::awaitable<void> BranchScheduler::got_change(boost::json::object change, bool important,
                                                  data::SchedulerRecord& record) {
    const auto changeid = change.at("changeid").as_int64();
    if (!config_.tree_stable_timer) {
        // No timer: unimportant changes are ignored, each important one is built now.
        if (!important) co_return;
        std::vector<data::Id> changeids{changeid};
        co_await add_buildset_for_changes(std::move(changeids));
        co_return;
    }
    const auto key = timer_key(change);
    if (important || timers_.contains(key))
        set_timer(key, environment_.clock.now() + static_cast<double>(*config_.tree_stable_timer));
    record.classify = std::pair{changeid, important};
    record.state.emplace_back("stable_timers", deadlines_json());
}

asio::awaitable<void> BranchScheduler::timer_fired(std::string key) {
    auto deadline = deadlines_.find(key);
    // Restarted by a change since (its own timer fires later), or deactivated.
    if (!is_active() || deadline == deadlines_.end() || deadline->second > environment_.clock.now())
        co_return;
    deadlines_.erase(deadline);
    timers_.erase(key);
    auto classified = co_await environment_.schedulers.classifications(schedulerid_, scope_of(key));
    std::vector<data::Id> changeids;
    for (const auto& [changeid, important] : classified)
        changeids.push_back(changeid);
    if (!changeids.empty()) {
        auto ids = changeids;
        co_await add_buildset_for_changes(std::move(ids));
    }
    auto record = new_record();
    record.forget = std::move(changeids);
    record.state.emplace_back("stable_timers", deadlines_json());
    co_await environment_.schedulers.record(std::move(record));
}

}  // namespace kiln::schedulers
