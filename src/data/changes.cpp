// SPDX-License-Identifier: Apache-2.0
#include "data/changes.hpp"

#include "data/buildsets.hpp"
#include "data/detail/rows.hpp"
#include "data/detail/sql.hpp"

#include <boost/json/array.hpp>

namespace kiln::data {

using detail::params;
namespace asio = boost::asio;

namespace detail {

const char* const kChangeColumns =
    "SELECT c.changeid, c.author, c.committer, c.comments, c.branch, c.revision, c.revlink, "
    "c.when_timestamp, c.category, c.repository, c.codebase, c.project, c.parent_changeids, "
    "ss.id, ss.branch, ss.revision, ss.repository, ss.project, ss.codebase, ss.patchid, "
    "ss.created_at FROM changes c JOIN sourcestamps ss ON ss.id = c.sourcestampid";

namespace {

Change change_from(const db::Row& row) {
    Change change;
    change.changeid = row.integer(0);
    change.author = row.text(1);
    change.committer = row.optional_text(2);
    change.comments = row.text(3);
    change.branch = row.optional_text(4);
    change.revision = row.optional_text(5);
    change.revlink = row.optional_text(6);
    change.when_timestamp = row.integer(7);
    change.category = row.optional_text(8);
    change.repository = row.text(9);
    change.codebase = row.text(10);
    change.project = row.text(11);
    change.parent_changeid = row.optional_integer(12);
    auto& stamp = change.sourcestamp;
    stamp.ssid = row.integer(13);
    stamp.branch = row.optional_text(14);
    stamp.revision = row.optional_text(15);
    stamp.repository = row.text(16);
    stamp.project = row.text(17);
    stamp.codebase = row.text(18);
    stamp.patchid = row.optional_integer(19);
    stamp.created_at = row.integer(20);
    return change;
}

void read_satellites(db::Connection& c, Change& change) {
    c.query("SELECT filename FROM change_files WHERE changeid = ?", params(change.changeid),
            [&](const db::Row& row) { change.files.push_back(row.text(0)); });
    c.query("SELECT property_name, property_value FROM change_properties WHERE changeid = ?",
            params(change.changeid), [&](const db::Row& row) {
                auto value = from_json_text(row.text(1));
                // Rows are [value, source]; Buildbot reads a bare (legacy) value with source "".
                if (auto* pair = value.if_array();
                    pair && pair->size() == 2 && (*pair)[1].is_string())
                    change.properties.set(row.text(0), (*pair)[0], (*pair)[1].as_string());
                else
                    change.properties.set(row.text(0), value, "");
            });
}

}  // namespace

std::vector<Change> read_changes(db::Connection& c, std::string_view rest,
                                 std::span<const db::Field> parameters) {
    std::vector<Change> changes;
    c.query(std::string(kChangeColumns) + " " + std::string(rest), parameters,
            [&](const db::Row& row) { changes.push_back(change_from(row)); });
    for (auto& change : changes)
        read_satellites(c, change);
    return changes;
}

std::optional<Change> read_change(db::Connection& c, Id changeid) {
    auto found = read_changes(c, "WHERE c.changeid = ?", params(changeid));
    if (found.empty()) return std::nullopt;
    return std::move(found.front());
}

}  // namespace detail

std::string truncate_utf8(std::string text, std::size_t max_bytes) {
    if (text.size() <= max_bytes) return text;
    std::size_t end = max_bytes;
    // Back up over continuation bytes (10xxxxxx) to the start of the cut character.
    while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80)
        --end;
    text.resize(end);
    return text;
}

