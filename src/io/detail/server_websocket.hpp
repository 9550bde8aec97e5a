// SPDX-License-Identifier: Apache-2.0
// What websocket.cpp lends to the other Beast translation unit of io (http_server.cpp): its
// WebSocket connection, created over a TCP stream whose upgrade request another server has
// already read, and the helpers both servers share. Includes Beast, so only io's Beast
// translation units include it.
#pragma once

#include "io/websocket.hpp"

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

namespace kiln::io::detail {

// A server-side WebSocket connection before and after its opening handshake.
class ServerWebSocket : public WebSocketConnection {
public:
    // Answers the upgrade `request` with 101, adding `response_headers` (such as
    // Sec-WebSocket-Protocol), and opens the connection. `already_received` are the bytes the
    // caller read past the request: the first frames, read before anything else. False (logged)
    // when the handshake failed; the connection is then unusable.
    virtual asio::awaitable<bool>
    accept(const boost::beast::http::request<boost::beast::http::string_body>& request,
           std::string already_received,
           std::vector<std::pair<std::string, std::string>> response_headers) = 0;
};

// `handshake_timeout` bounds the opening and the closing handshake; `on_destroy` runs in the
// destructor (for the owner's list of open connections).
std::unique_ptr<ServerWebSocket> make_server_websocket(boost::beast::tcp_stream stream,
                                                       std::string remote_endpoint,
                                                       std::chrono::milliseconds handshake_timeout,
                                                       std::size_t max_message_bytes,
                                                       std::function<void()> on_destroy);

// The checks Beast's accept makes (GET, HTTP/1.1, one Host, the Upgrade and Connection tokens,
// version 13, a 16-byte key), so that a server can refuse a bad upgrade in its own words.
bool is_valid_websocket_upgrade(const boost::beast::http::request_header<>& request);

// "address:port", with brackets around an IPv6 address.
std::string endpoint_string(const boost::asio::ip::tcp::endpoint& endpoint);

// "Kiln/<version>": sent as User-Agent and Server.
std::string product_name();

}  // namespace kiln::io::detail
