// SPDX-License-Identifier: Apache-2.0
#include "data/masters.hpp"

#include "core/results.hpp"
#include "data/detail/sql.hpp"
#include "data/events.hpp"

namespace kiln::data {

using detail::params;
namespace asio = boost::asio;

namespace {

Master read_master(db::Connection& c, Id masterid) {
    auto row = c.query_one("SELECT id, name, active, last_active FROM masters WHERE id = ?",
                           params(masterid));
    if (!row) throw db::DatabaseError("no master " + std::to_string(masterid));
    return Master{row->integer(0), row->text(1), row->integer(2) != 0, row->integer(3)};
}

struct Orphans {
    std::vector<Build> builds;
    std::vector<Step> steps;
    std::vector<Log> logs;
    std::vector<BuildRequest> unclaimed;
};

}  // namespace

asio::awaitable<Id> Masters::find_or_create(std::string name) {
    const auto now = context_.now();
    auto work = [name, now](db::Connection& c) {
        const auto hash = detail::sha1_hex(name);
        c.execute("INSERT INTO masters (name, name_hash, active, last_active) VALUES (?, ?, 0, ?) "
                  "ON CONFLICT DO NOTHING",
                  params(name, hash, now));
        auto row = c.query_one("SELECT id FROM masters WHERE name_hash = ?", params(hash));
        return row->integer(0);
    };
    co_return co_await context_.db.write(std::move(work));
}

asio::awaitable<void> Masters::mark_stopped(Id masterid) {
    const auto now = context_.now();
    const auto retry = static_cast<int>(core::Results::retry);
    auto work = [masterid, now, retry](db::Connection& c) {
        Orphans orphans;
        // Logs and steps of unfinished builds are finished, the builds end RETRY.
        for (const auto& row : c.query_all(
                 "SELECT logs.id, logs.name, logs.slug, logs.stepid, logs.num_lines, logs.type "
                 "FROM logs JOIN steps ON logs.stepid = steps.id JOIN builds ON steps.buildid = "
                 "builds.id WHERE builds.masterid = ? AND builds.complete_at IS NULL AND "
                 "logs.complete = 0",
                 params(masterid)))
            orphans.logs.push_back(Log{row.integer(0), row.text(1), row.text(2), row.integer(3),
                                       true, row.integer(4), row.text(5)});
        c.execute("UPDATE logs SET complete = 1 WHERE complete = 0 AND stepid IN (SELECT steps.id "
                  "FROM steps JOIN builds ON steps.buildid = builds.id WHERE builds.masterid = ? "
                  "AND builds.complete_at IS NULL)",
                  params(masterid));
        for (const auto& row : c.query_all(
                 "SELECT steps.id, steps.number, steps.name, steps.buildid, steps.started_at, "
                 "steps.state_string, steps.urls_json, steps.hidden FROM steps JOIN builds ON "
                 "steps.buildid = builds.id WHERE builds.masterid = ? AND builds.complete_at IS "
                 "NULL AND steps.complete_at IS NULL",
                 params(masterid))) {
            Step step;
            step.stepid = row.integer(0);
            step.number = static_cast<int>(row.integer(1));
            step.name = row.text(2);
            step.buildid = row.integer(3);
            step.started_at = row.optional_integer(4);
            step.complete_at = now;
            step.results = retry;
            step.state_string = row.text(5);
            step.hidden = row.integer(7) != 0;
            orphans.steps.push_back(std::move(step));
        }
        c.execute("UPDATE steps SET complete_at = ?, results = ? WHERE complete_at IS NULL AND "
                  "buildid IN (SELECT id FROM builds WHERE masterid = ? AND complete_at IS NULL)",
                  params(now, retry, masterid));
        for (const auto& row :
             c.query_all("SELECT id, number, builderid, buildrequestid, workerid, started_at, "
                         "state_string FROM builds WHERE masterid = ? AND complete_at IS NULL",
                         params(masterid))) {
            Build build;
            build.buildid = row.integer(0);
            build.number = static_cast<int>(row.integer(1));
            build.builderid = row.integer(2);
            build.buildrequestid = row.integer(3);
            build.workerid = row.optional_integer(4);
            build.masterid = masterid;
            build.started_at = row.integer(5);
            build.complete_at = now;
            build.results = retry;
            build.state_string = row.text(6);
            orphans.builds.push_back(std::move(build));
        }
        c.execute("UPDATE builds SET complete_at = ?, results = ? WHERE masterid = ? AND "
                  "complete_at IS NULL",
                  params(now, retry, masterid));
        // Requests this master claimed and did not complete go back to the queue.
        for (const auto& row : c.query_all(
                 "SELECT br.id, br.buildsetid, br.builderid, br.priority, br.submitted_at, "
                 "br.waited_for FROM buildrequests br JOIN buildrequest_claims cl ON cl.brid = "
                 "br.id WHERE cl.masterid = ? AND br.complete = 0",
                 params(masterid))) {
            BuildRequest request;
            request.buildrequestid = row.integer(0);
            request.buildsetid = row.integer(1);
            request.builderid = row.integer(2);
            request.priority = static_cast<int>(row.integer(3));
            request.submitted_at = row.integer(4);
            request.waited_for = row.integer(5) != 0;
            orphans.unclaimed.push_back(request);
        }
        c.execute("DELETE FROM buildrequest_claims WHERE masterid = ? AND brid IN (SELECT id FROM "
                  "buildrequests WHERE complete = 0)",
                  params(masterid));
        c.execute("DELETE FROM builder_masters WHERE masterid = ?", params(masterid));
        c.execute("DELETE FROM connected_workers WHERE masterid = ?", params(masterid));
        c.execute("DELETE FROM scheduler_masters WHERE masterid = ?", params(masterid));
        c.execute("DELETE FROM changesource_masters WHERE masterid = ?", params(masterid));
        c.execute("UPDATE masters SET active = 0 WHERE id = ?", params(masterid));
        return std::pair{read_master(c, masterid), std::move(orphans)};
    };
    auto [master, orphans_found] = co_await context_.db.write(std::move(work));
    auto& bus = context_.bus;
    for (const auto& log : orphans_found.logs)
        announce(bus, log, "finished");
    for (const auto& step : orphans_found.steps)
        announce(bus, step, "finished");
    for (const auto& build : orphans_found.builds)
        announce(bus, build, "finished");
    for (const auto& request : orphans_found.unclaimed)
        announce(bus, request, "unclaimed");
    auto payload = master.to_json();
    payload.erase("last_active");
    bus.publish({{"masters", std::to_string(masterid), "stopped"}}, std::move(payload));
}

asio::awaitable<Master> Masters::mark_started(Id masterid) {
    const auto now = context_.now();
    auto work2 = [masterid, now](db::Connection& c) {
        c.execute("UPDATE masters SET active = 1, last_active = ? WHERE id = ?",
                  params(now, masterid));
        return read_master(c, masterid);
    };
    auto master = co_await context_.db.write(std::move(work2));
    auto payload = master.to_json();
    payload.erase("last_active");
    context_.bus.publish({{"masters", std::to_string(masterid), "started"}}, std::move(payload));
    co_return master;
}

asio::awaitable<void> Masters::heartbeat(Id masterid) {
    const auto now = context_.now();
    auto work3 = [masterid, now](db::Connection& c) {
        c.execute("UPDATE masters SET last_active = ? WHERE id = ?", params(now, masterid));
    };
    co_await context_.db.write(std::move(work3));
}

asio::awaitable<std::optional<Master>> Masters::get(Id masterid) {
    auto work4 = [masterid](db::Connection& c) -> std::optional<Master> {
        auto row = c.query_one("SELECT id, name, active, last_active FROM masters WHERE id = ?",
                               params(masterid));
        if (!row) return std::nullopt;
        return Master{row->integer(0), row->text(1), row->integer(2) != 0, row->integer(3)};
    };
    co_return co_await context_.db.read(std::move(work4));
}

}  // namespace kiln::data
