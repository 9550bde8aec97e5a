// SPDX-License-Identifier: Apache-2.0
// Queries: the read side of data/ for the HTTP API. Collection reads take a Query (filters,
// order, paging in entity field names); what the store's SQL column map covers runs in the
// database, and Page::is_complete says whether the caller must still filter, order and page
// in memory. Every read runs on the database's reader thread.
#pragma once

#include "data/context.hpp"
#include "data/query.hpp"

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>

namespace kiln::data {

template <typename T>
struct QueryResult {
    std::vector<T> items;
    std::int64_t total = 0;    // when is_complete: matching rows before paging
    bool is_complete = false;  // false: filters/order/paging left for the caller
    // Not complete, and more rows matched what the database could filter than
    // Query::max_unpaged_rows: items holds none of them.
    bool is_over_limit = false;
};

class Queries {
public:
    explicit Queries(Context& context)
        : context_(context) {}

    // Fields: buildid, number, builderid, buildrequestid, workerid, masterid, started_at,
    // complete_at, state_string, results; complete (eq/ne).
    boost::asio::awaitable<QueryResult<Build>> builds(Query query);
    // Fields: buildrequestid, buildsetid, builderid, priority, complete, results,
    // submitted_at, complete_at, waited_for, claimed_at, claimed_by_masterid; claimed.
    boost::asio::awaitable<QueryResult<BuildRequest>> buildrequests(Query query);
    // Fields: bsid, external_idstring, reason, submitted_at, complete, complete_at, results,
    // parent_buildid, parent_relationship. With `hidden_builderids`, only buildsets with a
    // request for another builder (what a restricted reader may see), filtered in SQL so that
    // paging and the total stay right.
    boost::asio::awaitable<QueryResult<Buildset>> buildsets(Query query,
                                                            std::vector<Id> hidden_builderids = {});

    // Builds of the buildsets that contain the change's sourcestamp; fields as builds().
    boost::asio::awaitable<QueryResult<Build>> builds_of_change(Id changeid, Query query);
    // Fields: changeid (the others are left for the caller, as Buildbot does). Without an
    // order, newest first.
    boost::asio::awaitable<QueryResult<Change>> changes(Query query);
    boost::asio::awaitable<std::optional<Change>> change(Id changeid);
    // The newest change of the sourcestamp: zero or one.
    boost::asio::awaitable<std::vector<Change>> changes_of_sourcestamp(Id ssid);
    // The changes a build contains (Buildbot's getChangesForBuild): per codebase, the change
    // of the build's sourcestamp and its ancestors back to the one the builder's previous
    // successful build of the same sources had; at most `limit`.
    boost::asio::awaitable<std::vector<Change>> changes_of_build(Id buildid, std::size_t limit);

    boost::asio::awaitable<std::vector<Builder>> builders();
    boost::asio::awaitable<std::vector<Worker>> workers();
    boost::asio::awaitable<std::vector<Master>> masters();
    // Fields: ssid, branch, revision, repository, project, codebase, created_at.
    boost::asio::awaitable<QueryResult<SourceStamp>> sourcestamps(Query query);
    boost::asio::awaitable<std::optional<SourceStamp>> sourcestamp(Id ssid);

    boost::asio::awaitable<std::optional<Build>> build_by_number(Id builderid, int number);
    // Properties of several builds at once (names empty: all of them).
    boost::asio::awaitable<std::map<Id, core::Properties>>
    build_properties(std::vector<Id> buildids, std::vector<std::string> names);
    // Properties of the buildsets of several requests, by buildset id.
    boost::asio::awaitable<std::map<Id, core::Properties>>
    buildset_properties(std::vector<Id> bsids, std::vector<std::string> names);
    // Builder ids by name (for visibility and name lookups).
    boost::asio::awaitable<std::map<Id, std::string>> builder_names();
    // Build requests waiting for a build (neither claimed nor complete), by builder name, for
    // every builder configured on a master (0 when none wait) and any other that has some.
    boost::asio::awaitable<std::vector<std::pair<std::string, std::int64_t>>>
    pending_requests_by_builder();
    // The builder of a build, step or log (for authorization and visibility).
    boost::asio::awaitable<std::optional<Id>> builder_of_build(Id buildid);
    boost::asio::awaitable<std::optional<Id>> builder_of_step(Id stepid);

    // The log's lines from first_line to the end of the stored chunk that holds it (at most
    // one chunk: about 64 KiB of text), each ending in '\n', and the line after them. Empty
    // at the end of the log. Raw downloads stream a log with it, piece by piece.
    struct LogPiece {
        std::string text;
        std::int64_t next_line = 0;
    };
    boost::asio::awaitable<std::optional<LogPiece>> log_piece(Id logid, std::int64_t first_line);

private:
    Context& context_;
};

}  // namespace kiln::data
