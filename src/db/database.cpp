// SPDX-License-Identifier: Apache-2.0
// Row accessors and the Connection helpers shared by every backend.
#include "db/database.hpp"

#include <cmath>

namespace kiln::db {

namespace {

std::string_view type_name(const Field& field) {
    switch (field.index()) {
    case 0: return "NULL";
    case 1: return "integer";
    case 2: return "real";
    case 3: return "text";
    case 4: return "blob";
    default: break;
    }
    return "unknown";
}

[[noreturn]] void wrong_type(std::size_t column, std::string_view wanted, const Field& field) {
    throw DatabaseError("column " + std::to_string(column) + ": expected " + std::string(wanted) +
                        ", got " + std::string(type_name(field)));
}

}  // namespace

const Field& Row::field(std::size_t column) const {
    if (column >= fields_.size())
        throw DatabaseError("column " + std::to_string(column) + " out of range (the row has " +
                            std::to_string(fields_.size()) + " columns)");
    return fields_[column];
}

bool Row::is_null(std::size_t column) const {
    return std::holds_alternative<std::nullptr_t>(field(column));
}

std::int64_t Row::integer(std::size_t column) const {
    const auto& value = field(column);
    if (const auto* integer = std::get_if<std::int64_t>(&value)) return *integer;
    if (const auto* real = std::get_if<double>(&value)) {
        // 2^63 is exactly representable; anything at or above it does not fit.
        constexpr double kLimit = 9223372036854775808.0;
        if (std::trunc(*real) == *real && *real >= -kLimit && *real < kLimit)
            return static_cast<std::int64_t>(*real);
    }
    wrong_type(column, "integer", value);
}

std::optional<std::int64_t> Row::optional_integer(std::size_t column) const {
    if (is_null(column)) return std::nullopt;
    return integer(column);
}

double Row::real(std::size_t column) const {
    const auto& value = field(column);
    if (const auto* real = std::get_if<double>(&value)) return *real;
    if (const auto* integer = std::get_if<std::int64_t>(&value))
        return static_cast<double>(*integer);
    wrong_type(column, "real", value);
}

std::string Row::text(std::size_t column) const {
    const auto& value = field(column);
    if (const auto* text = std::get_if<std::string>(&value)) return *text;
    if (const auto* blob = std::get_if<Blob>(&value)) return blob->bytes;
    wrong_type(column, "text", value);
}

std::optional<std::string> Row::optional_text(std::size_t column) const {
    if (is_null(column)) return std::nullopt;
    return text(column);
}

std::string Row::blob(std::size_t column) const {
    const auto& value = field(column);
    if (const auto* blob = std::get_if<Blob>(&value)) return blob->bytes;
    if (const auto* text = std::get_if<std::string>(&value)) return *text;
    wrong_type(column, "blob", value);
}

std::vector<Row> Connection::query_all(std::string_view sql, std::span<const Field> params) {
    std::vector<Row> rows;
    query(sql, params, [&rows](const Row& row) { rows.push_back(row); });
    return rows;
}

std::optional<Row> Connection::query_one(std::string_view sql, std::span<const Field> params) {
    std::optional<Row> first;
    query(sql, params, [&first](const Row& row) {
        if (!first) first = row;
    });
    return first;
}

std::int64_t Connection::insert(std::string_view sql, std::span<const Field> params) {
    auto row = query_one(sql, params);
    if (!row || row->size() == 0)
        throw DatabaseError("insert returned no id (missing RETURNING?): " + std::string(sql));
    return row->integer(0);
}

}  // namespace kiln::db
