// SPDX-License-Identifier: Apache-2.0
#include "data/detail/query_sql.hpp"

#include <limits>

namespace kiln::data::detail {

namespace {

db::Field to_field(const boost::json::value& value) {
    if (value.is_bool()) return std::int64_t{value.get_bool() ? 1 : 0};
    if (value.is_int64()) return value.get_int64();
    if (value.is_uint64()) return static_cast<std::int64_t>(value.get_uint64());
    if (value.is_double()) return value.get_double();
    if (value.is_string()) return std::string(value.get_string());
    return nullptr;
}

// '%', '_' and the escape character itself are literal in a contains filter.
std::string like_pattern(const boost::json::value& value) {
    std::string text = value.is_string() ? std::string(value.get_string()) : "";
    std::string pattern = "%";
    for (char c : text) {
        if (c == '%' || c == '_' || c == '\\') pattern += '\\';
        pattern += c;
    }
    pattern += '%';
    return pattern;
}

std::string placeholders(std::size_t count) {
    std::string text;
    for (std::size_t i = 0; i < count; ++i)
        text += i == 0 ? "?" : ", ?";
    return text;
}

std::string plain_clause(const Filter& filter, const std::string& column,
                         std::vector<db::Field>& params) {
    const auto count = filter.values.size();
    if (count == 0) return {};
    auto add_all = [&] {
        for (const auto& value : filter.values)
            params.push_back(to_field(value));
    };
    switch (filter.op) {
    case FilterOp::eq:
    case FilterOp::in:
        if (count == 1 && filter.op == FilterOp::eq) {
            params.push_back(to_field(filter.values[0]));
            return column + " = ?";
        }
        add_all();
        return column + " IN (" + placeholders(count) + ")";
    case FilterOp::ne:
    case FilterOp::notin:
        if (count == 1 && filter.op == FilterOp::ne) {
            params.push_back(to_field(filter.values[0]));
            return column + " <> ?";
        }
        add_all();
        return column + " NOT IN (" + placeholders(count) + ")";
    case FilterOp::lt:
    case FilterOp::le:
    case FilterOp::gt:
    case FilterOp::ge: {
        if (count != 1) return {};
        static constexpr std::string_view kSymbols[] = {"<", "<=", ">", ">="};
        const auto index =
            static_cast<std::size_t>(filter.op) - static_cast<std::size_t>(FilterOp::lt);
        params.push_back(to_field(filter.values[0]));
        return column + " " + std::string(kSymbols[index]) + " ?";
    }
    case FilterOp::contains: {
        std::string clause;
        for (const auto& value : filter.values) {
            if (!value.is_string()) return {};
            if (!clause.empty()) clause += " OR ";
            clause += column + " LIKE ? ESCAPE '\\'";
            params.push_back(like_pattern(value));
        }
        return count == 1 ? clause : "(" + clause + ")";
    }
    }
    return {};
}

std::string clause_for(const Filter& filter, const ColumnMap& columns,
                       std::vector<db::Field>& params) {
    auto found = columns.find(filter.field);
    if (found == columns.end()) return {};
    const auto& column = found->second;
    const auto size_before = params.size();
    auto clause = column.special ? column.special(filter, params)
                                 : plain_clause(filter, column.expression, params);
    if (clause.empty()) params.resize(size_before);
    return clause;
}

}  // namespace

std::string boolean_clause(const Filter& filter, std::string_view true_sql,
                           std::string_view false_sql) {
    if (filter.values.size() != 1 || !filter.values[0].is_bool()) return {};
    if (filter.op != FilterOp::eq && filter.op != FilterOp::ne) return {};
    const bool wanted = filter.values[0].get_bool() == (filter.op == FilterOp::eq);
    return std::string(wanted ? true_sql : false_sql);
}

CompiledQuery compile_query(const Query& query, const ColumnMap& columns, std::string extra_where,
                            std::vector<db::Field> extra_params) {
    CompiledQuery compiled;
    compiled.is_complete = true;
    std::vector<std::string> clauses;
    if (!extra_where.empty()) clauses.push_back(std::move(extra_where));
    compiled.params = std::move(extra_params);
    for (const auto& filter : query.filters) {
        auto clause = clause_for(filter, columns, compiled.params);
        if (clause.empty())
            compiled.is_complete = false;
        else
            clauses.push_back(std::move(clause));
    }
    for (std::size_t i = 0; i < clauses.size(); ++i)
        compiled.where += (i == 0 ? " WHERE (" : " AND (") + clauses[i] + ")";

    std::string order;
    for (const auto& key : query.order) {
        auto found = columns.find(key.field);
        if (found == columns.end() || found->second.expression.empty()) {
            compiled.is_complete = false;
            break;
        }
        order += (order.empty() ? " ORDER BY " : ", ") + found->second.expression +
                 (key.descending ? " DESC" : " ASC");
    }
    if (!compiled.is_complete) return compiled;
    compiled.order_by = order;
    if (query.limit || query.offset > 0) {
        compiled.paging = " LIMIT ? OFFSET ?";
        compiled.paging_params = {
            query.limit ? *query.limit : std::numeric_limits<std::int64_t>::max(), query.offset};
    }
    return compiled;
}

std::vector<Filter> filters_left(const Query& query, const ColumnMap& columns) {
    std::vector<Filter> left;
    std::vector<db::Field> scratch;
    for (const auto& filter : query.filters)
        if (clause_for(filter, columns, scratch).empty()) left.push_back(filter);
    return left;
}

}  // namespace kiln::data::detail
