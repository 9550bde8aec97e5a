// SPDX-License-Identifier: Apache-2.0
#include "www/result_spec.hpp"

#include <algorithm>
#include <charconv>
#include <map>

namespace kiln::www {

namespace {

using core::ErrorKind;

core::Error bad(std::string message) {
    return core::Error{ErrorKind::bad_input, std::move(message)};
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

core::Expected<std::string> percent_decode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '+') {
            out += ' ';
        } else if (c == '%') {
            const int high = i + 1 < text.size() ? hex_value(text[i + 1]) : -1;
            const int low = i + 2 < text.size() ? hex_value(text[i + 2]) : -1;
            if (high < 0 || low < 0) return bad("invalid percent-encoding in the query string");
            out += static_cast<char>(high * 16 + low);
            i += 2;
        } else {
            out += c;
        }
    }
    return out;
}

std::optional<std::int64_t> parse_int(std::string_view text) {
    std::int64_t value = 0;
    const char* begin = text.data();
    const char* end = begin + text.size();
    auto [ptr, ec] = std::from_chars(begin, end, value);
    if (ec != std::errc() || ptr != end || begin == end) return std::nullopt;
    return value;
}

bool is_object_valued(const FieldType& type) {
    switch (type.kind) {
    case FieldKind::jsonobject:
    case FieldKind::sourcedproperties:
    case FieldKind::entity:
    case FieldKind::binary: return true;
    case FieldKind::list:
        return type.element == FieldKind::entity || type.element == FieldKind::jsonobject;
    default: return false;
    }
}

bool op_allowed(data::FilterOp op, std::size_t value_count) {
    if (value_count == 1) return true;
    switch (op) {
    case data::FilterOp::eq:
    case data::FilterOp::ne:
    case data::FilterOp::contains:
    case data::FilterOp::in:
    case data::FilterOp::notin: return true;
    default: return false;
    }
}

// -1, 0, 1; null first; numbers by value; then bools, strings; other kinds equal.
int compare(const boost::json::value& a, const boost::json::value& b) {
    auto rank = [](const boost::json::value& v) {
        if (v.is_null()) return 0;
        if (v.is_bool()) return 1;
        if (v.is_number()) return 2;
        if (v.is_string()) return 3;
        return 4;
    };
    const int ra = rank(a), rb = rank(b);
    if (ra != rb) return ra < rb ? -1 : 1;
    if (a.is_bool()) return a.get_bool() == b.get_bool() ? 0 : (a.get_bool() ? 1 : -1);
    if (a.is_number()) {
        if (a.is_double() || b.is_double()) {
            const double x = a.to_number<double>(), y = b.to_number<double>();
            return x < y ? -1 : (x > y ? 1 : 0);
        }
        const auto x = a.to_number<std::int64_t>(), y = b.to_number<std::int64_t>();
        return x < y ? -1 : (x > y ? 1 : 0);
    }
    if (a.is_string()) {
        const int c = a.get_string().compare(b.get_string());
        return c < 0 ? -1 : (c > 0 ? 1 : 0);
    }
    return 0;
}

bool equal(const boost::json::value& a, const boost::json::value& b) {
    if (a.is_null() || b.is_null()) return false;
    return compare(a, b) == 0;
}

bool contains_one(const boost::json::value& field, const boost::json::value& wanted) {
    if (field.is_string() && wanted.is_string())
        return std::string_view(field.get_string()).find(std::string_view(wanted.get_string())) !=
               std::string_view::npos;
    if (const auto* list = field.if_array())
        return std::any_of(list->begin(), list->end(),
                           [&](const boost::json::value& item) { return equal(item, wanted); });
    return false;
}

bool in_values(const boost::json::value& field, const std::vector<boost::json::value>& values) {
    if (const auto* list = field.if_array())  // list fields: membership of any element
        return std::any_of(list->begin(), list->end(), [&](const boost::json::value& item) {
            return std::any_of(values.begin(), values.end(),
                               [&](const boost::json::value& v) { return equal(item, v); });
        });
    return std::any_of(values.begin(), values.end(),
                       [&](const boost::json::value& v) { return equal(field, v); });
}

}  // namespace

core::Expected<QueryParams> parse_query_string(std::string_view query) {
    QueryParams params;
    while (!query.empty()) {
        const auto amp = query.find('&');
        auto part = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        if (part.empty()) continue;
        const auto eq = part.find('=');
        auto name = percent_decode(part.substr(0, eq));
        if (!name) return name.error();
        auto value =
            percent_decode(eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1));
        if (!value) return value.error();
        params.emplace_back(std::move(name).value(), std::move(value).value());
    }
    return params;
}

std::vector<std::string> ResultSpec::property_names() const {
    if (std::find(properties.begin(), properties.end(), "*") != properties.end()) return {};
    return properties;
}

data::Query ResultSpec::to_query() const {
    data::Query query;
    query.filters = filters;
    query.order = order;
    query.limit = limit;
    query.offset = offset.value_or(0);
    return query;
}

