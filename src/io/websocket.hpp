// SPDX-License-Identifier: Apache-2.0
// WebSocket client and server (Boost.Beast, optional TLS) carrying binary messages, with HTTP
// Basic authentication on the upgrade request. All Beast code lives in websocket.cpp so the
// rest of the code base compiles without it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

namespace kiln::io {

namespace asio = boost::asio;

inline constexpr std::size_t kDefaultMaxMessageBytes = 64 * 1024 * 1024;

// One established WebSocket connection. Use it from one executor (no internal locking).
class WebSocketConnection {
public:
    struct Message {
        std::string data;
        bool is_text = false;
    };

    virtual ~WebSocketConnection() = default;

    // The next complete message. An empty optional means the connection is over: the peer
    // closed it (with or without a Close frame), it broke, or abort() was called.
    virtual asio::awaitable<std::optional<Message>> read() = 0;

    // Sends one binary message. Concurrent callers are served in call order; each returns once
    // its message is handed to the socket. Throws boost::system::system_error when the
    // connection is lost.
    virtual asio::awaitable<void> send(std::string payload) = 0;
    // The same for one text message (UTF-8 the caller vouches for).
    virtual asio::awaitable<void> send_text(std::string payload) = 0;

    // Sends a Close frame (empty payload when code is 0), waits a bounded time for the peer's
    // answer, then closes TCP. Never throws.
    virtual asio::awaitable<void> close(std::uint16_t code = 0) = 0;

    // Drops the TCP connection at once (no Close frame). Pending reads and sends fail.
    virtual void abort() = 0;

    // "address:port" of the peer.
    virtual std::string remote_endpoint() const = 0;
};

struct WebSocketClientOptions {
    std::string host;
    std::uint16_t port = 0;
    std::string target = "/";
    bool use_tls = false;
    bool verify_peer = true;  // with TLS: check the certificate against the system trust store
    std::string ca_file;      // with TLS: extra trusted CA file (tests, private CAs)
    // Extra request headers, e.g. {"Authorization", basic_authorization(name, password)}.
    std::vector<std::pair<std::string, std::string>> headers;
    std::chrono::milliseconds connect_timeout{10000};
    std::chrono::milliseconds handshake_timeout{5000};
    std::size_t max_message_bytes = kDefaultMaxMessageBytes;
};

// The server refused the upgrade with an HTTP status (401 Unauthorized, ...).
class HandshakeRefused : public std::runtime_error {
public:
    HandshakeRefused(int status, const std::string& reason)
        : std::runtime_error("WebSocket upgrade refused: HTTP " + std::to_string(status) + " " +
                             reason)
        , status_(status) {}
    int status() const { return status_; }

private:
    int status_;
};

// Connects over TCP (and TLS), performs the upgrade and returns the open connection.
// Throws HandshakeRefused when the server answers the upgrade with a non-101 status, and
// boost::system::system_error for network failures and time-outs.
asio::awaitable<std::unique_ptr<WebSocketConnection>>
connect_websocket(WebSocketClientOptions options);

// "Basic " + base64(name ":" password).
std::string basic_authorization(std::string_view name, std::string_view password);

// Name and password from an Authorization header value, split at the first colon of the
// decoded credentials. Empty when the value is not "Basic <base64 with a colon>".
std::optional<std::pair<std::string, std::string>>
parse_basic_authorization(std::string_view header_value);

// The parts of an upgrade request the server's owner decides on.
struct UpgradeRequest {
    std::string target;
    std::optional<std::string> authorization;  // the Authorization header, when present
    std::string remote_endpoint;
};

struct WebSocketServerOptions {
    std::string bind_address = "127.0.0.1";
    std::uint16_t port = 0;       // 0: pick a free port (see WebSocketServer::port())
    std::string tls_certificate;  // PEM files; both set = TLS (wss://)
    std::string tls_private_key;
    std::chrono::milliseconds handshake_timeout{5000};
    std::size_t max_message_bytes = kDefaultMaxMessageBytes;
};

class WebSocketServer {
public:
    // Decides on an upgrade: 101 accepts it; any other status is sent as a bare
    // "HTTP/1.1 <status> <reason>\r\n\r\n" and the TCP connection is closed, as Buildbot does.
    using Authorize = std::function<int(const UpgradeRequest&)>;
    // Owns an accepted connection until the returned task ends.
    using OnOpen =
        std::function<asio::awaitable<void>(std::unique_ptr<WebSocketConnection>, UpgradeRequest)>;

    // Binds and listens at once (throws system_error when the address is taken).
    WebSocketServer(asio::any_io_executor executor, WebSocketServerOptions options,
                    Authorize authorize, OnOpen on_open);
    ~WebSocketServer();
    WebSocketServer(const WebSocketServer&) = delete;
    WebSocketServer& operator=(const WebSocketServer&) = delete;

    std::uint16_t port() const;

    // Accepts connections until stop(); each connection runs in its own task, and one failing
    // connection never ends the loop. Returns after stop() once every connection task ended.
    asio::awaitable<void> run();

    // Stops accepting and aborts every open connection.
    void stop();

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace kiln::io
