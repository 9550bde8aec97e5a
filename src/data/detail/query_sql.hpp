// SPDX-License-Identifier: Apache-2.0
// Compiles a data::Query into SQL clauses over a store's column map, with bound parameters,
// in the portable SQL subset every backend speaks.
#pragma once

#include "data/query.hpp"
#include "db/database.hpp"

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace kiln::data::detail {

// How one entity field reads in SQL. `special` handles fields that are not a plain column
// (builds.complete is "complete_at IS NOT NULL"): it returns the clause for a filter, or an
// empty string when that filter cannot be expressed (it is then left for memory). A column
// with an empty expression cannot be ordered on in SQL.
struct Column {
    std::string expression;  // e.g. "b.id"
    std::function<std::string(const Filter&, std::vector<db::Field>&)> special;
};

// The clause of one boolean filter on a 0/1 expression ("x = 1"), or "" when not single eq/ne.
std::string boolean_clause(const Filter& filter, std::string_view true_sql,
                           std::string_view false_sql);
using ColumnMap = std::map<std::string, Column, std::less<>>;

struct CompiledQuery {
    std::string where;     // "" or " WHERE ..."
    std::string order_by;  // "" or " ORDER BY ..."
    std::string paging;    // "" or " LIMIT ? OFFSET ?" (params appended after the where ones)
    std::vector<db::Field> params;
    std::vector<db::Field> paging_params;
    bool is_complete = false;  // every filter and order key went into SQL
};

// Filters the map covers become the WHERE clause (ANDed); the ORDER BY and paging are
// emitted only when every filter and order key is covered (otherwise the caller reads all
// matches and finishes in memory). `extra_where` (already SQL, e.g. a parent's id) is ANDed.
CompiledQuery compile_query(const Query& query, const ColumnMap& columns,
                            std::string extra_where = {}, std::vector<db::Field> extra_params = {});

// The filters compile_query could not put into SQL.
std::vector<Filter> filters_left(const Query& query, const ColumnMap& columns);

}  // namespace kiln::data::detail
