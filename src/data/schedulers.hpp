// SPDX-License-Identifier: Apache-2.0
// Schedulers: Buildbot's schedulers and scheduler_masters rows (every configured scheduler
// has an id, an `enabled` flag, and at most one master running it), the changes a scheduler
// has classified and not yet built (scheduler_changes), a scheduler's bookkeeping written in
// one transaction, and the change reads schedulers need.
#pragma once

#include "data/context.hpp"

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

namespace kiln::data {

struct Scheduler {
    Id schedulerid = 0;
    std::string name;
    bool enabled = true;
    std::optional<Master> master;  // the master running it, if any
    boost::json::object to_json() const;
};

// The changes of one branch of one codebase (an any-branch scheduler's tree-stable timer).
struct ChangeScope {
    std::string codebase;
    std::string project;
    std::string repository;
    std::optional<std::string> branch;
};

// A scheduler's bookkeeping, stored in one transaction by Schedulers::record().
struct SchedulerRecord {
    Id schedulerid = 0;
    Id objectid = 0;  // its object_state object
    // A change it classified: (changeid, important).
    std::optional<std::pair<Id, bool>> classify;
    // Classified changes it has built (or dropped).
    std::vector<Id> forget;
    // object_state values to set.
    std::vector<std::pair<std::string, boost::json::value>> state;
};

class Schedulers {
public:
    explicit Schedulers(Context& context)
        : context_(context) {}

    // Finds or creates a row per name (new ones enabled), claims each for the master unless
    // an active master holds it, and drops the master's claims on schedulers not named. The
    // rows come back in the order of names, `master` telling who runs each.
    boost::asio::awaitable<std::vector<Scheduler>> configure(Id masterid,
                                                             std::vector<std::string> names);
    // Claims again the schedulers another master held (it may have stopped since). Returns
    // the rows.
    boost::asio::awaitable<std::vector<Scheduler>> claim(Id masterid, std::vector<Id> ids);

    boost::asio::awaitable<std::vector<Scheduler>> list();
    boost::asio::awaitable<std::optional<Scheduler>> get(Id schedulerid);
    // Sets `enabled`, then announces schedulers/N/updated (the entity). nullopt: unknown id.
    boost::asio::awaitable<std::optional<Scheduler>> set_enabled(Id schedulerid, bool enabled);

    // The changes the scheduler classified (changeid -> important), of one scope or all.
    boost::asio::awaitable<std::map<Id, bool>>
    classifications(Id schedulerid, std::optional<ChangeScope> scope = std::nullopt);
    boost::asio::awaitable<void> record(SchedulerRecord record);

    // A change as the REST API shows it (rest-api.md §5.6, with its sourcestamp), or nullopt.
    boost::asio::awaitable<std::optional<boost::json::object>> change(Id changeid);
    // Ids of the changes after `changeid`, oldest first, at most `limit`.
    boost::asio::awaitable<std::vector<Id>> changes_after(Id changeid, int limit);
    // The newest change's id (0: none).
    boost::asio::awaitable<Id> last_changeid();

private:
    Context& context_;
};

}  // namespace kiln::data
