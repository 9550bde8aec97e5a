// SPDX-License-Identifier: Apache-2.0
// Scheduler: what every scheduler kind shares. Its work runs as jobs, one at a time and in
// order, on the domain executor (a change, a timer firing, enabling it); it is active
// (listening, timers set) while it is started and enabled; it makes buildsets through
// data::Buildsets with its properties, codebases and builders; and it may consume changes
// (changes/*/new, filtered and classified, catching up from the last change it saw).
#pragma once

#include "bus/bus.hpp"
#include "config/scheduler_config.hpp"
#include "data/buildsets.hpp"
#include "data/object_state.hpp"
#include "data/schedulers.hpp"
#include "io/task_group.hpp"
#include "schedulers/clock.hpp"

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

namespace kiln::schedulers {

// What schedulers use, shared by all of them (owned by the master).
struct SchedulerEnvironment {
    boost::asio::any_io_executor executor;  // the domain executor
    bus::Bus& bus;
    data::Schedulers& schedulers;
    data::Buildsets& buildsets;
    data::ObjectState& state;
    Clock& clock;
    data::Id masterid = 0;
    // A configured builder's id; nullopt for a name this master does not build.
    std::function<std::optional<data::Id>(std::string_view name)> builder_id;
};

// A buildset a scheduler asks for, before its own properties, codebases and builders apply.
struct BuildsetRequest {
    std::string reason;
    std::vector<data::SourceStampSpec> sourcestamps;
    core::Properties properties;  // on top of the scheduler's (change or trigger properties)
    std::optional<data::Id> parent_buildid;
    std::optional<std::string> parent_relationship;
    bool waited_for = false;
};

class Scheduler : public std::enable_shared_from_this<Scheduler> {
public:
    Scheduler(SchedulerEnvironment& environment, config::SchedulerConfig config,
              data::Id schedulerid);
    virtual ~Scheduler();
    Scheduler(const Scheduler&) = delete;
    Scheduler& operator=(const Scheduler&) = delete;

    const config::SchedulerConfig& config() const { return config_; }
    const std::string& name() const { return config_.name; }
    data::Id id() const { return schedulerid_; }
    bool is_enabled() const { return is_enabled_; }

    // Starts the scheduler; it becomes active when enabled.
    void start(bool enabled);
    // The user enabled or disabled it (schedulers/N/updated).
    void set_enabled(bool enabled);
    // No job starts from now on; timers and subscriptions end. wait_stopped() returns once
    // the running job (if any) has ended.
    void stop();
    boost::asio::awaitable<void> wait_stopped();

    // Buildbot's class name (object_state's class_name, reasons).
    static std::string_view class_name(std::string_view type);

protected:
    // Becomes active: subscriptions, timers. Runs as a job. catch_up: at start (not when the
    // user enables it): process the changes that came while it was not running.
    virtual boost::asio::awaitable<void> activate(bool catch_up) = 0;
    // No longer active (disabled or stopping): cancel timers and subscriptions. The base
    // class ends the change subscription itself.
    virtual void deactivate() {}
    // A change that passed the filters and codebases (change consumers only). Fill `record`
    // (classification, state); the base stores it with the last change seen.
    virtual boost::asio::awaitable<void> got_change(boost::json::object change, bool important,
                                                    data::SchedulerRecord& record);

    bool is_active() const { return is_active_; }
    // Runs `job` after the jobs queued before it.
    void enqueue(std::function<boost::asio::awaitable<void>()> job);

    // This scheduler's object_state object.
    boost::asio::awaitable<data::Id> object_id();
    boost::asio::awaitable<std::optional<boost::json::value>> get_state(std::string name);
    data::SchedulerRecord new_record() const;

    // Listens to changes/*/new and hands the changes it takes to got_change, in order. With
    // catch_up, first the changes after the last one it saw (if it ever saw one).
    boost::asio::awaitable<void> start_consuming_changes(bool catch_up);

    // A buildset for the scheduler's builders: its sourcestamps per codebase are those of the
    // latest change of each codebase (codebases without a change get their configured
    // defaults); properties: the scheduler's, then the changes'.
    boost::asio::awaitable<std::optional<data::AddedBuildset>>
    add_buildset_for_changes(std::vector<data::Id> changeids);
    // A buildset with the given sourcestamps merged over the codebases' defaults (Buildbot's
    // addBuildsetForSourceStampsWithDefaults). nullopt: no builder of the scheduler is
    // configured here.
    boost::asio::awaitable<std::optional<data::AddedBuildset>>
    add_buildset(BuildsetRequest request);
    // The sourcestamp of a codebase that no change names.
    data::SourceStampSpec default_stamp(const config::CodebaseConfig& codebase) const;
    const std::vector<config::CodebaseConfig>& codebases() const;

    SchedulerEnvironment& environment_;
    config::SchedulerConfig config_;
    data::Id schedulerid_;

private:
    boost::asio::awaitable<void> run_jobs(std::shared_ptr<Scheduler> self);
    boost::asio::awaitable<void> activation(bool catch_up);
    boost::asio::awaitable<void> process_change(data::Id changeid);
    void end_activity();

    bool is_enabled_ = true;
    bool is_started_ = false;
    bool is_stopped_ = false;
    bool is_active_ = false;
    std::optional<data::Id> objectid_;
    std::deque<std::function<boost::asio::awaitable<void>()>> jobs_;
    bool is_running_jobs_ = false;
    io::TaskGroup tasks_;
    // Change consumption.
    bus::Subscription change_subscription_;
    data::Id last_changeid_ = 0;  // the newest change handled
};

// The schedulers of each kind.
std::shared_ptr<Scheduler> make_scheduler(SchedulerEnvironment& environment,
                                          config::SchedulerConfig config, data::Id schedulerid);

}  // namespace kiln::schedulers
