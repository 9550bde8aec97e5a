// SPDX-License-Identifier: Apache-2.0
#include "data/schedulers.hpp"

#include "data/changes.hpp"
#include "data/detail/rows.hpp"
#include "data/detail/sql.hpp"

#include <boost/json/array.hpp>

namespace kiln::data {

using detail::params;
namespace asio = boost::asio;

namespace {

Scheduler read_scheduler(db::Connection& c, const db::Row& row) {
    Scheduler scheduler;
    scheduler.schedulerid = row.integer(0);
    scheduler.name = row.text(1);
    scheduler.enabled = row.optional_integer(2).value_or(1) != 0;
    if (auto masterid = row.optional_integer(3))
        scheduler.master = detail::read_master(c, *masterid);
    return scheduler;
}

constexpr const char* kSelectSchedulers =
    "SELECT s.id, s.name, s.enabled, sm.masterid FROM schedulers s LEFT JOIN scheduler_masters sm "
    "ON sm.schedulerid = s.id";

std::optional<Scheduler> read_one(db::Connection& c, Id schedulerid) {
    auto row = c.query_one(std::string(kSelectSchedulers) + " WHERE s.id = ?", params(schedulerid));
    if (!row) return std::nullopt;
    return read_scheduler(c, *row);
}

// Claims the scheduler for the master unless an active master holds it.
void claim_one(db::Connection& c, Id schedulerid, Id masterid) {
    c.execute("DELETE FROM scheduler_masters WHERE schedulerid = ? AND masterid <> ? AND "
              "masterid IN (SELECT id FROM masters WHERE active = 0)",
              params(schedulerid, masterid));
    c.execute("INSERT INTO scheduler_masters (schedulerid, masterid) VALUES (?, ?) ON CONFLICT DO "
              "NOTHING",
              params(schedulerid, masterid));
}

// The WHERE clause (after "sc.schedulerid = ?") selecting a scope's changes; appends its
// parameters. A null branch is the default branch.
std::string scope_clause(const std::optional<ChangeScope>& scope, std::vector<db::Field>& fields) {
    if (!scope) return {};
    std::string sql = " AND ch.codebase = ? AND ch.project = ? AND ch.repository = ?";
    fields.emplace_back(scope->codebase);
    fields.emplace_back(scope->project);
    fields.emplace_back(scope->repository);
    if (scope->branch) {
        sql += " AND ch.branch = ?";
        fields.emplace_back(*scope->branch);
    } else {
        sql += " AND ch.branch IS NULL";
    }
    return sql;
}

}  // namespace

boost::json::object Scheduler::to_json() const {
    boost::json::object object{{"schedulerid", schedulerid}, {"name", name}, {"enabled", enabled}};
    object["master"] = master ? boost::json::value(master->to_json()) : boost::json::value(nullptr);
    return object;
}

asio::awaitable<std::vector<Scheduler>> Schedulers::configure(Id masterid,
                                                              std::vector<std::string> names) {
    auto work = [masterid, names](db::Connection& c) {
        std::vector<Id> ids;
        for (const auto& name : names) {
            const auto hash = detail::sha1_hex(name);
            c.execute("INSERT INTO schedulers (name, name_hash, enabled) VALUES (?, ?, 1) ON "
                      "CONFLICT DO NOTHING",
                      params(name, hash));
            auto row = c.query_one("SELECT id FROM schedulers WHERE name_hash = ?", params(hash));
            if (!row) throw db::DatabaseError("scheduler '" + name + "' vanished after its insert");
            ids.push_back(row->integer(0));
        }
        std::vector<Id> held;
        c.query("SELECT schedulerid FROM scheduler_masters WHERE masterid = ?", params(masterid),
                [&](const db::Row& row) { held.push_back(row.integer(0)); });
        for (auto id : held)
            if (std::find(ids.begin(), ids.end(), id) == ids.end())
                c.execute("DELETE FROM scheduler_masters WHERE schedulerid = ? AND masterid = ?",
                          params(id, masterid));
        std::vector<Scheduler> schedulers;
        for (auto id : ids) {
            claim_one(c, id, masterid);
            schedulers.push_back(*read_one(c, id));
        }
        return schedulers;
    };
    co_return co_await context_.db.write(std::move(work));
}

asio::awaitable<std::vector<Scheduler>> Schedulers::claim(Id masterid, std::vector<Id> ids) {
    auto work = [masterid, ids](db::Connection& c) {
        std::vector<Scheduler> schedulers;
        for (auto id : ids) {
            claim_one(c, id, masterid);
            if (auto scheduler = read_one(c, id)) schedulers.push_back(std::move(*scheduler));
        }
        return schedulers;
    };
    co_return co_await context_.db.write(std::move(work));
}

asio::awaitable<std::vector<Scheduler>> Schedulers::list() {
    auto work = [](db::Connection& c) {
        std::vector<Scheduler> schedulers;
        for (const auto& row : c.query_all(std::string(kSelectSchedulers) + " ORDER BY s.id"))
            schedulers.push_back(read_scheduler(c, row));
        return schedulers;
    };
    co_return co_await context_.db.read(std::move(work));
}

asio::awaitable<std::optional<Scheduler>> Schedulers::get(Id schedulerid) {
    auto work = [schedulerid](db::Connection& c) { return read_one(c, schedulerid); };
    co_return co_await context_.db.read(std::move(work));
}

asio::awaitable<std::optional<Scheduler>> Schedulers::set_enabled(Id schedulerid, bool enabled) {
    auto work = [schedulerid, enabled](db::Connection& c) {
        c.execute("UPDATE schedulers SET enabled = ? WHERE id = ?", params(enabled, schedulerid));
        return read_one(c, schedulerid);
    };
    auto scheduler = co_await context_.db.write(std::move(work));
    if (scheduler)
        context_.bus.publish({{"schedulers", std::to_string(schedulerid), "updated"}},
                             scheduler->to_json());
    co_return scheduler;
}

asio::awaitable<std::map<Id, bool>> Schedulers::classifications(Id schedulerid,
                                                                std::optional<ChangeScope> scope) {
    auto work = [schedulerid, scope](db::Connection& c) {
        std::vector<db::Field> fields{db::Field{schedulerid}};
        const auto where = scope_clause(scope, fields);
        std::map<Id, bool> found;
        c.query("SELECT sc.changeid, sc.important FROM scheduler_changes sc JOIN changes ch ON "
                "ch.changeid = sc.changeid WHERE sc.schedulerid = ?" +
                    where,
                fields, [&](const db::Row& row) {
                    found[row.integer(0)] = row.optional_integer(1).value_or(0) != 0;
                });
        return found;
    };
    co_return co_await context_.db.read(std::move(work));
}

asio::awaitable<void> Schedulers::record(SchedulerRecord record) {
    std::vector<std::pair<std::string, std::string>> state;
    for (const auto& [name, value] : record.state)
        state.emplace_back(name, detail::to_json_text(value));
    auto work = [record = std::move(record), state = std::move(state)](db::Connection& c) {
        if (record.classify) {
            const auto [changeid, important] = *record.classify;
            if (c.execute("UPDATE scheduler_changes SET important = ? WHERE schedulerid = ? AND "
                          "changeid = ?",
                          params(important, record.schedulerid, changeid)) == 0)
                c.execute("INSERT INTO scheduler_changes (schedulerid, changeid, important) "
                          "VALUES (?, ?, ?)",
                          params(record.schedulerid, changeid, important));
        }
        for (auto changeid : record.forget)
            c.execute("DELETE FROM scheduler_changes WHERE schedulerid = ? AND changeid = ?",
                      params(record.schedulerid, changeid));
        for (const auto& [name, text] : state) {
            if (c.execute("UPDATE object_state SET value_json = ? WHERE objectid = ? AND name = ?",
                          params(text, record.objectid, name)) == 0)
                c.execute("INSERT INTO object_state (objectid, name, value_json) VALUES (?, ?, ?)",
                          params(record.objectid, name, text));
        }
    };
    co_await context_.db.write(std::move(work));
}

asio::awaitable<std::optional<boost::json::object>> Schedulers::change(Id changeid) {
    Changes changes(context_);
    auto change = co_await changes.get(changeid);
    if (!change) co_return std::nullopt;
    co_return change->to_json();
}

asio::awaitable<std::vector<Id>> Schedulers::changes_after(Id changeid, int limit) {
    auto work = [changeid, limit](db::Connection& c) {
        std::vector<Id> ids;
        c.query("SELECT changeid FROM changes WHERE changeid > ? ORDER BY changeid LIMIT ?",
                params(changeid, limit),
                [&](const db::Row& row) { ids.push_back(row.integer(0)); });
        return ids;
    };
    co_return co_await context_.db.read(std::move(work));
}

asio::awaitable<Id> Schedulers::last_changeid() {
    auto work = [](db::Connection& c) {
        auto row = c.query_one("SELECT MAX(changeid) FROM changes");
        return row ? row->optional_integer(0).value_or(0) : Id{0};
    };
    co_return co_await context_.db.read(std::move(work));
}

}  // namespace kiln::data
