// SPDX-License-Identifier: Apache-2.0
#include "data/masters.hpp"

#include "core/results.hpp"
#include "data/builds.hpp"
#include "data/buildsets.hpp"
#include "data/detail/rows.hpp"
#include "data/detail/sql.hpp"
#include "data/events.hpp"

namespace kiln::data {

using detail::params;
namespace asio = boost::asio;

namespace detail {

Master read_master(db::Connection& c, Id masterid) {
    auto row = c.query_one("SELECT id, name, active, last_active FROM masters WHERE id = ?",
                           params(masterid));
    if (!row) throw db::DatabaseError("no master " + std::to_string(masterid));
    return Master{row->integer(0), row->text(1), row->integer(2) != 0, row->integer(3)};
}

}  // namespace detail

using detail::read_master;

namespace {

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
        auto ids = [&c, masterid](std::string_view sql) {
            std::vector<Id> found;
            c.query(sql, params(masterid),
                    [&](const db::Row& row) { found.push_back(row.integer(0)); });
            return found;
        };
        // What is about to change, read back afterwards with the stores' own readers.
        const auto logids =
            ids("SELECT logs.id FROM logs JOIN steps ON logs.stepid = steps.id JOIN "
                "builds ON steps.buildid = builds.id WHERE builds.masterid = ? AND "
                "builds.complete_at IS NULL AND logs.complete = 0");
        const auto stepids = ids("SELECT steps.id FROM steps JOIN builds ON steps.buildid = "
                                 "builds.id WHERE builds.masterid = ? AND builds.complete_at IS "
                                 "NULL AND steps.complete_at IS NULL");
        const auto buildids =
            ids("SELECT id FROM builds WHERE masterid = ? AND complete_at IS NULL");
        const auto brids = ids("SELECT br.id FROM buildrequests br JOIN buildrequest_claims cl ON "
                               "cl.brid = br.id WHERE cl.masterid = ? AND br.complete = 0");
        // Logs and steps of unfinished builds are finished, the builds end RETRY.
        c.execute("UPDATE logs SET complete = 1 WHERE complete = 0 AND stepid IN (SELECT steps.id "
                  "FROM steps JOIN builds ON steps.buildid = builds.id WHERE builds.masterid = ? "
                  "AND builds.complete_at IS NULL)",
                  params(masterid));
        c.execute("UPDATE steps SET complete_at = ?, results = ? WHERE complete_at IS NULL AND "
                  "buildid IN (SELECT id FROM builds WHERE masterid = ? AND complete_at IS NULL)",
                  params(now, retry, masterid));
        c.execute("UPDATE builds SET complete_at = ?, results = ? WHERE masterid = ? AND "
                  "complete_at IS NULL",
                  params(now, retry, masterid));
        // Requests this master claimed and did not complete go back to the queue.
        c.execute("DELETE FROM buildrequest_claims WHERE masterid = ? AND brid IN (SELECT id FROM "
                  "buildrequests WHERE complete = 0)",
                  params(masterid));
        c.execute("DELETE FROM builder_masters WHERE masterid = ?", params(masterid));
        c.execute("DELETE FROM connected_workers WHERE masterid = ?", params(masterid));
        c.execute("DELETE FROM scheduler_masters WHERE masterid = ?", params(masterid));
        c.execute("DELETE FROM changesource_masters WHERE masterid = ?", params(masterid));
        c.execute("UPDATE masters SET active = 0 WHERE id = ?", params(masterid));
        Orphans orphans;
        for (auto logid : logids)
            orphans.logs.push_back(*read_log(c, logid));
        for (auto stepid : stepids)
            orphans.steps.push_back(*read_step(c, stepid));
        for (auto buildid : buildids)
            orphans.builds.push_back(*read_build(c, buildid));
        for (auto brid : brids)
            orphans.unclaimed.push_back(*read_one_request(c, brid));
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
    auto work = [masterid, now](db::Connection& c) {
        c.execute("UPDATE masters SET active = 1, last_active = ? WHERE id = ?",
                  params(now, masterid));
        return read_master(c, masterid);
    };
    auto master = co_await context_.db.write(std::move(work));
    auto payload = master.to_json();
    payload.erase("last_active");
    context_.bus.publish({{"masters", std::to_string(masterid), "started"}}, std::move(payload));
    co_return master;
}

asio::awaitable<void> Masters::heartbeat(Id masterid) {
    const auto now = context_.now();
    auto work = [masterid, now](db::Connection& c) {
        c.execute("UPDATE masters SET last_active = ? WHERE id = ?", params(now, masterid));
    };
    co_await context_.db.write(std::move(work));
}

asio::awaitable<std::optional<Master>> Masters::get(Id masterid) {
    auto work = [masterid](db::Connection& c) -> std::optional<Master> {
        auto row = c.query_one("SELECT id, name, active, last_active FROM masters WHERE id = ?",
                               params(masterid));
        if (!row) return std::nullopt;
        return Master{row->integer(0), row->text(1), row->integer(2) != 0, row->integer(3)};
    };
    co_return co_await context_.db.read(std::move(work));
}

}  // namespace kiln::data
