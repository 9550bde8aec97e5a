// SPDX-License-Identifier: Apache-2.0
// Small helpers over io::HttpRequest / io::HttpResponse for www/'s auth code: header lookup,
// query parameters, plain responses. They use only the structs' fields.
#pragma once

#include "io/http_server.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace kiln::www::detail {

bool iequals(std::string_view a, std::string_view b);
// The first header of that name (case-insensitive).
std::optional<std::string_view> header(const io::HttpRequest& request, std::string_view name);
// The query's parameter of that name, percent-decoded ('+' as a space); the first if repeated.
std::optional<std::string> query_parameter(const io::HttpRequest& request, std::string_view name);
// A text/plain response.
io::HttpResponse text_response(int status, std::string body);

}  // namespace kiln::www::detail
