// SPDX-License-Identifier: Apache-2.0
#include "data/buildsets.hpp"

#include "core/base64.hpp"
#include "core/results.hpp"
#include "data/detail/rows.hpp"
#include "data/detail/sql.hpp"
#include "data/events.hpp"
#include "io/task_group.hpp"

#include <boost/asio/this_coro.hpp>
#include <boost/json/array.hpp>

namespace kiln::data {

using detail::params;
namespace asio = boost::asio;

namespace detail {

const char* const kRequestColumns =
    "br.id, br.buildsetid, br.builderid, br.priority, br.complete, br.results, br.submitted_at, "
    "br.complete_at, br.waited_for, cl.claimed_at, cl.masterid FROM buildrequests br LEFT JOIN "
    "buildrequest_claims cl ON cl.brid = br.id";

BuildRequest read_request(const db::Row& row) {
    BuildRequest request;
    request.buildrequestid = row.integer(0);
    request.buildsetid = row.integer(1);
    request.builderid = row.integer(2);
    request.priority = static_cast<int>(row.integer(3));
    request.complete = row.optional_integer(4).value_or(0) != 0;
    request.results = static_cast<int>(row.optional_integer(5).value_or(-1));
    request.submitted_at = row.integer(6);
    request.complete_at = row.optional_integer(7);
    request.waited_for = row.optional_integer(8).value_or(0) != 0;
    request.claimed_at = row.optional_integer(9);
    request.claimed_by_masterid = row.optional_integer(10);
    request.claimed = request.claimed_at.has_value();
    return request;
}

std::string select_requests(std::string_view where) {
    return std::string("SELECT ") + kRequestColumns + " WHERE " + std::string(where);
}

SourceStamp read_stamp(const db::Row& row) {
    SourceStamp stamp;
    stamp.ssid = row.integer(0);
    stamp.branch = row.optional_text(1);
    stamp.revision = row.optional_text(2);
    stamp.repository = row.text(3);
    stamp.project = row.text(4);
    stamp.codebase = row.text(5);
    stamp.patchid = row.optional_integer(6);
    stamp.created_at = row.integer(7);
    return stamp;
}

std::optional<Buildset> read_buildset(db::Connection& c, Id bsid) {
    auto row = c.query_one("SELECT id, external_idstring, reason, submitted_at, complete, "
                           "complete_at, results, parent_buildid, parent_relationship FROM "
                           "buildsets WHERE id = ?",
                           params(bsid));
    if (!row) return std::nullopt;
    Buildset buildset;
    buildset.bsid = row->integer(0);
    buildset.external_idstring = row->optional_text(1);
    buildset.reason = row->optional_text(2).value_or("");
    buildset.submitted_at = row->integer(3);
    buildset.complete = row->integer(4) != 0;
    buildset.complete_at = row->optional_integer(5);
    buildset.results = static_cast<int>(row->optional_integer(6).value_or(-1));
    buildset.parent_buildid = row->optional_integer(7);
    buildset.parent_relationship = row->optional_text(8);
    c.query("SELECT ss.id, ss.branch, ss.revision, ss.repository, ss.project, ss.codebase, "
            "ss.patchid, ss.created_at FROM buildset_sourcestamps bss JOIN sourcestamps ss ON "
            "bss.sourcestampid = ss.id WHERE bss.buildsetid = ? ORDER BY ss.codebase, ss.id",
            params(bsid),
            [&](const db::Row& r) { buildset.sourcestamps.push_back(read_stamp(r)); });
    attach_patches(c, buildset.sourcestamps);
    return buildset;
}

}  // namespace detail

using detail::kRequestColumns;
using detail::read_buildset;
using detail::read_request;
using detail::read_stamp;
using detail::select_requests;

namespace {

// Completes the buildsets of the given requests whose requests are all complete.
std::vector<Buildset> complete_buildsets(db::Connection& c, const std::vector<Id>& bsids,
                                         Epoch now) {
    std::vector<Buildset> completed;
    for (auto bsid : bsids) {
        int worst = static_cast<int>(core::Results::success);
        bool all_complete = true;
        c.query("SELECT complete, results FROM buildrequests WHERE buildsetid = ?", params(bsid),
                [&](const db::Row& r) {
                    if (r.optional_integer(0).value_or(0) == 0) {
                        all_complete = false;
                        return;
                    }
                    worst = static_cast<int>(core::worst(static_cast<core::Results>(worst),
                                                         static_cast<core::Results>(r.integer(1))));
                });
        if (!all_complete) continue;
        if (c.execute("UPDATE buildsets SET complete = 1, complete_at = ?, results = ? WHERE id = "
                      "? AND complete != 1",
                      params(now, worst, bsid)) == 0)
            continue;
        completed.push_back(*read_buildset(c, bsid));
    }
    return completed;
}

void announce_complete(bus::Bus& bus, const Buildset& buildset) {
    auto payload = buildset.to_json();
    payload.erase("parent_buildid");
    payload.erase("parent_relationship");
    bus.publish({{"buildsets", std::to_string(buildset.bsid), "complete"}}, std::move(payload));
}

}  // namespace

std::optional<BuildRequest> read_one_request(db::Connection& c, Id brid) {
    auto row = c.query_one(select_requests("br.id = ?"), params(brid));
    if (!row) return std::nullopt;
    return read_request(*row);
}

void detail::attach_patches(db::Connection& c, std::vector<SourceStamp>& stamps) {
    for (auto& stamp : stamps) {
        if (!stamp.patchid) continue;
        auto row = c.query_one("SELECT id, patchlevel, subdir, patch_author, patch_comment FROM "
                               "patches WHERE id = ?",
                               params(*stamp.patchid));
        if (!row) continue;
        Patch patch;
        patch.patchid = row->integer(0);
        patch.level = static_cast<int>(row->integer(1));
        patch.subdir = row->optional_text(2);
        patch.author = row->text(3);
        patch.comment = row->text(4);
        stamp.patch = std::move(patch);
    }
}

Id detail::find_or_create_sourcestamp(db::Connection& c, const SourceStampSpec& stamp, Epoch now) {
    std::optional<Id> patchid;
    if (stamp.patch) {
        const auto& patch = *stamp.patch;
        patchid = c.insert("INSERT INTO patches (patchlevel, patch_base64, patch_author, "
                           "patch_comment, subdir) VALUES (?, ?, ?, ?, ?) RETURNING id",
                           params(patch.level, core::base64_encode(patch.body), patch.author,
                                  patch.comment, patch.subdir));
    }
    const auto hash = sourcestamp_hash(stamp, patchid);
    c.execute("INSERT INTO sourcestamps (ss_hash, branch, revision, patchid, repository, "
              "codebase, project, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON "
              "CONFLICT DO NOTHING",
              params(hash, stamp.branch, stamp.revision, patchid, stamp.repository, stamp.codebase,
                     stamp.project, now));
    auto row = c.query_one("SELECT id FROM sourcestamps WHERE ss_hash = ?", params(hash));
    if (!row) throw db::DatabaseError("sourcestamp vanished after its insert");
    return row->integer(0);
}

std::string sourcestamp_hash(const SourceStampSpec& stamp, std::optional<Id> patchid) {
    std::string key;
    auto add = [&](const std::optional<std::string>& value) {
        if (value)
            key += *value;
        else
            key += '\xf5';
    };
    add(stamp.branch);
    key += '\0';
    add(stamp.revision);
    key += '\0';
    add(stamp.repository);
    key += '\0';
    add(stamp.project);
    key += '\0';
    add(stamp.codebase);
    key += '\0';
    add(patchid ? std::optional<std::string>(std::to_string(*patchid)) : std::nullopt);
    return detail::sha1_hex(key);
}

asio::awaitable<AddedBuildset> Buildsets::add(NewBuildset spec) {
    const auto now = context_.now();
    struct Outcome {
        AddedBuildset added;
        Buildset buildset;
        std::vector<BuildRequest> requests;
    };
    if (spec.sourcestamps.empty()) spec.sourcestamps.push_back(SourceStampSpec{});
    auto work = [&spec, now](db::Connection& c) {
        Outcome out;
        const auto bsid = c.insert(
            "INSERT INTO buildsets (external_idstring, reason, submitted_at, complete, results, "
            "parent_buildid, parent_relationship) VALUES (?, ?, ?, 0, -1, ?, ?) RETURNING id",
            params(spec.external_idstring, spec.reason.substr(0, 256), now, spec.parent_buildid,
                   spec.parent_relationship));
        out.added.bsid = bsid;
        for (const auto& [name, property] : spec.properties.all()) {
            boost::json::array pair{property.value, boost::json::string(property.source)};
            c.execute("INSERT INTO buildset_properties (buildsetid, property_name, property_value) "
                      "VALUES (?, ?, ?)",
                      params(bsid, name, detail::to_json_text(pair)));
        }
        for (const auto& stamp : spec.sourcestamps) {
            const auto ssid = detail::find_or_create_sourcestamp(c, stamp, now);
            c.execute("INSERT INTO buildset_sourcestamps (buildsetid, sourcestampid) VALUES (?, ?) "
                      "ON CONFLICT DO NOTHING",
                      params(bsid, ssid));
        }
        for (auto builderid : spec.builderids) {
            const auto brid = c.insert(
                "INSERT INTO buildrequests (buildsetid, builderid, priority, complete, results, "
                "submitted_at, waited_for) VALUES (?, ?, ?, 0, -1, ?, ?) RETURNING id",
                params(bsid, builderid, spec.priority, now, spec.waited_for));
            out.added.request_by_builder[builderid] = brid;
            out.requests.push_back(*read_one_request(c, brid));
        }
        out.buildset = *read_buildset(c, bsid);
        if (spec.builderids.empty()) {
            c.execute(
                "UPDATE buildsets SET complete = 1, complete_at = ?, results = 0 WHERE id = ?",
                params(now, bsid));
        }
        return out;
    };
    auto outcome = co_await context_.db.write(std::move(work));
    for (const auto& request : outcome.requests)
        announce(context_.bus, request, "new");
    auto payload = outcome.buildset.to_json();
    payload.erase("parent_buildid");
    payload.erase("parent_relationship");
    payload["results"] = nullptr;
    payload["scheduler"] = spec.scheduler;
    context_.bus.publish({{"buildsets", std::to_string(outcome.added.bsid), "new"}},
                         std::move(payload));
    if (spec.builderids.empty()) {
        outcome.buildset.complete = true;
        outcome.buildset.complete_at = now;
        outcome.buildset.results = 0;
        announce_complete(context_.bus, outcome.buildset);
    }
    co_return outcome.added;
}

asio::awaitable<std::optional<std::string>> Buildsets::patch_body(Id patchid) {
    auto work = [patchid](db::Connection& c) -> std::optional<std::string> {
        auto row = c.query_one("SELECT patch_base64 FROM patches WHERE id = ?", params(patchid));
        if (!row) return std::nullopt;
        return core::base64_decode(row->text(0));
    };
    co_return co_await context_.db.read(std::move(work));
}

asio::awaitable<std::vector<BuildRequest>> Buildsets::pending(Id builderid, int limit) {
    auto work = [builderid, limit](db::Connection& c) {
        std::vector<BuildRequest> requests;
        std::string sql =
            select_requests("br.builderid = ? AND br.complete = 0 AND cl.brid IS NULL "
                            "ORDER BY br.priority DESC, br.id");
        if (limit > 0) sql += " LIMIT " + std::to_string(limit);
        c.query(sql, params(builderid),
                [&](const db::Row& row) { requests.push_back(read_request(row)); });
        return requests;
    };
    co_return co_await context_.db.read(std::move(work));
}

asio::awaitable<std::vector<Id>> Buildsets::builders_with_pending() {
    auto work = [](db::Connection& c) {
        std::vector<Id> ids;
        // A loose index scan of buildrequests_queue: the smallest builderid with an
        // incomplete request, then the next larger one, and so on. (DISTINCT over the queue
        // read every waiting request on every call: O(queue) per build with a long queue.)
        c.query("WITH RECURSIVE waiting(builderid) AS ("
                " SELECT MIN(builderid) FROM buildrequests WHERE complete = 0"
                " UNION ALL"
                " SELECT (SELECT MIN(br.builderid) FROM buildrequests br"
                " WHERE br.complete = 0 AND br.builderid > waiting.builderid)"
                " FROM waiting WHERE waiting.builderid IS NOT NULL)"
                " SELECT builderid FROM waiting WHERE builderid IS NOT NULL",
                {}, [&](const db::Row& row) { ids.push_back(row.integer(0)); });
        return ids;
    };
    co_return co_await context_.db.read(std::move(work));
}

asio::awaitable<bool> Buildsets::claim(std::vector<Id> brids, Id masterid) {
    const auto now = context_.now();
    auto work = [&brids, masterid,
                 now](db::Connection& c) -> std::optional<std::vector<BuildRequest>> {
        try {
            return c.with_savepoint([&] {
                std::vector<BuildRequest> requests;
                for (auto brid : brids) {
                    c.execute("INSERT INTO buildrequest_claims (brid, masterid, claimed_at) "
                              "VALUES (?, ?, ?)",
                              params(brid, masterid, now));
                    requests.push_back(*read_one_request(c, brid));
                }
                return requests;
            });
        } catch (const db::UniqueViolation&) {
            return std::nullopt;  // another build or master has one of them
        }
    };
    auto claimed = co_await context_.db.write(std::move(work));
    if (!claimed) co_return false;
    for (const auto& request : *claimed)
        announce(context_.bus, request, "claimed");
    co_return true;
}

asio::awaitable<void> Buildsets::unclaim(std::vector<Id> brids, Id masterid) {
    auto work = [&brids, masterid](db::Connection& c) {
        std::vector<BuildRequest> out;
        for (auto brid : brids) {
            if (c.execute("DELETE FROM buildrequest_claims WHERE brid = ? AND masterid = ?",
                          params(brid, masterid)) > 0)
                out.push_back(*read_one_request(c, brid));
        }
        return out;
    };
    auto requests = co_await context_.db.write(std::move(work));
    for (const auto& request : requests)
        announce(context_.bus, request, "unclaimed");
}

asio::awaitable<void> Buildsets::complete(std::vector<Id> brids, int results) {
    const auto now = context_.now();
    struct Outcome {
        std::vector<BuildRequest> requests;
        std::vector<Buildset> buildsets;
    };
    auto work = [&brids, results, now](db::Connection& c) {
        Outcome out;
        std::vector<Id> bsids;
        for (auto brid : brids) {
            if (c.execute("UPDATE buildrequests SET complete = 1, results = ?, complete_at = ? "
                          "WHERE id = ? AND complete != 1",
                          params(results, now, brid)) == 0)
                continue;
            auto request = *read_one_request(c, brid);
            bsids.push_back(request.buildsetid);
            out.requests.push_back(std::move(request));
        }
        out.buildsets = complete_buildsets(c, bsids, now);
        return out;
    };
    auto outcome = co_await context_.db.write(std::move(work));
    for (const auto& request : outcome.requests)
        announce(context_.bus, request, "complete");
    for (const auto& buildset : outcome.buildsets)
        announce_complete(context_.bus, buildset);
}

asio::awaitable<bool> Buildsets::cancel(Id brid, Id masterid) {
    const auto now = context_.now();
    const int cancelled = static_cast<int>(core::Results::cancelled);
    struct Outcome {
        std::optional<BuildRequest> request;
        std::vector<Buildset> buildsets;
    };
    auto work = [brid, masterid, now, cancelled](db::Connection& c) {
        Outcome out;
        auto request = read_one_request(c, brid);
        if (!request || request->complete || request->claimed) return out;
        c.execute("INSERT INTO buildrequest_claims (brid, masterid, claimed_at) VALUES (?, ?, ?)",
                  params(brid, masterid, now));
        c.execute(
            "UPDATE buildrequests SET complete = 1, results = ?, complete_at = ? WHERE id = ?",
            params(cancelled, now, brid));
        out.request = read_one_request(c, brid);
        out.buildsets = complete_buildsets(c, {out.request->buildsetid}, now);
        return out;
    };
    auto outcome = co_await context_.db.write(std::move(work));
    if (!outcome.request) co_return false;
    announce(context_.bus, *outcome.request, "complete");
    auto payload = outcome.request->to_json();
    payload.erase("properties");
    context_.bus.publish({{"buildrequests", std::to_string(brid), "cancel"}}, std::move(payload));
    for (const auto& buildset : outcome.buildsets)
        announce_complete(context_.bus, buildset);
    co_return true;
}

asio::awaitable<std::map<Id, CollapseInfo>> Buildsets::collapse_info(std::vector<Id> bsids) {
    auto work = [bsids = std::move(bsids)](db::Connection& c) {
        std::map<Id, CollapseInfo> infos;
        for (auto bsid : bsids) {
            if (infos.contains(bsid)) continue;
            auto& info = infos[bsid];
            if (auto buildset = read_buildset(c, bsid))
                info.sourcestamps = std::move(buildset->sourcestamps);
            for (const auto& stamp : info.sourcestamps)
                if (c.query_one("SELECT 1 FROM changes WHERE sourcestampid = ? LIMIT 1",
                                params(stamp.ssid)))
                    info.ssids_with_changes.insert(stamp.ssid);
            c.query("SELECT property_name, property_value FROM buildset_properties WHERE "
                    "buildsetid = ?",
                    params(bsid), [&](const db::Row& row) {
                        auto value = detail::from_json_text(row.text(1));
                        if (auto* pair = value.if_array();
                            pair && pair->size() == 2 && (*pair)[1].is_string())
                            info.properties.set(row.text(0), (*pair)[0], (*pair)[1].as_string());
                    });
        }
        return infos;
    };
    co_return co_await context_.db.read(std::move(work));
}

asio::awaitable<void> Buildsets::complete_collapsed(std::vector<Id> brids, Id buildid) {
    const auto now = context_.now();
    const int skipped = static_cast<int>(core::Results::skipped);
    struct Outcome {
        std::vector<BuildRequest> requests;
        std::vector<Buildset> buildsets;
    };
    auto work = [&brids, buildid, now, skipped](db::Connection& c) {
        Outcome out;
        std::vector<Id> bsids;
        for (auto brid : brids) {
            if (c.execute("UPDATE buildrequests SET complete = 1, results = ?, complete_at = ? "
                          "WHERE id = ? AND complete != 1",
                          params(skipped, now, brid)) == 0)
                continue;
            c.execute("INSERT INTO buildrequest_collapses (brid, buildid) VALUES (?, ?) ON "
                      "CONFLICT DO NOTHING",
                      params(brid, buildid));
            auto request = *read_one_request(c, brid);
            bsids.push_back(request.buildsetid);
            out.requests.push_back(std::move(request));
        }
        out.buildsets = complete_buildsets(c, bsids, now);
        return out;
    };
    auto outcome = co_await context_.db.write(std::move(work));
    for (const auto& request : outcome.requests)
        announce(context_.bus, request, "complete");
    for (const auto& buildset : outcome.buildsets)
        announce_complete(context_.bus, buildset);
}

asio::awaitable<std::optional<Id>> Buildsets::covering_build(Id brid) {
    auto work = [brid](db::Connection& c) -> std::optional<Id> {
        auto row =
            c.query_one("SELECT buildid FROM buildrequest_collapses WHERE brid = ?", params(brid));
        if (!row) return std::nullopt;
        return row->integer(0);
    };
    co_return co_await context_.db.read(std::move(work));
}

asio::awaitable<Buildset> Buildsets::wait_complete(Id bsid) {
    auto executor = co_await asio::this_coro::executor;
    // Subscribed before reading, so a completion between the read and the wait is not missed.
    auto event = std::make_shared<io::AsyncEvent>(executor);
    auto is_signalled = std::make_shared<bool>(false);
    auto subscription = context_.bus.subscribe({"buildsets", std::to_string(bsid), "complete"},
                                               [event, is_signalled](const bus::Message&) {
                                                   *is_signalled = true;
                                                   event->notify();
                                               });
    for (;;) {
        auto buildset = co_await get(bsid);
        if (!buildset) throw std::out_of_range("no buildset " + std::to_string(bsid));
        if (buildset->complete) co_return std::move(*buildset);
        while (!*is_signalled) {
            co_await event->wait();
            auto state = co_await asio::this_coro::cancellation_state;
            if (state.cancelled() != asio::cancellation_type::none)
                throw boost::system::system_error(asio::error::operation_aborted);
        }
        *is_signalled = false;
    }
}

asio::awaitable<std::optional<BuildRequest>> Buildsets::get_request(Id brid) {
    auto work = [brid](db::Connection& c) { return read_one_request(c, brid); };
    co_return co_await context_.db.read(std::move(work));
}

asio::awaitable<std::optional<Buildset>> Buildsets::get(Id bsid) {
    auto work = [bsid](db::Connection& c) { return read_buildset(c, bsid); };
    co_return co_await context_.db.read(std::move(work));
}

namespace {
core::Properties read_properties(db::Connection& c, Id bsid) {
    core::Properties properties;
    c.query("SELECT property_name, property_value FROM buildset_properties WHERE buildsetid = ?",
            params(bsid), [&](const db::Row& row) {
                auto value = detail::from_json_text(row.text(1));
                if (auto* pair = value.if_array();
                    pair && pair->size() == 2 && (*pair)[1].is_string())
                    properties.set(row.text(0), (*pair)[0], (*pair)[1].as_string());
                else
                    properties.set(row.text(0), value, "");
            });
    return properties;
}
}  // namespace

asio::awaitable<core::Properties> Buildsets::properties(Id bsid) {
    auto work = [bsid](db::Connection& c) { return read_properties(c, bsid); };
    co_return co_await context_.db.read(std::move(work));
}

asio::awaitable<std::pair<std::optional<Buildset>, core::Properties>>
Buildsets::get_with_properties(Id bsid) {
    auto work = [bsid](db::Connection& c) {
        return std::make_pair(read_buildset(c, bsid), read_properties(c, bsid));
    };
    co_return co_await context_.db.read(std::move(work));
}

}  // namespace kiln::data
