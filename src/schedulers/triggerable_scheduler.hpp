// SPDX-License-Identifier: Apache-2.0
// TriggerableScheduler (k.triggerable): makes a buildset when a Trigger step asks, with the
// sourcestamps and properties the step gives, the triggering build as parent.
// DependentScheduler (k.dependent): follows the buildsets of its upstream scheduler; when one
// completes with SUCCESS or WARNINGS it makes a buildset with the same sourcestamps. The
// upstream buildsets it waits for are kept in object_state ("upstream_bsids", as Buildbot).
#pragma once

#include "core/expected.hpp"
#include "schedulers/scheduler.hpp"

namespace kiln::schedulers {

// What a Trigger step asks of a triggerable scheduler.
struct TriggerRequest {
    bool waited_for = false;
    // The build's sourcestamps (empty: the latest of each codebase).
    std::vector<data::SourceStampSpec> sourcestamps;
    core::Properties properties;  // set_properties and copy_properties, source "Trigger"
    std::optional<data::Id> parent_buildid;
    std::string parent_relationship = "Triggered from";
};

class TriggerableScheduler final : public Scheduler {
public:
    using Scheduler::Scheduler;

    // The buildset, or an error when the scheduler is disabled or stopped, or none of its
    // builders is configured.
    boost::asio::awaitable<core::Expected<data::AddedBuildset>> trigger(TriggerRequest request);

private:
    boost::asio::awaitable<void> activate(bool catch_up) override;
};

class DependentScheduler final : public Scheduler {
public:
    using Scheduler::Scheduler;

private:
    boost::asio::awaitable<void> activate(bool catch_up) override;
    void deactivate() override;
    boost::asio::awaitable<void> add_upstream(data::Id bsid);
    boost::asio::awaitable<void> check_completed();
    boost::asio::awaitable<void> save();

    std::vector<data::Id> upstream_bsids_;
    bus::Subscription new_subscription_;
    bus::Subscription complete_subscription_;
};

// k.force: only registered (its builds come through the force form).
class ForceScheduler final : public Scheduler {
public:
    using Scheduler::Scheduler;

private:
    boost::asio::awaitable<void> activate(bool) override { co_return; }
};

}  // namespace kiln::schedulers
