// SPDX-License-Identifier: Apache-2.0
// BranchScheduler: k.single_branch and k.any_branch (Buildbot's SingleBranchScheduler and
// AnyBranchScheduler). Without tree_stable_timer, each important change makes a buildset at
// once. With it, changes are classified (scheduler_changes) and each important change
// (re)starts the timer of its branch (one timer for single_branch; one per codebase,
// project, repository and branch for any_branch; an unimportant change restarts a running
// one); when a timer fires, one buildset covers the classified changes of its branch. Timer
// deadlines are kept in object_state ("stable_timers"), so after a restart they resume (and
// fire at once when already past).
#pragma once

#include "schedulers/scheduler.hpp"

#include <map>

namespace kiln::schedulers {

class BranchScheduler final : public Scheduler {
public:
    using Scheduler::Scheduler;

private:
    boost::asio::awaitable<void> activate(bool catch_up) override;
    void deactivate() override;
    boost::asio::awaitable<void> got_change(boost::json::object change, bool important,
                                            data::SchedulerRecord& record) override;

    // The timer a change belongs to: "" for single_branch, else its scope as JSON text.
    std::string timer_key(const boost::json::object& change) const;
    std::optional<data::ChangeScope> scope_of(const std::string& key) const;
    void set_timer(const std::string& key, double deadline);
    boost::asio::awaitable<void> timer_fired(std::string key);
    boost::json::object deadlines_json() const;

    std::map<std::string, double> deadlines_;
    std::map<std::string, std::unique_ptr<Clock::Timer>> timers_;
};

}  // namespace kiln::schedulers
