// SPDX-License-Identifier: Apache-2.0
// HttpServer: an HTTP/1.1 server (Boost.Beast behind this header) with keep-alive, streamed
// response bodies, WebSocket upgrades and the limits a public server needs: header and body
// sizes, a deadline for each whole request (slowloris), an idle deadline between requests, a
// write deadline, and a cap on open connections. Request and response are plain structs so
// the code that answers requests (www/) compiles without Beast.
#pragma once

#include "io/websocket.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

namespace kiln::io {

struct HttpHeader {
    std::string name;
    std::string value;
};

struct HttpRequest {
    std::string method;  // as sent, e.g. "GET"
    std::string target;  // as sent: path, then "?" and the query when there is one
    std::vector<HttpHeader> headers;
    std::string body;
    std::string remote_endpoint;  // "address:port"

    // The first header of that name (case-insensitive), if any.
    std::optional<std::string_view> header(std::string_view name) const;
    // The target's path (before '?') and query (after it, without '?'; empty if none).
    std::string_view path() const;
    std::string_view query() const;
};

// Produces the next piece of a streamed body. An empty optional ends the body; a piece may
// be empty only if more follow. It runs on the server's executor and may wait (an event
// stream waits for events); the server cancels it (terminal cancellation, which it must
// honour) when the client goes away (closes, half-closes or breaks the connection) and on
// stop(). An exception cuts the body short and closes the connection.
using BodyProducer = std::function<boost::asio::awaitable<std::optional<std::string>>()>;

struct HttpResponse {
    int status = 200;
    std::string reason;  // empty: the standard reason phrase
    std::vector<HttpHeader> headers;
    std::string body;
    // When set, the body is streamed from it and `body` is ignored. Without content_length
    // the body is sent with chunked transfer encoding.
    BodyProducer stream;
    // For a streamed body of known length, and for HEAD answers: the Content-Length to
    // announce (HEAD sends no body whatever this says).
    std::optional<std::uint64_t> content_length;
    bool close_connection = false;  // close after this response

    void set_header(std::string name, std::string value);  // replaces one of the same name
    static HttpResponse text(int status, std::string body,
                             std::string content_type = "text/plain; charset=utf-8");
};

struct HttpServerOptions {
    std::string bind_address = "127.0.0.1";
    std::uint16_t port = 0;  // 0: pick a free port (see port())
    std::size_t max_header_bytes = 16 * 1024;
    std::size_t max_body_bytes = 1024 * 1024;  // larger declared or sent bodies get 413
    // Paths that may send larger (or smaller) bodies than max_body_bytes: the first entry
    // whose prefix the request's path starts with decides (webhooks: GitHub sends up to 25 MB).
    struct BodyLimit {
        std::string path_prefix;
        std::size_t max_bytes = 0;
    };
    std::vector<BodyLimit> body_limits;
    // The headers and body of one request must have arrived within this (slowloris); the
    // first request of a connection counts from the connection's start. Also bounds the
    // opening and closing handshakes of upgraded WebSockets.
    std::chrono::milliseconds request_timeout{10000};
    // A kept-alive connection with no new request for this long is closed.
    std::chrono::milliseconds idle_timeout{60000};
    // Each write of a response (or of one streamed piece) must finish within this.
    std::chrono::milliseconds write_timeout{30000};
    // Connections beyond this are answered 503 and closed.
    std::size_t max_connections = 1024;
    std::size_t max_websocket_message_bytes = 64 * 1024;
};

class HttpServer {
public:
    // Answers one request. An exception ends only that connection (a 500 is sent when
    // nothing was sent yet). Body limits are enforced before the handler is called.
    using Handler = std::function<boost::asio::awaitable<HttpResponse>(HttpRequest)>;
    // For a WebSocket upgrade request (the body is empty): 101 accepts it and on_websocket then
    // owns the connection; any other answer is sent as the response and the connection closed.
    using UpgradeDecision = std::function<boost::asio::awaitable<HttpResponse>(const HttpRequest&)>;
    using OnWebSocket = std::function<boost::asio::awaitable<void>(
        std::unique_ptr<WebSocketConnection>, HttpRequest)>;

    // Binds and listens at once (throws boost::system::system_error when the address is
    // taken). Without upgrade handlers an upgrade request is an ordinary request.
    HttpServer(boost::asio::any_io_executor executor, HttpServerOptions options, Handler handler,
               UpgradeDecision decide_upgrade = {}, OnWebSocket on_websocket = {});
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    std::uint16_t port() const;
    // Connections being served (HTTP or WebSocket), not those being refused with 503. Read it
    // on the server's executor.
    std::size_t open_connections() const;

    // Accepts connections until stop(); each connection runs in its own task, and one failing
    // connection never ends the loop. Returns after stop() once every connection task ended.
    boost::asio::awaitable<void> run();

    // Stops accepting and closes every open connection (streams and WebSockets included),
    // cancelling running handlers, producers and on_websocket tasks. Callable from any thread.
    void stop();

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

// The standard reason phrase of a status ("Not Found"), or "Unknown".
std::string_view reason_phrase(int status);

}  // namespace kiln::io
