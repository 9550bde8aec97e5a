// SPDX-License-Identifier: Apache-2.0
// Row readers shared by data/'s stores and its read queries: the SELECT column lists and the
// functions that turn their rows into entities.
#pragma once

#include "data/entities.hpp"
#include "db/database.hpp"

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

namespace kiln::data {
struct SourceStampSpec;
}

namespace kiln::data::detail {

// "SELECT <columns> FROM <table>": append " WHERE ..." etc.
extern const char* const kBuildColumns;
extern const char* const kStepColumns;
extern const char* const kLogColumns;
// "<columns> FROM buildrequests br LEFT JOIN buildrequest_claims cl ...": prefix "SELECT ".
extern const char* const kRequestColumns;

Build build_from(const db::Row& row);
Step step_from(const db::Row& row);
Log log_from(const db::Row& row);
BuildRequest read_request(const db::Row& row);
// Columns: id, branch, revision, repository, project, codebase, patchid, created_at.
SourceStamp read_stamp(const db::Row& row);
std::optional<Buildset> read_buildset(db::Connection& c, Id bsid);
// Fills stamp.patch (without its body) for the stamps that have a patchid.
void attach_patches(db::Connection& c, std::vector<SourceStamp>& stamps);
// The id of the sourcestamp; a patchless one is created at `now` when it is new (deduplicated by
// sourcestamp_hash: identical sources share one row), a patched one always new with its patch.
Id find_or_create_sourcestamp(db::Connection& c, const SourceStampSpec& stamp, Epoch now);
// Changes with their files, properties and sourcestamp: `rest` follows
// "SELECT ... FROM changes c JOIN sourcestamps ss ..." ("WHERE c.changeid = ?", ORDER BY...).
std::vector<Change> read_changes(db::Connection& c, std::string_view rest,
                                 std::span<const db::Field> parameters);
std::optional<Change> read_change(db::Connection& c, Id changeid);
// Stores (or replaces) an object's state value (ObjectState::set inside a transaction).
void write_object_state(db::Connection& c, Id objectid, const std::string& state_name,
                        const boost::json::value& value);
// Row columns: id, name, description; reads tags and masters.
Builder read_builder(db::Connection& c, const db::Row& row);
// Throws db::DatabaseError when there is no such master.
Master read_master(db::Connection& c, Id masterid);

}  // namespace kiln::data::detail
