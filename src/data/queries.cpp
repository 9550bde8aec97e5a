// SPDX-License-Identifier: Apache-2.0
#include "data/queries.hpp"

#include "data/detail/query_sql.hpp"
#include "data/detail/rows.hpp"
#include "data/detail/sql.hpp"
#include "data/workers.hpp"
#include "db/log_chunks.hpp"

#include <algorithm>

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

// Runs `select` (ending in FROM ... ) with the compiled query; counts the matches when paged.
template <typename T, typename ReadRow>
QueryResult<T> run_query(db::Connection& c, const std::string& select, const std::string& from,
                         const Query& query, const detail::ColumnMap& columns,
                         const std::string& default_order, ReadRow read_row) {
    auto compiled = detail::compile_query(query, columns);
    QueryResult<T> result;
    result.is_complete = compiled.is_complete;
    std::vector<db::Field> all_params = compiled.params;
    all_params.insert(all_params.end(), compiled.paging_params.begin(),
                      compiled.paging_params.end());
    const auto order = compiled.order_by.empty() ? default_order : compiled.order_by;
    c.query(select + compiled.where + order + compiled.paging, all_params,
            [&](const db::Row& row) { result.items.push_back(read_row(row)); });
    if (compiled.is_complete && !compiled.paging.empty()) {
        auto count = c.query_one("SELECT COUNT(*) " + from + compiled.where, compiled.params);
        result.total = count ? count->integer(0) : 0;
    } else {
        result.total = static_cast<std::int64_t>(result.items.size());
    }
    return result;
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

asio::awaitable<QueryResult<BuildRequest>> Queries::buildrequests(Query query) {
    auto work = [query = std::move(query)](db::Connection& c) {
        return run_query<BuildRequest>(
            c, std::string("SELECT ") + detail::kRequestColumns,
            "FROM buildrequests br LEFT JOIN buildrequest_claims cl ON cl.brid = br.id", query,
            request_columns(), " ORDER BY br.id", detail::read_request);
    };
    co_return co_await context_.db.read(std::move(work));
}

asio::awaitable<QueryResult<Buildset>> Queries::buildsets(Query query) {
    auto work = [query = std::move(query)](db::Connection& c) {
        auto ids = run_query<Id>(c, "SELECT id FROM buildsets", "FROM buildsets", query,
                                 buildset_columns(), " ORDER BY id",
                                 [](const db::Row& row) { return row.integer(0); });
        QueryResult<Buildset> result;
        result.total = ids.total;
        result.is_complete = ids.is_complete;
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

asio::awaitable<std::vector<SourceStamp>> Queries::sourcestamps() {
    auto work = [](db::Connection& c) {
        std::vector<SourceStamp> stamps;
        c.query("SELECT id, branch, revision, repository, project, codebase, patchid, created_at "
                "FROM sourcestamps ORDER BY id",
                {}, [&](const db::Row& row) { stamps.push_back(detail::read_stamp(row)); });
        return stamps;
    };
    co_return co_await context_.db.read(std::move(work));
}

asio::awaitable<std::optional<SourceStamp>> Queries::sourcestamp(Id ssid) {
    auto work = [ssid](db::Connection& c) -> std::optional<SourceStamp> {
        auto row = c.query_one("SELECT id, branch, revision, repository, project, codebase, "
                               "patchid, created_at FROM sourcestamps WHERE id = ?",
                               params(ssid));
        if (!row) return std::nullopt;
        return detail::read_stamp(*row);
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
