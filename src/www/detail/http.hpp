// SPDX-License-Identifier: Apache-2.0
// Small helpers over io::HttpRequest for www/'s auth code: case-insensitive comparison and
// query parameters.
#pragma once

#include "io/http_server.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace kiln::www::detail {

bool iequals(std::string_view a, std::string_view b);
// The query's parameter of that name, percent-decoded ('+' as a space); the first if repeated.
std::optional<std::string> query_parameter(const io::HttpRequest& request, std::string_view name);

}  // namespace kiln::www::detail
