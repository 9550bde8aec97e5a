// SPDX-License-Identifier: Apache-2.0
// Helpers shared by data/'s stores: binding parameters, reading optional columns, SHA-1
// name hashes and JSON text.
#pragma once

#include "db/database.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

namespace kiln::data::detail {

inline db::Field field(std::nullptr_t) { return nullptr; }
inline db::Field field(std::int64_t value) { return value; }
inline db::Field field(int value) { return std::int64_t{value}; }
inline db::Field field(bool value) { return std::int64_t{value ? 1 : 0}; }
inline db::Field field(std::string_view value) { return std::string(value); }
inline db::Field field(const std::string& value) { return value; }
inline db::Field field(const char* value) { return std::string(value); }
inline db::Field field(db::Blob value) { return value; }
inline db::Field field(const std::optional<std::string>& value) {
    return value ? db::Field(*value) : db::Field(nullptr);
}
inline db::Field field(const std::optional<std::int64_t>& value) {
    return value ? db::Field(*value) : db::Field(nullptr);
}
inline db::Field field(const std::optional<int>& value) {
    return value ? db::Field(std::int64_t{*value}) : db::Field(nullptr);
}

template <typename... Args>
std::array<db::Field, sizeof...(Args)> params(const Args&... args) {
    return {field(args)...};
}

inline std::optional<int> optional_int(const db::Row& row, std::size_t column) {
    auto value = row.optional_integer(column);
    return value ? std::optional<int>(static_cast<int>(*value)) : std::nullopt;
}

// Lowercase hex SHA-1 of the UTF-8 bytes (Buildbot's name_hash columns).
std::string sha1_hex(std::string_view text);

std::string to_json_text(const boost::json::value& value);
// Parses JSON text stored by us or by Buildbot; malformed text gives null.
boost::json::value from_json_text(std::string_view text);

}  // namespace kiln::data::detail
