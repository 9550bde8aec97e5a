// SPDX-License-Identifier: Apache-2.0
#include "data/queries.hpp"

#include "data/detail/query_sql.hpp"
#include "data/detail/rows.hpp"
#include "data/detail/sql.hpp"
#include "data/workers.hpp"
#include "db/log_chunks.hpp"

#include <algorithm>
#include <set>
#include <tuple>

namespace kiln::data {

using detail::params;
namespace asio = boost::asio;

namespace {

const detail::ColumnMap& build_columns() {
    static const detail::ColumnMap columns{
        {"buildid", {"id", {}}},
        {"number", {"number", {}}},
        {"builderid", {"builderid", {}}},
        {"buildrequestid", {"buildrequestid", {}}},
        {"workerid", {"workerid", {}}},
        {"masterid", {"masterid", {}}},
        {"started_at", {"started_at", {}}},
        {"complete_at", {"complete_at", {}}},
        {"state_string", {"state_string", {}}},
        {"results", {"results", {}}},
        {"complete",
         {"",
          [](const Filter& filter, std::vector<db::Field>&) {
              return detail::boolean_clause(filter, "complete_at IS NOT NULL",
                                            "complete_at IS NULL");
          }}},
    };
    return columns;
}

const detail::ColumnMap& request_columns() {
    static const detail::ColumnMap columns{
        {"buildrequestid", {"br.id", {}}},
        {"buildsetid", {"br.buildsetid", {}}},
        {"builderid", {"br.builderid", {}}},
        {"priority", {"br.priority", {}}},
        {"complete", {"br.complete", {}}},
        {"results", {"br.results", {}}},
        {"submitted_at", {"br.submitted_at", {}}},
        {"complete_at", {"br.complete_at", {}}},
        {"waited_for", {"br.waited_for", {}}},
        {"claimed_at", {"cl.claimed_at", {}}},
        {"claimed_by_masterid", {"cl.masterid", {}}},
        {"claimed",
         {"",
          [](const Filter& filter, std::vector<db::Field>&) {
              return detail::boolean_clause(filter, "cl.claimed_at IS NOT NULL",
                                            "cl.claimed_at IS NULL");
          }}},
    };
    return columns;
}

const detail::ColumnMap& buildset_columns() {
    static const detail::ColumnMap columns{
        {"bsid", {"id", {}}},
        {"external_idstring", {"external_idstring", {}}},
        {"reason", {"reason", {}}},
        {"submitted_at", {"submitted_at", {}}},
        {"complete", {"complete", {}}},
        {"complete_at", {"complete_at", {}}},
        {"results", {"results", {}}},
        {"parent_buildid", {"parent_buildid", {}}},
        {"parent_relationship", {"parent_relationship", {}}},
    };
    return columns;
}

const detail::ColumnMap& sourcestamp_columns() {
    static const detail::ColumnMap columns{
        {"ssid", {"id", {}}},
        {"branch", {"branch", {}}},
        {"revision", {"revision", {}}},
        {"repository", {"repository", {}}},
        {"project", {"project", {}}},
        {"codebase", {"codebase", {}}},
        {"created_at", {"created_at", {}}},
    };
    return columns;
}

// Runs `select` (ending in FROM ... ) with the compiled query; counts the matches when paged.
// `extra_where` (SQL over the same columns) narrows the collection, e.g. to a parent's items.
template <typename T, typename ReadRow>
QueryResult<T> run_query(db::Connection& c, const std::string& select, const std::string& from,
                         const Query& query, const detail::ColumnMap& columns,
                         const std::string& default_order, ReadRow read_row,
                         std::string extra_where = {}, std::vector<db::Field> extra_params = {}) {
    auto compiled =
        detail::compile_query(query, columns, std::move(extra_where), std::move(extra_params));
    QueryResult<T> result;
    result.is_complete = compiled.is_complete;
    std::vector<db::Field> all_params = compiled.params;
    all_params.insert(all_params.end(), compiled.paging_params.begin(),
                      compiled.paging_params.end());
    const auto order = compiled.order_by.empty() ? default_order : compiled.order_by;
    auto paging = compiled.paging;
    if (!compiled.is_complete && query.max_unpaged_rows > 0) {
        // Everything that matches comes to memory: bound it (one more row shows "too many").
        paging = " LIMIT ?";
        all_params.emplace_back(query.max_unpaged_rows + 1);
    }
    c.query(select + compiled.where + order + paging, all_params,
            [&](const db::Row& row) { result.items.push_back(read_row(row)); });
    if (!compiled.is_complete && query.max_unpaged_rows > 0 &&
        static_cast<std::int64_t>(result.items.size()) > query.max_unpaged_rows) {
        result.items.clear();
        result.is_over_limit = true;
        return result;
    }
    if (compiled.is_complete && !compiled.paging.empty()) {
        auto count = c.query_one("SELECT COUNT(*) " + from + compiled.where, compiled.params);
        result.total = count ? count->integer(0) : 0;
    } else {
        result.total = static_cast<std::int64_t>(result.items.size());
    }
    return result;
}

const detail::ColumnMap& change_columns() {
    // Buildbot pushes only changeid into SQL for /changes (rest-api.md §3.3).
    static const detail::ColumnMap columns{{"changeid", {"c.changeid", {}}}};
    return columns;
}

// The sourcestamp ids of a build (through its request's buildset).
std::vector<Id> stamps_of_build(db::Connection& c, Id buildid) {
    std::vector<Id> ssids;
    c.query("SELECT bss.sourcestampid FROM builds b JOIN buildrequests br ON br.id = "
            "b.buildrequestid JOIN buildset_sourcestamps bss ON bss.buildsetid = br.buildsetid "
            "WHERE b.id = ? ORDER BY bss.sourcestampid",
            params(buildid), [&](const db::Row& row) { ssids.push_back(row.integer(0)); });
    return ssids;
}

// (repository, branch, codebase) of each sourcestamp, as Buildbot compares builds' sources.
using SourceKey = std::tuple<std::string, std::optional<std::string>, std::string>;
std::set<SourceKey> source_keys(db::Connection& c, const std::vector<Id>& ssids) {
    std::set<SourceKey> keys;
    for (auto ssid : ssids)
        if (auto row = c.query_one(
                "SELECT repository, branch, codebase FROM sourcestamps WHERE id = ?", params(ssid)))
            keys.emplace(row->text(0), row->optional_text(1), row->text(2));
    return keys;
}

// The newest change of a sourcestamp (Buildbot's getChangeFromSSid).
std::optional<Change> change_of_stamp(db::Connection& c, Id ssid) {
    auto found = detail::read_changes(
        c, "WHERE c.sourcestampid = ? ORDER BY c.changeid DESC LIMIT 1", params(ssid));
    if (found.empty()) return std::nullopt;
    return std::move(found.front());
}

// Buildbot's getPrevSuccessfulBuild: the newest successful earlier build of the builder whose
// sourcestamps cover the same (repository, branch, codebase) set.
std::optional<Id> previous_successful_build(db::Connection& c, Id builderid, std::int64_t number,
                                            const std::set<SourceKey>& keys) {
    std::optional<Id> found;
    std::vector<Id> candidates;
    c.query("SELECT id FROM builds WHERE builderid = ? AND number < ? AND results = 0 ORDER BY "
            "number DESC",
            params(builderid, number),
            [&](const db::Row& row) { candidates.push_back(row.integer(0)); });
    for (auto buildid : candidates) {
        if (source_keys(c, stamps_of_build(c, buildid)) == keys) {
            found = buildid;
            break;
        }
    }
    return found;
}

core::Properties read_buildset_properties(db::Connection& c, Id bsid,
                                          const std::vector<std::string>& names) {
    core::Properties properties;
    c.query("SELECT property_name, property_value FROM buildset_properties WHERE buildsetid = ?",
            params(bsid), [&](const db::Row& row) {
                auto name = row.text(0);
                if (!names.empty() && std::find(names.begin(), names.end(), name) == names.end())
                    return;
                auto value = detail::from_json_text(row.text(1));
                if (auto* pair = value.if_array();
                    pair && pair->size() == 2 && (*pair)[1].is_string())
                    properties.set(name, (*pair)[0], (*pair)[1].as_string());
                else
                    properties.set(name, value, "");
            });
    return properties;
}

}  // namespace

asio::awaitable<QueryResult<Build>> Queries::builds(Query query) {
    auto work = [query = std::move(query)](db::Connection& c) {
        return run_query<Build>(c, detail::kBuildColumns, "FROM builds", query, build_columns(),
                                " ORDER BY id", detail::build_from);
    };
    co_return co_await context_.db.read(std::move(work));
}

asio::awaitable<QueryResult<Build>> Queries::builds_of_change(Id changeid, Query query) {
    auto work = [changeid, query = std::move(query)](db::Connection& c) {
        // Buildbot's getBuildsForChange: builds of the buildsets that contain the change's
        // sourcestamp.
        std::vector<db::Field> extra{changeid};
        return run_query<Build>(
            c, detail::kBuildColumns, "FROM builds", query, build_columns(), " ORDER BY id",
            detail::build_from,
            "id IN (SELECT b.id FROM changes ch JOIN buildset_sourcestamps bss ON "
            "bss.sourcestampid = ch.sourcestampid JOIN buildrequests br ON br.buildsetid = "
            "bss.buildsetid JOIN builds b ON b.buildrequestid = br.id WHERE ch.changeid = ?)",
            std::move(extra));
    };
    co_return co_await context_.db.read(std::move(work));
}

asio::awaitable<QueryResult<Change>> Queries::changes(Query query) {
    auto work = [query = std::move(query)](db::Connection& c) {
        auto ids = run_query<Id>(c, "SELECT c.changeid FROM changes c", "FROM changes c", query,
                                 change_columns(), " ORDER BY c.changeid DESC",
                                 [](const db::Row& row) { return row.integer(0); });
        QueryResult<Change> result;
        result.total = ids.total;
        result.is_complete = ids.is_complete;
        result.items.reserve(ids.items.size());
        for (auto changeid : ids.items)
            if (auto change = detail::read_change(c, changeid))
                result.items.push_back(std::move(*change));
        return result;
    };
    co_return co_await context_.db.read(std::move(work));
}

asio::awaitable<std::optional<Change>> Queries::change(Id changeid) {
    auto work = [changeid](db::Connection& c) { return detail::read_change(c, changeid); };
    co_return co_await context_.db.read(std::move(work));
}

asio::awaitable<std::vector<Change>> Queries::changes_of_sourcestamp(Id ssid) {
    auto work = [ssid](db::Connection& c) {
        std::vector<Change> changes;
        if (auto change = change_of_stamp(c, ssid)) changes.push_back(std::move(*change));
        return changes;
    };
    co_return co_await context_.db.read(std::move(work));
}

asio::awaitable<std::vector<Change>> Queries::changes_of_build(Id buildid, std::size_t limit) {
    auto work = [buildid, limit](db::Connection& c) {
        std::vector<Change> changes;
        auto build =
            c.query_one("SELECT builderid, number FROM builds WHERE id = ?", params(buildid));
        if (!build) return changes;
        const auto stamps = stamps_of_build(c, buildid);
        // Per codebase: the change of the build's sourcestamp, then its ancestors back to
        // (not including) the change the previous successful build had (rest-api.md §5.6,
        // data-model.md §8).
        std::map<std::string, Change> from_changes;
        for (auto ssid : stamps)
            if (auto change = change_of_stamp(c, ssid)) {
                auto codebase = change->sourcestamp.codebase;
                from_changes.insert_or_assign(std::move(codebase), std::move(*change));
            }
        std::map<std::string, Id> to_changes;
        if (auto previous = previous_successful_build(c, build->integer(0), build->integer(1),
                                                      source_keys(c, stamps))) {
            for (auto ssid : stamps_of_build(c, *previous))
                if (auto change = change_of_stamp(c, ssid))
                    to_changes[change->sourcestamp.codebase] = change->changeid;
        }
        for (auto& [codebase, first] : from_changes) {
            auto to = to_changes.find(codebase);
            const std::optional<Id> stop =
                to == to_changes.end() ? std::nullopt : std::optional<Id>(to->second);
            if (stop && first.changeid == *stop) continue;
            std::optional<Change> change = std::move(first);
            while (change && changes.size() < limit) {
                const auto parent = change->parent_changeid;
                changes.push_back(std::move(*change));
                if (!parent || parent == stop) break;
                change = detail::read_change(c, *parent);
            }
        }
        return changes;
    };
    co_return co_await context_.db.read(std::move(work));
}

asio::awaitable<QueryResult<BuildRequest>> Queries::buildrequests(Query query) {
    auto work = [query = std::move(query)](db::Connection& c) {
        return run_query<BuildRequest>(
            c, std::string("SELECT ") + detail::kRequestColumns,
            "FROM buildrequests br LEFT JOIN buildrequest_claims cl ON cl.brid = br.id", query,
            request_columns(), " ORDER BY br.id", detail::read_request);
    };
    co_return co_await context_.db.read(std::move(work));
}

asio::awaitable<QueryResult<Buildset>> Queries::buildsets(Query query,
                                                          std::vector<Id> hidden_builderids) {
    std::string visible_where;
    std::vector<db::Field> visible_params;
    if (!hidden_builderids.empty()) {
        visible_where = "id IN (SELECT buildsetid FROM buildrequests WHERE builderid NOT IN (";
        for (std::size_t i = 0; i < hidden_builderids.size(); ++i) {
            visible_where += i == 0 ? "?" : ", ?";
            visible_params.emplace_back(hidden_builderids[i]);
        }
        visible_where += "))";
    }
    auto work = [query = std::move(query), visible_where = std::move(visible_where),
                 visible_params = std::move(visible_params)](db::Connection& c) {
        auto ids = run_query<Id>(
            c, "SELECT id FROM buildsets", "FROM buildsets", query, buildset_columns(),
            " ORDER BY id", [](const db::Row& row) { return row.integer(0); }, visible_where,
            visible_params);
        QueryResult<Buildset> result;
        result.total = ids.total;
        result.is_complete = ids.is_complete;
        result.is_over_limit = ids.is_over_limit;
        for (auto bsid : ids.items)
            if (auto buildset = detail::read_buildset(c, bsid))
                result.items.push_back(std::move(*buildset));
        return result;
    };
    co_return co_await context_.db.read(std::move(work));
}

asio::awaitable<std::vector<Builder>> Queries::builders() {
    // Three queries for all builders, not two more per builder (what read_builder does).
    auto work = [](db::Connection& c) {
        std::vector<Builder> builders;
        std::map<Id, std::size_t> index;
        c.query("SELECT id, name, description FROM builders ORDER BY id", {},
                [&](const db::Row& row) {
                    Builder builder;
                    builder.builderid = row.integer(0);
                    builder.name = row.text(1);
                    builder.description = row.optional_text(2);
                    index.emplace(builder.builderid, builders.size());
                    builders.push_back(std::move(builder));
                });
        auto builder_of = [&](Id builderid) -> Builder* {
            auto found = index.find(builderid);
            return found == index.end() ? nullptr : &builders[found->second];
        };
        c.query("SELECT builders_tags.builderid, tags.name FROM builders_tags JOIN tags ON "
                "builders_tags.tagid = tags.id ORDER BY builders_tags.builderid, tags.name",
                {}, [&](const db::Row& row) {
                    if (auto* builder = builder_of(row.integer(0)))
                        builder->tags.push_back(row.text(1));
                });
        c.query("SELECT builderid, masterid FROM builder_masters ORDER BY builderid, masterid", {},
                [&](const db::Row& row) {
                    if (auto* builder = builder_of(row.integer(0)))
                        builder->masterids.push_back(row.integer(1));
                });
        return builders;
    };
    co_return co_await context_.db.read(std::move(work));
}

asio::awaitable<std::vector<Worker>> Queries::workers() {
    auto work = [](db::Connection& c) {
        std::vector<Worker> workers;
        for (const auto& row : c.query_all("SELECT id FROM workers ORDER BY id"))
            if (auto worker = read_worker(c, row.integer(0))) workers.push_back(std::move(*worker));
        return workers;
    };
    co_return co_await context_.db.read(std::move(work));
}

asio::awaitable<std::vector<Master>> Queries::masters() {
    auto work = [](db::Connection& c) {
        std::vector<Master> masters;
        for (const auto& row : c.query_all("SELECT id FROM masters ORDER BY id"))
            masters.push_back(detail::read_master(c, row.integer(0)));
        return masters;
    };
    co_return co_await context_.db.read(std::move(work));
}

asio::awaitable<QueryResult<SourceStamp>> Queries::sourcestamps(Query query) {
    auto work = [query = std::move(query)](db::Connection& c) {
        auto result = run_query<SourceStamp>(c,
                                             "SELECT id, branch, revision, repository, project, "
                                             "codebase, patchid, created_at FROM sourcestamps",
                                             "FROM sourcestamps", query, sourcestamp_columns(),
                                             " ORDER BY id", detail::read_stamp);
        detail::attach_patches(c, result.items);
        return result;
    };
    co_return co_await context_.db.read(std::move(work));
}

asio::awaitable<std::optional<SourceStamp>> Queries::sourcestamp(Id ssid) {
    auto work = [ssid](db::Connection& c) -> std::optional<SourceStamp> {
        auto row = c.query_one("SELECT id, branch, revision, repository, project, codebase, "
                               "patchid, created_at FROM sourcestamps WHERE id = ?",
                               params(ssid));
        if (!row) return std::nullopt;
        std::vector<SourceStamp> stamps{detail::read_stamp(*row)};
        detail::attach_patches(c, stamps);
        return std::move(stamps.front());
    };
    co_return co_await context_.db.read(std::move(work));
}

asio::awaitable<std::optional<Build>> Queries::build_by_number(Id builderid, int number) {
    auto work = [builderid, number](db::Connection& c) -> std::optional<Build> {
        auto row =
            c.query_one(std::string(detail::kBuildColumns) + " WHERE builderid = ? AND number = ?",
                        params(builderid, number));
        if (!row) return std::nullopt;
        return detail::build_from(*row);
    };
    co_return co_await context_.db.read(std::move(work));
}

asio::awaitable<std::vector<std::pair<std::string, std::int64_t>>>
Queries::pending_requests_by_builder() {
    auto work = [](db::Connection& c) {
        std::vector<std::pair<std::string, std::int64_t>> pending;
        c.query("SELECT b.name, COUNT(br.id) FROM builders b "
                "LEFT JOIN buildrequests br ON br.builderid = b.id AND br.complete = 0 "
                "AND NOT EXISTS (SELECT 1 FROM buildrequest_claims cl WHERE cl.brid = br.id) "
                "GROUP BY b.id, b.name "
                "HAVING COUNT(br.id) > 0 "
                "OR EXISTS (SELECT 1 FROM builder_masters bm WHERE bm.builderid = b.id) "
                "ORDER BY b.name",
                {}, [&](const db::Row& row) { pending.emplace_back(row.text(0), row.integer(1)); });
        return pending;
    };
    co_return co_await context_.db.read(std::move(work));
}

asio::awaitable<std::map<Id, core::Properties>>
Queries::build_properties(std::vector<Id> buildids, std::vector<std::string> names) {
    auto work = [buildids = std::move(buildids), names = std::move(names)](db::Connection& c) {
        std::map<Id, core::Properties> result;
        for (auto buildid : buildids) {
            auto& properties = result[buildid];
            c.query("SELECT name, value, source FROM build_properties WHERE buildid = ?",
                    params(buildid), [&](const db::Row& row) {
                        auto name = row.text(0);
                        if (!names.empty() &&
                            std::find(names.begin(), names.end(), name) == names.end())
                            return;
                        properties.set(name, detail::from_json_text(row.text(1)), row.text(2));
                    });
        }
        return result;
    };
    co_return co_await context_.db.read(std::move(work));
}

asio::awaitable<std::map<Id, core::Properties>>
Queries::buildset_properties(std::vector<Id> bsids, std::vector<std::string> names) {
    auto work = [bsids = std::move(bsids), names = std::move(names)](db::Connection& c) {
        std::map<Id, core::Properties> result;
        for (auto bsid : bsids)
            result[bsid] = read_buildset_properties(c, bsid, names);
        return result;
    };
    co_return co_await context_.db.read(std::move(work));
}

asio::awaitable<std::map<Id, std::string>> Queries::builder_names() {
    auto work = [](db::Connection& c) {
        std::map<Id, std::string> names;
        c.query("SELECT id, name FROM builders", {},
                [&](const db::Row& row) { names.emplace(row.integer(0), row.text(1)); });
        return names;
    };
    co_return co_await context_.db.read(std::move(work));
}

asio::awaitable<std::optional<Id>> Queries::builder_of_build(Id buildid) {
    auto work = [buildid](db::Connection& c) -> std::optional<Id> {
        auto row = c.query_one("SELECT builderid FROM builds WHERE id = ?", params(buildid));
        if (!row) return std::nullopt;
        return row->integer(0);
    };
    co_return co_await context_.db.read(std::move(work));
}

asio::awaitable<std::optional<Id>> Queries::builder_of_step(Id stepid) {
    auto work = [stepid](db::Connection& c) -> std::optional<Id> {
        auto row = c.query_one(
            "SELECT builds.builderid FROM steps JOIN builds ON steps.buildid = builds.id WHERE "
            "steps.id = ?",
            params(stepid));
        if (!row) return std::nullopt;
        return row->integer(0);
    };
    co_return co_await context_.db.read(std::move(work));
}

asio::awaitable<std::optional<Queries::LogPiece>> Queries::log_piece(Id logid,
                                                                     std::int64_t first_line) {
    auto work = [logid, first_line](db::Connection& c) -> std::optional<LogPiece> {
        auto chunk = c.query_one("SELECT last_line FROM logchunks WHERE logid = ? AND last_line >= "
                                 "? ORDER BY last_line LIMIT 1",
                                 params(logid, first_line));
        if (!chunk) return std::nullopt;
        LogPiece piece;
        const auto last_line = chunk->integer(0);
        db::read_log_lines(c, logid, first_line, last_line,
                           [&](std::string_view block) { piece.text.append(block); });
        piece.next_line = last_line + 1;
        return piece;
    };
    co_return co_await context_.db.read(std::move(work));
}

}  // namespace kiln::data
