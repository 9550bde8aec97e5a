// SPDX-License-Identifier: Apache-2.0
// Buildsets and build requests: a reason to build (sourcestamps, properties) and one
// request per builder; the request life cycle (claim, unclaim, complete, cancel) and the
// buildset completing when its last request does.
#pragma once

#include "data/context.hpp"

#include <map>
#include <set>
#include <utility>

#include <boost/asio/awaitable.hpp>

namespace kiln::data {

// A patch to store with a new sourcestamp (a try job's diff).
struct PatchSpec {
    int level = 1;
    std::string body;  // the diff's bytes
    std::string author;
    std::string comment;
    std::optional<std::string> subdir;
};

struct SourceStampSpec {
    std::optional<std::string> branch;
    std::optional<std::string> revision;
    std::string repository;
    std::string project;
    std::string codebase;
    // A patch makes a new sourcestamp every time (patches are never deduplicated).
    std::optional<PatchSpec> patch = std::nullopt;
};

struct NewBuildset {
    std::string reason;
    std::vector<SourceStampSpec> sourcestamps;  // empty: one all-empty stamp, as a force does
    core::Properties properties;
    std::vector<Id> builderids;
    std::string scheduler;  // announced in buildsets/N/new
    std::optional<std::string> external_idstring;
    std::optional<Id> parent_buildid;
    std::optional<std::string> parent_relationship;
    int priority = 0;
    bool waited_for = false;
};

struct AddedBuildset {
    Id bsid = 0;
    std::map<Id, Id> request_by_builder;  // builderid -> buildrequestid
};

// What collapsing compares of a buildset (Buildbot's default collapse rule).
struct CollapseInfo {
    std::vector<SourceStamp> sourcestamps;
    std::set<Id> ssids_with_changes;  // its sourcestamps that a change was made from
    core::Properties properties;
};

// The dedup key of a sourcestamp (data-model.md §2.9).
std::string sourcestamp_hash(const SourceStampSpec& stamp, std::optional<Id> patchid);

class Buildsets {
public:
    explicit Buildsets(Context& context)
        : context_(context) {}

    // Stores the buildset, its properties and stamps and one request per builder in one
    // transaction, then announces buildrequests/N/new and buildsets/N/new.
    boost::asio::awaitable<AddedBuildset> add(NewBuildset buildset);

    // Unclaimed, incomplete requests of a builder, highest priority then oldest first; at
    // most limit of them (0: all).
    boost::asio::awaitable<std::vector<BuildRequest>> pending(Id builderid, int limit = 0);
    // Builders that have incomplete requests, in builderid order: every builder with a
    // pending (unclaimed) one, and maybe some whose incomplete requests are all claimed
    // (running). Costs one index probe per builder listed, not a scan of the queue.
    boost::asio::awaitable<std::vector<Id>> builders_with_pending();
    // Claims the requests for the master; false (nothing claimed) if any is already claimed.
    boost::asio::awaitable<bool> claim(std::vector<Id> brids, Id masterid);
    // Returns the master's claims on the requests (they become pending again).
    boost::asio::awaitable<void> unclaim(std::vector<Id> brids, Id masterid);
    // Completes the requests with results, then their buildsets if nothing is left.
    boost::asio::awaitable<void> complete(std::vector<Id> brids, int results);
    // Claims (if unclaimed) and completes a pending request with CANCELLED; false if it
    // was already claimed by a build or complete.
    boost::asio::awaitable<bool> cancel(Id brid, Id masterid);

    // Collapsing (the build request distributor): what the rule compares, per buildset.
    boost::asio::awaitable<std::map<Id, CollapseInfo>> collapse_info(std::vector<Id> bsids);
    // Completes requests the master claimed and collapsed into the build `buildid` with
    // SKIPPED, recording the build that covered each; then their buildsets if nothing is left.
    boost::asio::awaitable<void> complete_collapsed(std::vector<Id> brids, Id buildid);
    // The build a collapsed request was covered by.
    boost::asio::awaitable<std::optional<Id>> covering_build(Id brid);

    // Returns the buildset once it is complete (at once if it is). Throws std::out_of_range
    // when there is no such buildset. Cancellable.
    boost::asio::awaitable<Buildset> wait_complete(Id bsid);

    boost::asio::awaitable<std::optional<BuildRequest>> get_request(Id brid);
    boost::asio::awaitable<std::optional<Buildset>> get(Id bsid);
    boost::asio::awaitable<core::Properties> properties(Id bsid);
    // get() and properties() in one read (what a starting build needs).
    boost::asio::awaitable<std::pair<std::optional<Buildset>, core::Properties>>
    get_with_properties(Id bsid);
    // The diff's bytes of a stored patch (nullopt: no such patch).
    boost::asio::awaitable<std::optional<std::string>> patch_body(Id patchid);

private:
    Context& context_;
};

// Reads one request (with its claim), inside a transaction.
std::optional<BuildRequest> read_one_request(db::Connection& c, Id brid);

}  // namespace kiln::data