namespace {

std::optional<std::string> truncate_optional(std::optional<std::string> text,
                                             std::size_t max_bytes) {
    if (!text) return text;
    return data::truncate_utf8(std::move(*text), max_bytes);
}

// The newest change of the same line of development (Buildbot's getParentChangeIds).
std::optional<Id> parent_of(db::Connection& c, const NewChange& change) {
    std::string sql = "SELECT changeid FROM changes WHERE repository = ? AND project = ? AND "
                      "codebase = ? AND ";
    std::vector<db::Field> fields{change.repository, change.project, change.codebase};
    if (change.branch) {
        sql += "branch = ?";
        fields.emplace_back(*change.branch);
    } else {
        sql += "branch IS NULL";
    }
    sql += " ORDER BY changeid DESC LIMIT 1";
    auto row = c.query_one(sql, fields);
    if (!row) return std::nullopt;
    return row->integer(0);
}

void fit_to_columns(NewChange& change) {
    change.author = truncate_utf8(std::move(change.author), kMaxChangeAuthor);
    change.committer = truncate_optional(std::move(change.committer), kMaxChangeAuthor);
    change.branch = truncate_optional(std::move(change.branch), kMaxChangeBranch);
    change.revision = truncate_optional(std::move(change.revision), kMaxChangeRevision);
    change.revlink = truncate_optional(std::move(change.revlink), kMaxChangeRevlink);
    change.category = truncate_optional(std::move(change.category), kMaxChangeCategory);
    change.repository = truncate_utf8(std::move(change.repository), kMaxChangeRepository);
    change.project = truncate_utf8(std::move(change.project), kMaxChangeProject);
    change.codebase = truncate_utf8(std::move(change.codebase), kMaxChangeCodebase);
    for (auto& file : change.files)
        file = truncate_utf8(std::move(file), kMaxChangeFilename);
}

}  // namespace

namespace {

Change insert_change(db::Connection& c, const NewChange& spec, Epoch now) {
    SourceStampSpec stamp{spec.branch, spec.revision, spec.repository, spec.project, spec.codebase};
    const auto ssid = detail::find_or_create_sourcestamp(c, stamp, now);
    const auto parent = parent_of(c, spec);
    const auto changeid = c.insert(
        "INSERT INTO changes (author, committer, comments, branch, revision, revlink, "
        "when_timestamp, category, repository, codebase, project, sourcestampid, "
        "parent_changeids) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING changeid",
        params(spec.author, spec.committer, spec.comments, spec.branch, spec.revision, spec.revlink,
               spec.when_timestamp.value_or(now), spec.category, spec.repository, spec.codebase,
               spec.project, ssid, parent));
    for (const auto& file : spec.files)
        c.execute("INSERT INTO change_files (changeid, filename) VALUES (?, ?)",
                  params(changeid, file));
    for (const auto& [name, value] : spec.properties) {
        boost::json::array pair{value, boost::json::string("Change")};
        c.execute("INSERT INTO change_properties (changeid, property_name, property_value) "
                  "VALUES (?, ?, ?)",
                  params(changeid, truncate_utf8(std::string(name), kMaxChangePropertyName),
                         detail::to_json_text(pair)));
    }
    auto stored = detail::read_change(c, changeid);
    if (!stored) throw db::DatabaseError("change vanished after its insert");
    return std::move(*stored);
}

}  // namespace

asio::awaitable<Change> Changes::add(NewChange spec) {
    std::vector<NewChange> one;
    one.push_back(std::move(spec));
    std::optional<StateUpdate> no_state;
    auto added = co_await add_all(std::move(one), std::move(no_state));
    co_return std::move(added.front());
}

asio::awaitable<std::vector<Change>> Changes::add_all(std::vector<NewChange> specs,
                                                      std::optional<StateUpdate> state) {
    const auto now = context_.now();
    for (auto& spec : specs)
        fit_to_columns(spec);
    auto work = [&specs, &state, now](db::Connection& c) {
        std::vector<Change> stored;
        stored.reserve(specs.size());
        for (const auto& spec : specs)
            stored.push_back(insert_change(c, spec, now));
        if (state) detail::write_object_state(c, state->objectid, state->name, state->value);
        return stored;
    };
    auto changes = co_await context_.db.write(std::move(work));
    for (const auto& change : changes)
        context_.bus.publish({{"changes", std::to_string(change.changeid), "new"}},
                             change.to_json());
    co_return changes;
}

asio::awaitable<std::optional<Change>> Changes::get(Id changeid) {
    auto work = [changeid](db::Connection& c) { return detail::read_change(c, changeid); };
    co_return co_await context_.db.read(std::move(work));
}

}  // namespace kiln::data
