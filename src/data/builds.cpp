// SPDX-License-Identifier: Apache-2.0
#include "data/builds.hpp"

#include "data/detail/rows.hpp"
#include "data/detail/sql.hpp"
#include "data/events.hpp"
#include "db/log_chunks.hpp"

#include <array>

#include <boost/json/array.hpp>

namespace kiln::data {

using detail::params;
namespace asio = boost::asio;

namespace detail {

const char* const kBuildColumns =
    "SELECT id, number, builderid, buildrequestid, workerid, masterid, started_at, complete_at, "
    "results, state_string FROM builds";
const char* const kStepColumns =
    "SELECT id, number, name, buildid, started_at, complete_at, results, state_string, urls_json, "
    "hidden FROM steps";
const char* const kLogColumns =
    "SELECT id, name, slug, stepid, complete, num_lines, type FROM logs";

Build build_from(const db::Row& row) {
    Build build;
    build.buildid = row.integer(0);
    build.number = static_cast<int>(row.integer(1));
    build.builderid = row.integer(2);
    build.buildrequestid = row.integer(3);
    build.workerid = row.optional_integer(4);
    build.masterid = row.integer(5);
    build.started_at = row.integer(6);
    build.complete_at = row.optional_integer(7);
    build.results = detail::optional_int(row, 8);
    build.state_string = row.text(9);
    return build;
}

Step step_from(const db::Row& row) {
    Step step;
    step.stepid = row.integer(0);
    step.number = static_cast<int>(row.integer(1));
    step.name = row.text(2);
    step.buildid = row.integer(3);
    step.started_at = row.optional_integer(4);
    step.complete_at = row.optional_integer(5);
    step.results = detail::optional_int(row, 6);
    step.state_string = row.text(7);
    auto urls = detail::from_json_text(row.text(8));
    if (auto* list = urls.if_array()) {
        for (const auto& item : *list) {
            const auto* object = item.if_object();
            if (!object) continue;
            const auto* name = object->if_contains("name");
            const auto* url = object->if_contains("url");
            if (name && url && name->is_string() && url->is_string())
                step.urls.push_back(
                    {std::string(name->as_string()), std::string(url->as_string())});
        }
    }
    step.hidden = row.integer(9) != 0;
    return step;
}

Log log_from(const db::Row& row) {
    return Log{row.integer(0),      row.text(1),    row.text(2), row.integer(3),
               row.integer(4) != 0, row.integer(5), row.text(6)};
}

}  // namespace detail

using detail::build_from;
using detail::kBuildColumns;
using detail::kLogColumns;
using detail::kStepColumns;
using detail::log_from;
using detail::step_from;

namespace {

std::string urls_text(const std::vector<StepUrl>& urls) {
    boost::json::array list;
    for (const auto& url : urls)
        list.push_back(boost::json::object{{"name", url.name}, {"url", url.url}});
    return detail::to_json_text(list);
}

// is_new: the build has no properties stored yet (plain INSERTs).
void write_properties(db::Connection& c, Id buildid, const core::Properties& properties,
                      bool is_new = false) {
    for (const auto& [name, property] : properties.all()) {
        const auto value = detail::to_json_text(property.value);
        if (is_new ||
            c.execute(
                "UPDATE build_properties SET value = ?, source = ? WHERE buildid = ? AND name = ?",
                params(value, property.source, buildid, name)) == 0)
            c.execute(
                "INSERT INTO build_properties (buildid, name, value, source) VALUES (?, ?, ?, ?)",
                params(buildid, name, value, property.source));
    }
}

// Picks name, or name_2, name_3... (cut to max_length) so it is unused in the column.
std::string unique_name(db::Connection& c, std::string_view sql, Id owner, const std::string& base,
                        std::size_t max_length) {
    std::string candidate = base.substr(0, max_length);
    for (int n = 2;; ++n) {
        if (!c.query_one(sql, params(owner, candidate))) return candidate;
        const auto suffix = "_" + std::to_string(n);
        candidate = base.substr(0, max_length - suffix.size()) + suffix;
    }
}

}  // namespace

std::optional<Build> read_build(db::Connection& c, Id buildid) {
    auto row = c.query_one(std::string(kBuildColumns) + " WHERE id = ?", params(buildid));
    if (!row) return std::nullopt;
    return build_from(*row);
}

std::optional<Step> read_step(db::Connection& c, Id stepid) {
    auto row = c.query_one(std::string(kStepColumns) + " WHERE id = ?", params(stepid));
    if (!row) return std::nullopt;
    return step_from(*row);
}

std::optional<Log> read_log(db::Connection& c, Id logid) {
    auto row = c.query_one(std::string(kLogColumns) + " WHERE id = ?", params(logid));
    if (!row) return std::nullopt;
    return log_from(*row);
}

asio::awaitable<Build> Builds::add(Id builderid, Id buildrequestid, Id workerid, Id masterid,
                                   core::Properties properties, std::string state_string) {
    const auto now = context_.now();
    auto work = [&](db::Connection& c) {
        for (;;) {
            try {
                return c.with_savepoint([&] {
                    const auto number =
                        c.query_one("SELECT COALESCE(MAX(number), 0) + 1 FROM builds WHERE "
                                    "builderid = ?",
                                    params(builderid))
                            ->integer(0);
                    const auto buildid =
                        c.insert("INSERT INTO builds (number, builderid, buildrequestid, workerid, "
                                 "masterid, started_at, state_string) VALUES (?, ?, ?, ?, ?, ?, ?) "
                                 "RETURNING id",
                                 params(number, builderid, buildrequestid, workerid, masterid, now,
                                        state_string));
                    properties.set("buildnumber", number, "Build");
                    write_properties(c, buildid, properties, true);
                    return *read_build(c, buildid);
                });
            } catch (const db::UniqueViolation&) {
                // Another master numbered a build of this builder at the same moment.
            }
        }
    };
    auto build = co_await context_.db.write(std::move(work));
    announce(context_.bus, build, "new");
    context_.bus.publish({{"builds", std::to_string(build.buildid), "properties", "update"}},
                         properties.to_api());
    co_return build;
}

asio::awaitable<Build> Builds::set_state_string(Id buildid, std::string state_string) {
    auto work = [&](db::Connection& c) {
        c.execute("UPDATE builds SET state_string = ? WHERE id = ?", params(state_string, buildid));
        return *read_build(c, buildid);
    };
    auto build = co_await context_.db.write(std::move(work));
    announce(context_.bus, build, "update");
    co_return build;
}

asio::awaitable<void> Builds::set_properties(Id buildid, core::Properties changed) {
    if (changed.empty()) co_return;
    auto work = [&](db::Connection& c) { write_properties(c, buildid, changed); };
    co_await context_.db.write(std::move(work));
    context_.bus.publish({{"builds", std::to_string(buildid), "properties", "update"}},
                         changed.to_api());
}

asio::awaitable<Build> Builds::finish(Id buildid, int results) {
    const auto now = context_.now();
    auto work = [&](db::Connection& c) {
        c.execute("UPDATE builds SET complete_at = ?, results = ? WHERE id = ?",
                  params(now, results, buildid));
        return *read_build(c, buildid);
    };
    auto build = co_await context_.db.write(std::move(work));
    announce(context_.bus, build, "finished");
    co_return build;
}

asio::awaitable<Build> Builds::finish(Id buildid, std::string state_string, int results) {
    const auto now = context_.now();
    auto work = [&](db::Connection& c) {
        c.execute("UPDATE builds SET state_string = ?, complete_at = ?, results = ? WHERE id = ?",
                  params(state_string, now, results, buildid));
        auto finished = *read_build(c, buildid);
        // The "update" event shows the build as it was between the two changes.
        auto updated = finished;
        updated.complete_at.reset();
        updated.results.reset();
        return std::make_pair(std::move(updated), std::move(finished));
    };
    auto [updated, finished] = co_await context_.db.write(std::move(work));
    announce(context_.bus, updated, "update");
    announce(context_.bus, finished, "finished");
    co_return std::move(finished);
}

asio::awaitable<std::optional<Build>> Builds::get(Id buildid) {
    auto work = [buildid](db::Connection& c) { return read_build(c, buildid); };
    co_return co_await context_.db.read(std::move(work));
}

asio::awaitable<core::Properties> Builds::properties(Id buildid) {
    auto work = [buildid](db::Connection& c) {
        core::Properties properties;
        c.query("SELECT name, value, source FROM build_properties WHERE buildid = ?",
                params(buildid), [&](const db::Row& row) {
                    properties.set(row.text(0), detail::from_json_text(row.text(1)), row.text(2));
                });
        return properties;
    };
    co_return co_await context_.db.read(std::move(work));
}

asio::awaitable<std::vector<std::int64_t>> Builds::recent_durations(Id builderid, int count) {
    auto work = [builderid, count](db::Connection& c) {
        std::vector<std::int64_t> durations;
        c.query("SELECT complete_at - started_at FROM builds WHERE builderid = ? AND results = 0 "
                "AND complete_at IS NOT NULL ORDER BY id DESC LIMIT ?",
                params(builderid, count),
                [&](const db::Row& row) { durations.push_back(row.integer(0)); });
        return durations;
    };
    co_return co_await context_.db.read(std::move(work));
}

asio::awaitable<Step> Builds::add_step(Id buildid, std::string name) {
    auto work = [&](db::Connection& c) {
        const auto unique = unique_name(c, "SELECT 1 FROM steps WHERE buildid = ? AND name = ?",
                                        buildid, force_identifier(name, 50), 50);
        const auto number =
            c.query_one("SELECT COALESCE(MAX(number), -1) + 1 FROM steps WHERE buildid = ?",
                        params(buildid))
                ->integer(0);
        const auto stepid = c.insert(
            "INSERT INTO steps (number, name, buildid, state_string, urls_json, hidden) VALUES (?, "
            "?, ?, 'pending', '[]', 0) RETURNING id",
            params(number, unique, buildid));
        return *read_step(c, stepid);
    };
    auto step = co_await context_.db.write(std::move(work));
    announce(context_.bus, step, "new");
    co_return step;
}

asio::awaitable<Step> Builds::start_step(Id stepid) {
    const auto now = context_.now();
    auto work = [&](db::Connection& c) {
        c.execute("UPDATE steps SET started_at = ? WHERE id = ?", params(now, stepid));
        return *read_step(c, stepid);
    };
    auto step = co_await context_.db.write(std::move(work));
    announce(context_.bus, step, "started");
    co_return step;
}

asio::awaitable<Step> Builds::set_step_state_string(Id stepid, std::string state_string) {
    auto work = [&](db::Connection& c) {
        c.execute("UPDATE steps SET state_string = ? WHERE id = ?", params(state_string, stepid));
        return *read_step(c, stepid);
    };
    auto step = co_await context_.db.write(std::move(work));
    announce(context_.bus, step, "updated");
    co_return step;
}

asio::awaitable<Step> Builds::add_step_url(Id stepid, std::string name, std::string url) {
    auto work = [&](db::Connection& c) {
        auto current = *read_step(c, stepid);
        StepUrl added{name, url};
        if (std::find(current.urls.begin(), current.urls.end(), added) == current.urls.end()) {
            current.urls.push_back(added);
            c.execute("UPDATE steps SET urls_json = ? WHERE id = ?",
                      params(urls_text(current.urls), stepid));
        }
        return current;
    };
    auto step = co_await context_.db.write(std::move(work));
    announce(context_.bus, step, "updated");
    co_return step;
}

asio::awaitable<Step> Builds::finish_step(Id stepid, int results, bool hidden) {
    const auto now = context_.now();
    auto work = [&](db::Connection& c) {
        c.execute("UPDATE steps SET complete_at = ?, results = ?, hidden = ? WHERE id = ?",
                  params(now, results, hidden, stepid));
        return *read_step(c, stepid);
    };
    auto step = co_await context_.db.write(std::move(work));
    announce(context_.bus, step, "finished");
    co_return step;
}

asio::awaitable<Step> Builds::add_started_step(Id buildid, std::string name,
                                               std::optional<std::string> state_string) {
    const auto now = context_.now();
    auto work = [&](db::Connection& c) {
        std::vector<Step> snapshots;  // one per event
        const auto unique = unique_name(c, "SELECT 1 FROM steps WHERE buildid = ? AND name = ?",
                                        buildid, force_identifier(name, 50), 50);
        const auto number =
            c.query_one("SELECT COALESCE(MAX(number), -1) + 1 FROM steps WHERE buildid = ?",
                        params(buildid))
                ->integer(0);
        const auto stepid = c.insert(
            "INSERT INTO steps (number, name, buildid, state_string, urls_json, hidden) VALUES (?, "
            "?, ?, 'pending', '[]', 0) RETURNING id",
            params(number, unique, buildid));
        snapshots.push_back(*read_step(c, stepid));
        // The later snapshots differ from the first only in what these updates set.
        snapshots.push_back(snapshots.back());
        snapshots.back().started_at = now;
        if (state_string) {
            snapshots.push_back(snapshots.back());
            snapshots.back().state_string = *state_string;
            c.execute("UPDATE steps SET started_at = ?, state_string = ? WHERE id = ?",
                      params(now, *state_string, stepid));
        } else {
            c.execute("UPDATE steps SET started_at = ? WHERE id = ?", params(now, stepid));
        }
        return snapshots;
    };
    auto snapshots = co_await context_.db.write(std::move(work));
    static constexpr std::array<std::string_view, 3> kEvents{"new", "started", "updated"};
    for (std::size_t i = 0; i < snapshots.size(); ++i)
        announce(context_.bus, snapshots[i], kEvents[i]);
    co_return std::move(snapshots.back());
}

asio::awaitable<Step> Builds::finish_step(Id stepid, std::string state_string, int results,
                                          bool hidden) {
    const auto now = context_.now();
    auto work = [&](db::Connection& c) {
        c.execute("UPDATE steps SET state_string = ? WHERE id = ?", params(state_string, stepid));
        auto updated = *read_step(c, stepid);
        c.execute("UPDATE steps SET complete_at = ?, results = ?, hidden = ? WHERE id = ?",
                  params(now, results, hidden, stepid));
        return std::make_pair(std::move(updated), *read_step(c, stepid));
    };
    auto [updated, finished] = co_await context_.db.write(std::move(work));
    announce(context_.bus, updated, "updated");
    announce(context_.bus, finished, "finished");
    co_return std::move(finished);
}

asio::awaitable<std::optional<Step>> Builds::get_step(Id stepid) {
    auto work = [stepid](db::Connection& c) { return read_step(c, stepid); };
    co_return co_await context_.db.read(std::move(work));
}

asio::awaitable<std::vector<Step>> Builds::steps(Id buildid) {
    auto work = [buildid](db::Connection& c) {
        std::vector<Step> steps;
        c.query(std::string(kStepColumns) + " WHERE buildid = ? ORDER BY number", params(buildid),
                [&](const db::Row& row) { steps.push_back(step_from(row)); });
        return steps;
    };
    co_return co_await context_.db.read(std::move(work));
}

asio::awaitable<Log> Builds::add_log(Id stepid, std::string name, std::string type) {
    auto work = [&](db::Connection& c) {
        const auto slug = unique_name(c, "SELECT 1 FROM logs WHERE stepid = ? AND slug = ?", stepid,
                                      force_identifier(name, 50), 50);
        const auto logid = c.insert(
            "INSERT INTO logs (name, slug, stepid, complete, num_lines, type) VALUES (?, ?, ?, 0, "
            "0, ?) RETURNING id",
            params(name, slug, stepid, type));
        return *read_log(c, logid);
    };
    auto log = co_await context_.db.write(std::move(work));
    announce(context_.bus, log, "new");
    co_return log;
}

asio::awaitable<Log> Builds::append_log(Id logid, std::string text,
                                        std::optional<std::int64_t> expected_first_line) {
    auto work = [&](db::Connection& c) {
        const auto appended = db::append_log_lines(c, logid, text, expected_first_line);
        return std::make_pair(*read_log(c, logid), appended.new_bytes);
    };
    auto appended = co_await context_.db.write(std::move(work));
    context_.totals.log_bytes_appended += static_cast<std::uint64_t>(appended.second);
    announce(context_.bus, appended.first, "append");
    co_return std::move(appended.first);
}

asio::awaitable<Log> Builds::finish_log(Id logid) {
    auto work = [&](db::Connection& c) {
        c.execute("UPDATE logs SET complete = 1 WHERE id = ?", params(logid));
        db::compact_log(c, logid);
        return *read_log(c, logid);
    };
    auto log = co_await context_.db.write(std::move(work));
    announce(context_.bus, log, "finished");
    co_return log;
}

asio::awaitable<Log> Builds::finish_log(Id logid, std::string last_lines) {
    if (last_lines.empty()) co_return co_await finish_log(logid);
    struct Outcome {
        Log appended;
        Log finished;
        std::int64_t new_bytes = 0;
    };
    auto work = [&](db::Connection& c) {
        Outcome out;
        out.new_bytes = db::append_log_lines(c, logid, last_lines, std::nullopt).new_bytes;
        out.appended = *read_log(c, logid);
        c.execute("UPDATE logs SET complete = 1 WHERE id = ?", params(logid));
        db::compact_log(c, logid);
        out.finished = *read_log(c, logid);
        return out;
    };
    auto outcome = co_await context_.db.write(std::move(work));
    context_.totals.log_bytes_appended += static_cast<std::uint64_t>(outcome.new_bytes);
    announce(context_.bus, outcome.appended, "append");
    announce(context_.bus, outcome.finished, "finished");
    co_return std::move(outcome.finished);
}

asio::awaitable<std::optional<Log>> Builds::get_log(Id logid) {
    auto work = [logid](db::Connection& c) { return read_log(c, logid); };
    co_return co_await context_.db.read(std::move(work));
}

asio::awaitable<std::vector<Log>> Builds::logs(Id stepid) {
    auto work = [stepid](db::Connection& c) {
        std::vector<Log> logs;
        c.query(std::string(kLogColumns) + " WHERE stepid = ? ORDER BY id", params(stepid),
                [&](const db::Row& row) { logs.push_back(log_from(row)); });
        return logs;
    };
    co_return co_await context_.db.read(std::move(work));
}

asio::awaitable<std::string> Builds::log_lines(Id logid, std::int64_t first, std::int64_t last) {
    auto work = [logid, first, last](db::Connection& c) {
        std::string text;
        db::read_log_lines(c, logid, first, last, [&](std::string_view block) { text += block; });
        return text;
    };
    co_return co_await context_.db.read(std::move(work));
}

}  // namespace kiln::data
