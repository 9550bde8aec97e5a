// SPDX-License-Identifier: Apache-2.0
#include "data/object_state.hpp"

#include "data/detail/rows.hpp"
#include "data/detail/sql.hpp"

namespace kiln::data {

using detail::params;
namespace asio = boost::asio;

namespace {

std::optional<boost::json::value> read_state(db::Connection& c, Id objectid,
                                             const std::string& state_name) {
    auto row = c.query_one("SELECT value_json FROM object_state WHERE objectid = ? AND name = ?",
                           params(objectid, state_name));
    if (!row) return std::nullopt;
    return detail::from_json_text(row->text(0));
}

}  // namespace

asio::awaitable<Id> ObjectState::object_id(std::string name, std::string class_name) {
    auto work = [name, class_name](db::Connection& c) {
        c.execute("INSERT INTO objects (name, class_name) VALUES (?, ?) ON CONFLICT DO NOTHING",
                  params(name, class_name));
        auto row = c.query_one("SELECT id FROM objects WHERE name = ? AND class_name = ?",
                               params(name, class_name));
        if (!row) throw db::DatabaseError("object '" + name + "' vanished after its insert");
        return row->integer(0);
    };
    co_return co_await context_.db.write(std::move(work));
}

asio::awaitable<std::optional<boost::json::value>> ObjectState::get(Id objectid,
                                                                    std::string state_name) {
    auto work = [objectid, state_name](db::Connection& c) {
        return read_state(c, objectid, state_name);
    };
    co_return co_await context_.db.read(std::move(work));
}

void detail::write_object_state(db::Connection& c, Id objectid, const std::string& state_name,
                                const boost::json::value& value) {
    const auto text = to_json_text(value);
    const auto updated =
        c.execute("UPDATE object_state SET value_json = ? WHERE objectid = ? AND name = ?",
                  params(text, objectid, state_name));
    if (updated == 0)
        c.execute("INSERT INTO object_state (objectid, name, value_json) VALUES (?, ?, ?)",
                  params(objectid, state_name, text));
}

asio::awaitable<void> ObjectState::set(Id objectid, std::string state_name,
                                       boost::json::value value) {
    auto work = [objectid, state_name, value](db::Connection& c) {
        detail::write_object_state(c, objectid, state_name, value);
    };
    co_await context_.db.write(std::move(work));
}

asio::awaitable<boost::json::value> ObjectState::get_or_create(Id objectid, std::string state_name,
                                                               boost::json::value initial) {
    auto text = detail::to_json_text(initial);
    auto work = [objectid, state_name, text](db::Connection& c) {
        // Another master may insert between our read and insert: the unique index on
        // (objectid, name) makes the insert a no-op then, and the read-back gives its value.
        c.execute("INSERT INTO object_state (objectid, name, value_json) VALUES (?, ?, ?) "
                  "ON CONFLICT DO NOTHING",
                  params(objectid, state_name, text));
        auto value = read_state(c, objectid, state_name);
        if (!value) throw db::DatabaseError("state '" + state_name + "' vanished after its insert");
        return std::move(*value);
    };
    co_return co_await context_.db.write(std::move(work));
}

}  // namespace kiln::data
