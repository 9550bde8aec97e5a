// SPDX-License-Identifier: Apache-2.0
// Query: filters, ordering and paging of a collection read, in terms of an entity's fields
// (Buildbot's result spec once parsed), and Page, what a paged read returns. data/ pushes into
// SQL what its column maps cover; www/ applies the rest in memory.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

namespace kiln::data {

enum class FilterOp { eq, ne, lt, le, gt, ge, contains, in, notin };

std::string_view to_string(FilterOp op);
std::optional<FilterOp> filter_op_from_string(std::string_view name);

// field <op> values. Values are already converted to the field's type (integers, strings,
// booleans). With several values eq means "in", ne "not in", contains "any of".
struct Filter {
    std::string field;
    FilterOp op = FilterOp::eq;
    std::vector<boost::json::value> values;
};

struct OrderKey {
    std::string field;
    bool descending = false;
};

struct Query {
    std::vector<Filter> filters;
    std::vector<OrderKey> order;
    std::optional<std::int64_t> limit;
    std::int64_t offset = 0;
    // When the database cannot do all the filtering and ordering (the caller finishes in
    // memory), read at most this many rows; more is reported instead of read. 0: no bound.
    std::int64_t max_unpaged_rows = 0;
};

template <typename T>
struct Page {
    std::vector<T> items;
    std::int64_t total = 0;  // matching items before offset and limit
};

}  // namespace kiln::data
