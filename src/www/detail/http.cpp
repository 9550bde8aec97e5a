// SPDX-License-Identifier: Apache-2.0
#include "www/detail/http.hpp"

#include "www/result_spec.hpp"

namespace kiln::www::detail {

namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

std::optional<std::string> query_parameter(const io::HttpRequest& request, std::string_view name) {
    auto params = parse_query_string(request.query());
    if (!params) return std::nullopt;
    for (auto& [key, value] : params.value())
        if (key == name) return std::move(value);
    return std::nullopt;
}

}  // namespace kiln::www::detail
