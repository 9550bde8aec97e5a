// SPDX-License-Identifier: Apache-2.0
// Response heads on the wire, built from HttpResponse (http_message.cpp) for http_server.cpp:
// the checks on what a handler answers, the headers the server adds, the body's framing.
#pragma once

#include "io/http_server.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace kiln::io::detail {

enum class Framing { none, content_length, chunked };

// The head of `response`, from the status line to the empty line: the response's headers
// (without Content-Length, Transfer-Encoding and Connection, which the server writes), Server
// and Date unless present (Date from `now`), the framing header, and "Connection: close" unless
// `keep_alive`. Throws std::invalid_argument for what a handler must not send: a status outside
// 200-599, a header name that is not a token, a line break or NUL in a value or the reason.
std::string format_response_head(const HttpResponse& response, Framing framing,
                                 std::uint64_t content_length, bool keep_alive,
                                 std::chrono::system_clock::time_point now);

// The headers a 101 decision adds to the WebSocket upgrade answer (Beast writes Upgrade,
// Connection and Sec-WebSocket-Accept). Throws std::invalid_argument like format_response_head().
std::vector<std::pair<std::string, std::string>>
upgrade_response_headers(const HttpResponse& decision);

// True when the response asks to close the connection: close_connection or "Connection: close".
bool wants_close(const HttpResponse& response);

// 204 and 304 answers never have a body.
bool is_bodiless(int status);

}  // namespace kiln::io::detail