core::Expected<ResultSpec> parse_result_spec(const QueryParams& params, const ResourceType& type,
                                             bool is_collection) {
    // Values by parameter name, in first-appearance order (indexed: a query string may hold
    // thousands of parameters).
    std::vector<std::pair<std::string, std::vector<std::string>>> grouped;
    std::map<std::string_view, std::size_t> index;
    for (const auto& param : params) {
        auto [found, is_new] = index.try_emplace(param.first, grouped.size());
        if (is_new)
            grouped.push_back({param.first, {param.second}});
        else
            grouped[found->second].second.push_back(param.second);
    }

    ResultSpec spec;
    for (const auto& [name, values] : grouped) {
        if (name == "order") {
            for (const auto& key : values) {
                const bool descending = !key.empty() && key[0] == '-';
                auto field = descending ? key.substr(1) : key;
                if (type.has_fields && !type.find(field))
                    return bad("no such field '" + field + "'");
                spec.order.push_back({std::move(field), descending});
            }
        } else if (name == "field") {
            for (const auto& field : values) {
                if (type.has_fields && !type.find(field))
                    return bad("no such field '" + field + "'");
                if (std::find(spec.fields.begin(), spec.fields.end(), field) == spec.fields.end())
                    spec.fields.push_back(field);
            }
        } else if (name == "limit") {
            auto limit = parse_int(values.front());
            if (!limit) return bad("invalid limit");
            spec.limit = *limit;
        } else if (name == "offset") {
            auto offset = parse_int(values.front());
            if (!offset) return bad("invalid offset");
            spec.offset = *offset;
        } else if (name == "property") {
            spec.properties.insert(spec.properties.end(), values.begin(), values.end());
        } else if (const auto* field = type.find(name)) {
            data::Filter filter{name, data::FilterOp::eq, {}};
            for (const auto& text : values) {
                std::optional<boost::json::value> converted;
                if (!is_object_valued(field->type))
                    converted = convert_filter_value(field->type, text);
                if (!converted) return bad("invalid filter value for " + name);
                filter.values.push_back(std::move(*converted));
            }
            spec.filters.push_back(std::move(filter));
        } else if (const auto split = name.rfind("__"); split != std::string::npos) {
            const auto field_name = name.substr(0, split);
            const auto op = data::filter_op_from_string(std::string_view(name).substr(split + 2));
            const auto* op_field = type.find(field_name);
            // Buildbot ignores an unknown operator or field here (rest-api.md §13 #3).
            if (!op || !op_field || !op_allowed(*op, values.size())) continue;
            data::Filter filter{field_name, *op, {}};
            for (const auto& text : values) {
                std::optional<boost::json::value> converted;
                if (!is_object_valued(op_field->type))
                    converted = convert_filter_value(op_field->type, text);
                if (!converted) return bad("invalid filter value for " + name);
                filter.values.push_back(std::move(*converted));
            }
            spec.filters.push_back(std::move(filter));
        } else {
            return bad("unrecognized query parameter '" + name + "'");
        }
    }

    if (!type.has_fields && (!spec.fields.empty() || !spec.filters.empty()))
        return bad("field selection and filters do not apply to properties");
    if (!spec.fields.empty()) {
        auto selected = [&](const std::string& field) {
            return std::find(spec.fields.begin(), spec.fields.end(), field) != spec.fields.end();
        };
        for (const auto& key : spec.order)
            if (!selected(key.field)) return bad("cannot order on un-selected fields");
        for (const auto& filter : spec.filters)
            if (!selected(filter.field)) return bad("cannot filter on un-selected fields");
    }
    if (!is_collection && !spec.filters.empty()) return bad("this is not a collection");
    return spec;
}

bool filter_matches(const data::Filter& filter, const boost::json::value& field_value) {
    using data::FilterOp;
    const auto& values = filter.values;
    if (values.empty()) return true;
    switch (filter.op) {
    case FilterOp::eq:
    case FilterOp::in: return in_values(field_value, values);
    case FilterOp::ne:
    case FilterOp::notin: return !in_values(field_value, values);
    case FilterOp::lt: return !field_value.is_null() && compare(field_value, values[0]) < 0;
    case FilterOp::le: return !field_value.is_null() && compare(field_value, values[0]) <= 0;
    case FilterOp::gt: return !field_value.is_null() && compare(field_value, values[0]) > 0;
    case FilterOp::ge: return !field_value.is_null() && compare(field_value, values[0]) >= 0;
    case FilterOp::contains:
        return std::any_of(values.begin(), values.end(), [&](const boost::json::value& v) {
            return contains_one(field_value, v);
        });
    }
    return false;
}

void sort_items(std::vector<boost::json::object>& items, const std::vector<data::OrderKey>& order) {
    if (order.empty()) return;
    static const boost::json::value null_value;
    std::stable_sort(items.begin(), items.end(),
                     [&](const boost::json::object& a, const boost::json::object& b) {
                         for (const auto& key : order) {
                             const auto* va = a.if_contains(key.field);
                             const auto* vb = b.if_contains(key.field);
                             int c = compare(va ? *va : null_value, vb ? *vb : null_value);
                             if (key.descending) c = -c;
                             if (c != 0) return c < 0;
                         }
                         return false;
                     });
}

std::int64_t apply_in_memory(std::vector<boost::json::object>& items, const ResultSpec& spec) {
    static const boost::json::value null_value;
    if (!spec.filters.empty()) {
        std::erase_if(items, [&](const boost::json::object& item) {
            for (const auto& filter : spec.filters) {
                const auto* value = item.if_contains(filter.field);
                if (!filter_matches(filter, value ? *value : null_value)) return true;
            }
            return false;
        });
    }
    sort_items(items, spec.order);
    const auto total = static_cast<std::int64_t>(items.size());
    const auto offset = std::clamp<std::int64_t>(spec.offset.value_or(0), 0, total);
    items.erase(items.begin(), items.begin() + offset);
    if (spec.limit) {
        const auto limit = std::clamp<std::int64_t>(*spec.limit, 0, total - offset);
        items.resize(static_cast<std::size_t>(limit));
    }
    return total;
}

void select_fields(boost::json::object& item, const std::vector<std::string>& fields) {
    if (fields.empty()) return;
    boost::json::object selected(item.storage());
    for (const auto& field : fields)
        if (auto* value = item.if_contains(field)) selected[field] = std::move(*value);
    item = std::move(selected);
}

}  // namespace kiln::www
