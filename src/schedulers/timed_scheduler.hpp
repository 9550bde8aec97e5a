// SPDX-License-Identifier: Apache-2.0
// TimedScheduler: k.periodic and k.nightly (Buildbot's Periodic and Nightly). The time of
// the last run is kept in object_state ("last_build"); the next run is `period` after it
// (periodic; at once when it never ran) or the schedule's next minute after it (nightly),
// and a run missed while the master was down happens at once. With only_if_changed the
// scheduler records the changes of its branch and skips a run when none is important (but
// not its first run, as Buildbot); a run builds the recorded changes, or the codebases'
// defaults when there are none.
#pragma once

#include "schedulers/cron.hpp"
#include "schedulers/scheduler.hpp"

namespace kiln::schedulers {

class TimedScheduler final : public Scheduler {
public:
    using Scheduler::Scheduler;

    // When the next run is due after a run at `last` (nullopt: never ran), before the
    // "not in the past" rule; nullopt: never.
    std::optional<double> next_build_time(std::optional<double> last) const;

private:
    boost::asio::awaitable<void> activate(bool catch_up) override;
    void deactivate() override;
    boost::asio::awaitable<void> got_change(boost::json::object change, bool important,
                                            data::SchedulerRecord& record) override;

    void schedule_next();
    boost::asio::awaitable<void> actuate(double due);
    boost::asio::awaitable<void> start_build();

    std::optional<double> last_build_;
    std::unique_ptr<Clock::Timer> timer_;
};

}  // namespace kiln::schedulers
