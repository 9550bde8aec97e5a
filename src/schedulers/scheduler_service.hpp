// SPDX-License-Identifier: Apache-2.0
// SchedulerService: the master's schedulers. configure() registers every configured
// scheduler (Buildbot's schedulers / scheduler_masters rows, force schedulers included),
// starts those this master may run, and on reconfig stops removed and changed ones, starts
// new and changed ones and leaves unchanged ones (and their state) alone. It follows
// schedulers/N/updated to enable and disable them, retries claims other masters held, and
// hands Trigger steps to triggerable schedulers. Runs on the domain executor.
#pragma once

#include "config/master_config.hpp"
#include "schedulers/scheduler.hpp"
#include "schedulers/triggerable_scheduler.hpp"

#include <map>
#include <memory>
#include <string>

namespace kiln::schedulers {

class SchedulerService {
public:
    explicit SchedulerService(SchedulerEnvironment environment);
    ~SchedulerService();
    SchedulerService(const SchedulerService&) = delete;
    SchedulerService& operator=(const SchedulerService&) = delete;

    // Applies the config's schedulers (at start and on each reconfig).
    boost::asio::awaitable<void> configure(const config::MasterConfig& config);
    // Stops every scheduler and waits for their running jobs.
    boost::asio::awaitable<void> stop();

    // Asks the triggerable scheduler `name` for a buildset.
    boost::asio::awaitable<core::Expected<data::AddedBuildset>> trigger(std::string name,
                                                                        TriggerRequest request);

    // The scheduler's id (registered schedulers only).
    std::optional<data::Id> scheduler_id(std::string_view name) const;
    // Whether the scheduler is enabled (false for an unknown name).
    bool is_enabled(std::string_view name) const;
    // The running scheduler (tests).
    std::shared_ptr<Scheduler> find(std::string_view name) const;

private:
    void on_updated(const bus::Message& message);
    void schedule_claim_retry();
    boost::asio::awaitable<void> retry_claims();

    SchedulerEnvironment environment_;
    // By name: every configured scheduler, running here or not (held by another master).
    std::map<std::string, std::shared_ptr<Scheduler>, std::less<>> schedulers_;
    std::map<std::string, bool, std::less<>> is_running_here_;
    bus::Subscription updates_;
    std::unique_ptr<Clock::Timer> claim_retry_;
    io::TaskGroup tasks_;
    bool is_stopped_ = false;
};

}  // namespace kiln::schedulers
