// SPDX-License-Identifier: Apache-2.0
#include "data/query.hpp"

#include <array>
#include <utility>

namespace kiln::data {

namespace {

constexpr std::array<std::pair<FilterOp, std::string_view>, 9> kOps{{
    {FilterOp::eq, "eq"},
    {FilterOp::ne, "ne"},
    {FilterOp::lt, "lt"},
    {FilterOp::le, "le"},
    {FilterOp::gt, "gt"},
    {FilterOp::ge, "ge"},
    {FilterOp::contains, "contains"},
    {FilterOp::in, "in"},
    {FilterOp::notin, "notin"},
}};

}  // namespace

std::string_view to_string(FilterOp op) {
    for (const auto& [value, name] : kOps)
        if (value == op) return name;
    return "eq";
}

std::optional<FilterOp> filter_op_from_string(std::string_view name) {
    for (const auto& [value, text] : kOps)
        if (text == name) return value;
    return std::nullopt;
}

}  // namespace kiln::data
