// SPDX-License-Identifier: Apache-2.0
// ResultSpec: the query parameters of a REST GET (Buildbot's result spec: field__op filters,
// order, limit, offset, field, property), parsed with Buildbot 3.7's rules and messages
// (specs/rest-api.md §3), and the in-memory filtering, ordering, paging and field selection
// for what the database did not do.
#pragma once

#include "core/expected.hpp"
#include "data/query.hpp"
#include "www/resource_types.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>

namespace kiln::www {

using QueryParams = std::vector<std::pair<std::string, std::string>>;

// Splits and percent-decodes a query string ('+' is a space). Bad escapes are an error.
core::Expected<QueryParams> parse_query_string(std::string_view query);

struct ResultSpec {
    std::vector<data::Filter> filters;
    std::vector<data::OrderKey> order;
    std::optional<std::int64_t> limit;
    std::optional<std::int64_t> offset;
    std::vector<std::string> fields;      // empty: every field
    std::vector<std::string> properties;  // property=: names, or "*"

    bool wants_properties() const { return !properties.empty(); }
    // Names for a property read: empty for all ("*").
    std::vector<std::string> property_names() const;
    data::Query to_query() const;
};

// Parses params for a resource type. Errors are bad_input with Buildbot's messages
// ("unrecognized query parameter 'x'", "invalid filter value for f", "no such field 'f'",
// "invalid limit", "this is not a collection", ...).
core::Expected<ResultSpec> parse_result_spec(const QueryParams& params, const ResourceType& type,
                                             bool is_collection);

// True when the item's field value passes the filter (SQL-like: a null never compares).
bool filter_matches(const data::Filter& filter, const boost::json::value& field_value);

// Orders items by keys (stable; null sorts first ascending, last descending).
void sort_items(std::vector<boost::json::object>& items, const std::vector<data::OrderKey>& order);

// Applies the filters, the order, then offset and limit; returns the number of items that
// matched before offset and limit (meta.total).
std::int64_t apply_in_memory(std::vector<boost::json::object>& items, const ResultSpec& spec);

// Keeps only the fields field= asked for (no-op without field=).
void select_fields(boost::json::object& item, const std::vector<std::string>& fields);

}  // namespace kiln::www
