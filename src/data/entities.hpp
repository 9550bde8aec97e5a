// SPDX-License-Identifier: Apache-2.0
// The resources data/ stores and announces, with the JSON shapes of Buildbot's REST API v2
// (../shared/specs/rest-api.md §5). Times are epoch seconds. A to_json() taking a storage
// allocates the object there (the REST API builds a whole answer in one monotonic arena).
#pragma once

#include "core/properties.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

namespace kiln::data {

using Id = std::int64_t;
using Epoch = std::int64_t;

struct Master {
    Id masterid = 0;
    std::string name;
    bool active = false;
    Epoch last_active = 0;
    boost::json::object to_json() const;
};

struct Builder {
    Id builderid = 0;
    std::string name;
    std::optional<std::string> description;
    std::vector<std::string> tags;
    std::vector<Id> masterids;
    boost::json::object to_json(boost::json::storage_ptr storage = {}) const;
};

struct Worker {
    Id workerid = 0;
    std::string name;
    boost::json::object workerinfo;
    bool paused = false;
    bool graceful = false;
    std::vector<Id> connected_to;                  // masterids
    std::vector<std::pair<Id, Id>> configured_on;  // (masterid, builderid)
    boost::json::object to_json() const;
};

// A patch a try job carries (table `patches`): applied by the source step after checkout.
// REST shows it as {patchid, level, subdir, author, comment, body}; body is bytes, which
// Buildbot's JSON encoder turns into null, so it is never sent (rest-api.md §5.9).
struct Patch {
    Id patchid = 0;
    int level = 1;
    std::optional<std::string> subdir;
    std::string author;
    std::string comment;
    std::string body;  // the diff's bytes; empty unless loaded (Buildsets::patch_body)
    boost::json::object to_json() const;
};

struct SourceStamp {
    Id ssid = 0;
    std::optional<std::string> branch;
    std::optional<std::string> revision;
    std::string repository;
    std::string project;
    std::string codebase;
    std::optional<Id> patchid;
    Epoch created_at = 0;
    std::optional<Patch> patch;  // when patchid is set (where the reader loads it)
    boost::json::object to_json() const;
};

// A change: one commit (or push) as a change source reported it (rest-api.md §5.6).
struct Change {
    Id changeid = 0;
    std::optional<Id> parent_changeid;  // the API's parent_changeids: [] or [id]
    std::string author;
    std::optional<std::string> committer;
    std::vector<std::string> files;
    std::string comments;
    std::optional<std::string> revision;
    Epoch when_timestamp = 0;
    std::optional<std::string> branch;
    std::optional<std::string> category;
    std::optional<std::string> revlink;
    core::Properties properties;  // source "Change"
    std::string repository;
    std::string project;
    std::string codebase;
    SourceStamp sourcestamp;
    boost::json::object to_json() const;
};

struct Buildset {
    Id bsid = 0;
    std::optional<std::string> external_idstring;
    std::string reason;
    Epoch submitted_at = 0;
    bool complete = false;
    std::optional<Epoch> complete_at;
    int results = -1;
    std::vector<SourceStamp> sourcestamps;
    std::optional<Id> parent_buildid;
    std::optional<std::string> parent_relationship;
    boost::json::object to_json() const;
};

struct BuildRequest {
    Id buildrequestid = 0;
    Id buildsetid = 0;
    Id builderid = 0;
    int priority = 0;
    bool claimed = false;
    std::optional<Epoch> claimed_at;
    std::optional<Id> claimed_by_masterid;
    bool complete = false;
    int results = -1;
    Epoch submitted_at = 0;
    std::optional<Epoch> complete_at;
    bool waited_for = false;
    boost::json::object to_json(boost::json::storage_ptr storage = {}) const;  // properties: null
};

struct Build {
    Id buildid = 0;
    int number = 0;
    Id builderid = 0;
    Id buildrequestid = 0;
    std::optional<Id> workerid;
    Id masterid = 0;
    Epoch started_at = 0;
    std::optional<Epoch> complete_at;
    std::optional<int> results;
    std::string state_string;
    boost::json::object to_json(boost::json::storage_ptr storage = {}) const;  // properties: {}
};

struct StepUrl {
    std::string name;
    std::string url;
    bool operator==(const StepUrl&) const = default;
};

struct Step {
    Id stepid = 0;
    int number = 0;
    std::string name;
    Id buildid = 0;
    std::optional<Epoch> started_at;
    std::optional<Epoch> complete_at;
    std::optional<int> results;
    std::string state_string;
    std::vector<StepUrl> urls;
    bool hidden = false;
    boost::json::object to_json(boost::json::storage_ptr storage = {}) const;
};

struct Log {
    Id logid = 0;
    std::string name;
    std::string slug;
    Id stepid = 0;
    bool complete = false;
    std::int64_t num_lines = 0;
    std::string type;  // "s" stdio, "t" text, "h" html, "d" deleted
    boost::json::object to_json(boost::json::storage_ptr storage = {}) const;
};

// A name made into an identifier of at most max_length characters: every character
// outside [A-Za-z0-9_-] becomes '_' (Buildbot's forceIdentifier).
std::string force_identifier(std::string_view name, std::size_t max_length);

}  // namespace kiln::data
