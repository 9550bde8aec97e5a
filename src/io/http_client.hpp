// SPDX-License-Identifier: Apache-2.0
// A small HTTP/1.1 client (Boost.Beast behind this header) for the CLI and tests: one request
// per connection, plain HTTP, a deadline for the whole exchange and a cap on the answer's size.
// Request and response reuse HttpServer's plain header struct.
#pragma once

#include "core/expected.hpp"
#include "io/http_server.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

namespace kiln::io {

// The parts of an http:// URL a request needs.
struct HttpUrl {
    std::string host;  // a name or an address (IPv6 without brackets)
    std::uint16_t port = 80;
    std::string path = "/";  // always starts with '/'; the query stays in it
};

// Parses "http://host[:port][/path]"; a URL without a scheme is taken as http. https:// and
// other schemes are refused (the client speaks plain HTTP only).
core::Expected<HttpUrl> parse_http_url(std::string_view url);

struct HttpClientRequest {
    std::string method = "GET";
    std::string host;
    std::uint16_t port = 80;
    std::string target = "/";
    std::vector<HttpHeader> headers;  // Host, Content-Length and User-Agent are added
    std::string body;
    std::chrono::milliseconds timeout{30000};  // connect, send and receive, in all
    std::size_t max_response_bytes = 1024 * 1024;
};

struct HttpClientResponse {
    int status = 0;
    std::string reason;
    std::vector<HttpHeader> headers;
    std::string body;
};

// Sends the request and reads the answer. Throws boost::system::system_error when the server
// cannot be reached, breaks the connection, answers too much, or the deadline passes.
boost::asio::awaitable<HttpClientResponse> http_request(HttpClientRequest request);

// The same, blocking the calling thread on its own event loop (CLI commands).
HttpClientResponse http_request_blocking(HttpClientRequest request);

}  // namespace kiln::io
