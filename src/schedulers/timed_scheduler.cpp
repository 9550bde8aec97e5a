// SPDX-License-Identifier: Apache-2.0
#include "schedulers/timed_scheduler.hpp"

#include <spdlog/spdlog.h>

namespace kiln::schedulers {

namespace asio = boost::asio;

std::optional<double> TimedScheduler::next_build_time(std::optional<double> last) const {
    if (config_.type == "periodic") {
        if (!last) return environment_.clock.now();  // never ran: as soon as possible
        return *last + static_cast<double>(config_.period);
    }
    return next_fire_time(cron_schedule(config_), last.value_or(environment_.clock.now()));
}

asio::awaitable<void> TimedScheduler::activate(bool catch_up) {
    auto last = co_await get_state("last_build");
    if (last && last->is_number()) last_build_ = last->to_number<double>();
    if (config_.listens_to_changes()) {
        co_await start_consuming_changes(catch_up);
    } else {
        auto left = co_await environment_.schedulers.classifications(schedulerid_);
        if (!left.empty()) {
            auto record = new_record();
            for (const auto& [changeid, important] : left)
                record.forget.push_back(changeid);
            co_await environment_.schedulers.record(std::move(record));
        }
    }
    schedule_next();
}

void TimedScheduler::deactivate() { timer_.reset(); }

void TimedScheduler::schedule_next() {
    timer_.reset();
    if (!is_active()) return;
    auto due = next_build_time(last_build_);
    if (!due) {
        spdlog::warn("scheduler {}: its schedule never fires", name());
        return;
    }
    const double now = environment_.clock.now();
    if (*due < now) {
        if (last_build_)
            spdlog::info("scheduler {}: missed scheduled build time - building immediately",
                         name());
        due = now;
    }
    const double when = *due;
    timer_ = environment_.clock.call_at(
        when, [this, when] { enqueue([this, when] { return actuate(when); }); });
}

asio::awaitable<void> TimedScheduler::actuate(double due) {
    if (!is_active()) co_return;
    timer_.reset();
    last_build_ = due;
    auto record = new_record();
    record.objectid = co_await object_id();
    record.state.emplace_back("last_build", due);
    co_await environment_.schedulers.record(std::move(record));
    std::exception_ptr failure;
    try {
        co_await start_build();
    } catch (const std::exception&) {
        failure = std::current_exception();
    }
    schedule_next();
    if (failure) std::rethrow_exception(failure);
}

asio::awaitable<void> TimedScheduler::start_build() {
    if (!is_enabled()) co_return;
    auto classified = co_await environment_.schedulers.classifications(schedulerid_);
    // Buildbot: only_if_changed skips a run without an important change, except the first run
    // after only_if_changed was turned on.
    auto state = co_await get_state("last_only_if_changed");
    const bool last_only_if_changed = state && state->is_bool() && state->get_bool();
    bool any_important = false;
    for (const auto& [changeid, important] : classified)
        any_important = any_important || important;
    if (last_only_if_changed && config_.only_if_changed && !any_important) {
        spdlog::info("scheduler {}: skipping build - no important changes", name());
        co_return;
    }
    if (last_only_if_changed != config_.only_if_changed) {
        auto record = new_record();
        record.state.emplace_back("last_only_if_changed", config_.only_if_changed);
        co_await environment_.schedulers.record(std::move(record));
    }
    std::vector<data::Id> changeids;
    for (const auto& [changeid, important] : classified)
        changeids.push_back(changeid);
    if (changeids.empty()) {
        BuildsetRequest request;
        request.reason = config_.reason_string;
        co_await add_buildset(std::move(request));
        co_return;
    }
    auto ids = changeids;
    co_await add_buildset_for_changes(std::move(ids));
    auto record = new_record();
    record.forget = std::move(changeids);
    co_await environment_.schedulers.record(std::move(record));
}

asio::awaitable<void> TimedScheduler::got_change(boost::json::object change, bool important,
                                                 data::SchedulerRecord& record) {
    record.classify = std::pair{change.at("changeid").as_int64(), important};
    co_return;
}

}  // namespace kiln::schedulers
