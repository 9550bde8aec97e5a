// SPDX-License-Identifier: Apache-2.0
// HttpServer on Boost.Beast: Beast's parser reads requests (with the header and body limits);
// response heads and bodies (plain, chunked or of announced length) are written here; WebSocket
// upgrades are handed to websocket.cpp's connection (detail/server_websocket.hpp).
#include "io/http_server.hpp"

#include "io/detail/http_head.hpp"
#include "io/detail/server_websocket.hpp"
#include "io/task_group.hpp"

#include <algorithm>
#include <array>
#include <exception>
#include <limits>
#include <stdexcept>
#include <unordered_map>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

namespace kiln::io {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;
using BeastRequest = http::request<http::string_body>;
using ResponseHeaders = std::vector<std::pair<std::string, std::string>>;
using detail::Framing;
using detail::is_bodiless;
using detail::wants_close;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

constexpr std::size_t kReadChunkBytes = 16 * 1024;
// The read buffer holds one request head plus this much of what follows (pipelined requests).
constexpr std::size_t kReadAheadBytes = 64 * 1024;
// Before closing, the server stops sending and reads (and drops) what the client still sends,
// for at most this long and this much: closing with unread input makes the kernel send a reset,
// which can destroy the response (a 413) before the client has read it.
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr std::size_t kMaxLingerBytes = 1024 * 1024;
constexpr std::string_view kCrlf = "\r\n";

HttpRequest to_http_request(BeastRequest& message, const std::string& remote) {
    HttpRequest request;
    request.method = std::string(message.method_string());
    request.target = std::string(message.target());
    for (const auto& field : message)
        request.headers.push_back(HttpHeader{.name = std::string(field.name_string()),
                                             .value = std::string(field.value())});
    request.body = std::move(message.body());
    request.remote_endpoint = remote;
    return request;
}

// "GET /path" for logs: never the query (it may hold tokens), the headers or the body.
std::string describe(const HttpRequest& request) {
    return request.method + " " + std::string(request.path());
}

// ---------------------------------------------------------------------------------------------
// Reading requests

// One client connection while it speaks HTTP.
struct Session {
    Session(tcp::socket socket, std::string remote_endpoint, std::size_t buffer_limit)
        : stream(std::move(socket))
        , buffer(buffer_limit)
        , remote(std::move(remote_endpoint)) {}

    beast::tcp_stream stream;
    beast::flat_buffer buffer;  // read and not parsed yet: the start of the next request
    std::string remote;
};

struct ReadResult {
    std::optional<BeastRequest> request;
    int refusal = 0;  // without a request: a status to answer before closing (400, 413, 431)
};

// The status that answers a failed read, or 0 when the connection broke or timed out.
int refusal_for(const error_code& ec) {
    if (ec == http::error::header_limit || ec == http::error::buffer_overflow) return 431;
    if (ec == http::error::body_limit) return 413;
    if (ec == http::error::end_of_stream || ec == http::error::partial_message ||
        ec == http::error::short_read)
        return 0;
    if (ec.category() == http::make_error_code(http::error::bad_method).category()) return 400;
    return 0;
}

void log_read_end(const Session& session, const error_code& ec, bool is_idle) {
    if (ec == http::error::end_of_stream || ec == asio::error::eof)
        spdlog::debug("http {}: closed by the client", session.remote);
    else if (ec == beast::error::timeout)
        spdlog::debug("http {}: {}", session.remote,
                      is_idle ? "idle for too long" : "request not complete in time");
    else
        spdlog::debug("http {}: reading a request failed: {}", session.remote, ec.message());
}

bool expects_continue(const BeastRequest& message) {
    return message.version() == 11 && beast::iequals(message[http::field::expect], "100-continue");
}

std::uint64_t largest_body_limit(const HttpServerOptions& options) {
    std::uint64_t largest = options.max_body_bytes;
    for (const auto& limit : options.body_limits)
        largest = std::max<std::uint64_t>(largest, limit.max_bytes);
    return largest;
}

std::uint64_t body_limit_for(const HttpServerOptions& options, std::string_view target) {
    const auto path = target.substr(0, target.find('?'));
    for (const auto& limit : options.body_limits)
        if (path.starts_with(limit.path_prefix)) return limit.max_bytes;
    return options.max_body_bytes;
}

// Reads the next request. The first one must be complete within request_timeout of the
// connection's start; later ones may take idle_timeout to begin and request_timeout from there.
asio::awaitable<ReadResult> read_request(Session& session, const HttpServerOptions& options,
                                         bool is_first, Clock::time_point accepted_at) {
    ReadResult result;
    if (session.buffer.size() == 0) {
        const auto wait_until =
            is_first ? accepted_at + options.request_timeout : Clock::now() + options.idle_timeout;
        session.stream.expires_at(wait_until);
        auto [ec, size] = co_await session.stream.async_read_some(
            session.buffer.prepare(kReadChunkBytes), use_tuple);
        session.buffer.commit(size);
        if (ec) {
            log_read_end(session, ec, !is_first);
            co_return result;
        }
    }
    const auto deadline = (is_first ? accepted_at : Clock::now()) + options.request_timeout;
    session.stream.expires_at(deadline);

    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(
        options.max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
    // The header is read with the largest limit; once the path is known, its own applies.
    parser.body_limit(largest_body_limit(options));
    auto [header_ec, header_size] =
        co_await http::async_read_header(session.stream, session.buffer, parser, use_tuple);
    if (header_ec) {
        result.refusal = refusal_for(header_ec);
        if (result.refusal == 0) log_read_end(session, header_ec, false);
        co_return result;
    }
    const auto body_limit = body_limit_for(options, parser.get().target());
    if (const auto declared = parser.content_length(); declared && *declared > body_limit) {
        result.refusal = 413;
        co_return result;
    }
    parser.body_limit(body_limit);
    if (!parser.is_done()) {
        if (expects_continue(parser.get())) {
            constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
            session.stream.expires_after(options.write_timeout);
            auto [write_ec, written] =
                co_await asio::async_write(session.stream, asio::buffer(kContinue), use_tuple);
            if (write_ec) {
                spdlog::debug("http {}: writing 100 Continue failed: {}", session.remote,
                              write_ec.message());
                co_return result;
            }
            session.stream.expires_at(deadline);
        }
        auto [body_ec, body_size] =
            co_await http::async_read(session.stream, session.buffer, parser, use_tuple);
        if (body_ec) {
            result.refusal = refusal_for(body_ec);
            if (result.refusal == 0) log_read_end(session, body_ec, false);
            co_return result;
        }
    }
    session.stream.expires_never();
    result.request = parser.release();
    co_return result;
}

// ---------------------------------------------------------------------------------------------
// Writing responses

template <class ConstBuffers>
asio::awaitable<bool> write_all(Session& session, ConstBuffers buffers,
                                std::chrono::milliseconds timeout) {
    session.stream.expires_after(timeout);
    auto [ec, size] = co_await asio::async_write(session.stream, buffers, use_tuple);
    if (ec) {
        spdlog::debug("http {}: write failed: {}", session.remote, ec.message());
        co_return false;
    }
    co_return true;
}

// Stops sending, drops what the client still sends (bounded, see kLingerTime), then closes.
asio::awaitable<void> close_gently(beast::tcp_stream& stream) {
    error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream.expires_after(kLingerTime);
    std::array<char, 4096> sink{};
    for (std::size_t dropped = 0; dropped < kMaxLingerBytes;) {
        auto [ec, size] = co_await stream.async_read_some(asio::buffer(sink), use_tuple);
        if (ec) break;
        dropped += size;
    }
    stream.close();
}

// Completes when the client closes or breaks the connection (or when cancelled). What the
// client sends meanwhile (its next pipelined request) is kept in the session's buffer; once
// that is full, this only waits, and a lost client shows when the next write fails.
asio::awaitable<void> wait_for_client_gone(Session& session) {
    auto& socket = session.stream.socket();
    for (;;) {
        const auto room = session.buffer.max_size() - session.buffer.size();
        if (room == 0) {
            asio::steady_timer forever{socket.get_executor(),
                                       asio::steady_timer::time_point::max()};
            co_await forever.async_wait(use_tuple);
            co_return;
        }
        auto [ec, size] = co_await socket.async_read_some(
            session.buffer.prepare(std::min(room, kReadChunkBytes)), use_tuple);
        session.buffer.commit(size);
        if (ec) co_return;
    }
}

struct NextPiece {
    bool is_client_gone = false;
    std::optional<std::string> piece;  // empty: the body is complete
};

// Calls the producer while watching the connection: when the client goes away first, the
// producer is cancelled (and awaited) even if it was waiting for something else.
asio::awaitable<NextPiece> next_piece(Session& session, const BodyProducer& producer) {
    auto executor = co_await asio::this_coro::executor;
    auto produce = producer();
    auto producing = asio::co_spawn(executor, std::move(produce), asio::deferred);
    auto watch = wait_for_client_gone(session);
    auto watching = asio::co_spawn(executor, std::move(watch), asio::deferred);
    auto group = asio::experimental::make_parallel_group(std::move(producing), std::move(watching));
    [[maybe_unused]] auto [order, producer_error, piece, watch_error] =
        co_await group.async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
    NextPiece next;
    if (order[0] == 1) {
        next.is_client_gone = true;
        co_return next;
    }
    if (producer_error) std::rethrow_exception(producer_error);
    next.piece = std::move(piece);
    co_return next;
}

// Sends a streamed body after its head. False when the connection cannot go on: the client
// left, a write failed, or the producer's length disagreed with content_length.
asio::awaitable<bool> stream_body(Session& session, BodyProducer producer,
                                  std::optional<std::uint64_t> content_length,
                                  std::chrono::milliseconds write_timeout) {
    std::uint64_t sent = 0;
    for (;;) {
        auto next = co_await next_piece(session, producer);
        if (next.is_client_gone) {
            spdlog::debug("http {}: the client left during a streamed response", session.remote);
            co_return false;
        }
        if (!next.piece) break;
        const std::string& piece = *next.piece;
        if (piece.empty()) continue;  // an empty chunk would end a chunked body
        if (!content_length) {
            const auto size_line = fmt::format("{:x}\r\n", piece.size());
            const std::array<asio::const_buffer, 3> chunk{asio::buffer(size_line),
                                                          asio::buffer(piece), asio::buffer(kCrlf)};
            const bool is_written = co_await write_all(session, chunk, write_timeout);
            if (!is_written) co_return false;
            continue;
        }
        if (piece.size() > *content_length - sent) {
            spdlog::warn("http {}: streamed body longer than its Content-Length {}", session.remote,
                         *content_length);
            co_return false;
        }
        sent += piece.size();
        const bool is_written = co_await write_all(session, asio::buffer(piece), write_timeout);
        if (!is_written) co_return false;
    }
    if (content_length) {
        if (sent == *content_length) co_return true;
        spdlog::warn("http {}: streamed body of {} bytes, {} announced", session.remote, sent,
                     *content_length);
        co_return false;
    }
    constexpr std::string_view kLastChunk = "0\r\n\r\n";
    const bool is_written = co_await write_all(session, asio::buffer(kLastChunk), write_timeout);
    co_return is_written;
}

// The head for `response`, or empty (logged) when the handler's answer cannot be sent.
std::optional<std::string> head_for(const HttpResponse& response, bool is_head, bool keep_alive,
                                    const std::string& remote) {
    auto framing = Framing::content_length;
    std::uint64_t length = response.body.size();
    if (is_bodiless(response.status)) {
        framing = Framing::none;
    } else if (response.stream) {
        framing = response.content_length ? Framing::content_length : Framing::chunked;
        length = response.content_length.value_or(0);
    } else if (is_head) {
        length = response.content_length.value_or(response.body.size());
    }
    try {
        return detail::format_response_head(response, framing, length, keep_alive,
                                            std::chrono::system_clock::now());
    } catch (const std::invalid_argument& error) {
        spdlog::warn("http {}: the handler's response cannot be sent: {}", remote, error.what());
        return std::nullopt;
    }
}

// Sends a response. False when the connection cannot carry another one. An invalid response
// becomes a 500.
asio::awaitable<bool> send_response(Session& session, HttpResponse response, bool is_head,
                                    bool keep_alive, std::chrono::milliseconds write_timeout) {
    auto head = head_for(response, is_head, keep_alive, session.remote);
    if (!head) {
        auto failure = HttpResponse::text(500, "Internal Server Error\n");
        head = head_for(failure, false, false, session.remote);
        response = std::move(failure);
        keep_alive = false;
    }
    if (is_head || is_bodiless(response.status)) {
        const bool is_written = co_await write_all(session, asio::buffer(*head), write_timeout);
        const bool is_open = is_written && keep_alive;
        co_return is_open;
    }
    if (!response.stream) {
        const std::array<asio::const_buffer, 2> message{asio::buffer(*head),
                                                        asio::buffer(response.body)};
        const bool is_written = co_await write_all(session, message, write_timeout);
        const bool is_open = is_written && keep_alive;
        co_return is_open;
    }
    const bool is_head_written = co_await write_all(session, asio::buffer(*head), write_timeout);
    if (!is_head_written) co_return false;
    auto producer = std::move(response.stream);
    auto streaming =
        stream_body(session, std::move(producer), response.content_length, write_timeout);
    const bool is_complete = co_await std::move(streaming);
    const bool is_open = is_complete && keep_alive;
    co_return is_open;
}

// Answers `status` with a short text body and "Connection: close".
asio::awaitable<void> send_error(Session& session, int status,
                                 std::chrono::milliseconds write_timeout) {
    auto response = HttpResponse::text(status, std::string(reason_phrase(status)) + "\n");
    response.close_connection = true;
    spdlog::debug("http {}: answering {}", session.remote, status);
    auto sending = send_response(session, std::move(response), false, false, write_timeout);
    co_await std::move(sending);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Server

struct HttpServer::Impl : std::enable_shared_from_this<Impl> {
    // What stop() closes for one connection: its HTTP stream, then its WebSocket.
    struct LiveConnection {
        beast::tcp_stream* http = nullptr;
        WebSocketConnection* websocket = nullptr;  // from the upgrade until destroyed
        bool has_task = true;
        bool is_counted = true;  // false for connections refused with 503
    };

    // Keeps connections_[id] current while a connection task runs.
    class Registration {
    public:
        Registration(Impl& impl, std::uint64_t id, beast::tcp_stream& stream)
            : impl_(impl)
            , id_(id) {
            impl_.connections_.at(id_).http = &stream;
        }
        Registration(const Registration&) = delete;
        Registration& operator=(const Registration&) = delete;
        ~Registration() {
            auto& connection = impl_.connections_.at(id_);
            connection.http = nullptr;
            connection.has_task = false;
            impl_.forget_if_over(id_);
        }
        std::uint64_t id() const { return id_; }
        void upgraded(WebSocketConnection& websocket) {
            auto& connection = impl_.connections_.at(id_);
            connection.http = nullptr;
            connection.websocket = &websocket;
        }

    private:
        Impl& impl_;
        std::uint64_t id_;
    };

    Impl(asio::any_io_executor executor, HttpServerOptions options, Handler handler,
         UpgradeDecision decide_upgrade, OnWebSocket on_websocket)
        : executor_(std::move(executor))
        , options_(std::move(options))
        , handler_(std::move(handler))
        , decide_upgrade_(std::move(decide_upgrade))
        , on_websocket_(std::move(on_websocket))
        , acceptor_(executor_)
        , tasks_(executor_, log_task_failure) {
        const tcp::endpoint endpoint{asio::ip::make_address(options_.bind_address), options_.port};
        acceptor_.open(endpoint.protocol());
        acceptor_.set_option(tcp::acceptor::reuse_address(true));
        acceptor_.bind(endpoint);
        acceptor_.listen();
        port_ = acceptor_.local_endpoint().port();
    }

    static void log_task_failure(std::exception_ptr error) {
        try {
            std::rethrow_exception(error);
        } catch (const std::exception& failure) {
            spdlog::warn("http server: connection task failed: {}", failure.what());
        }
    }

    static void log_connection_end(const std::string& remote, const std::exception& error) {
        if (is_cancellation(error))
            spdlog::debug("http {}: connection cancelled", remote);
        else
            spdlog::warn("http {}: connection ended by an error: {}", remote, error.what());
    }

    asio::awaitable<void> accept_connections() {
        while (!is_stopping_) {
            auto [ec, socket] = co_await acceptor_.async_accept(use_tuple);
            if (is_stopping_) break;
            if (ec == asio::error::operation_aborted) {  // run() itself was cancelled
                stop_now();
                co_await asio::this_coro::reset_cancellation_state();
                break;
            }
            if (ec) {
                // Typically out of file descriptors: back off instead of spinning.
                spdlog::warn("http server: accept failed: {}", ec.message());
                asio::steady_timer pause{executor_, std::chrono::milliseconds(100)};
                co_await pause.async_wait(use_tuple);
                continue;
            }
            admit(std::move(socket));
        }
        co_await tasks_.wait();
    }

    void admit(tcp::socket socket) {
        error_code ec;
        // Small answers must not wait for the client's delayed ACK (Nagle).
        socket.set_option(tcp::no_delay(true), ec);
        const auto endpoint = socket.remote_endpoint(ec);
        if (ec) {
            spdlog::debug("http server: connection gone before setup: {}", ec.message());
            return;
        }
        auto remote = detail::endpoint_string(endpoint);
        const auto id = next_connection_id_++;
        const bool is_refused = counted_connections_ >= options_.max_connections;
        connections_.emplace(id, LiveConnection{.is_counted = !is_refused});
        if (is_refused) {
            spdlog::debug("http {}: refused: {} connections open", remote, counted_connections_);
            tasks_.spawn(
                refuse_connection(shared_from_this(), std::move(socket), std::move(remote), id));
            return;
        }
        ++counted_connections_;
        tasks_.spawn(serve_connection(shared_from_this(), std::move(socket), std::move(remote), id,
                                      Clock::now()));
    }

    void forget_if_over(std::uint64_t id) {
        const auto it = connections_.find(id);
        if (it == connections_.end() || it->second.has_task || it->second.websocket) return;
        if (it->second.is_counted) --counted_connections_;
        connections_.erase(it);
    }

    std::size_t buffer_limit() const { return options_.max_header_bytes + kReadAheadBytes; }

    static asio::awaitable<void> refuse_connection(std::shared_ptr<Impl> self, tcp::socket socket,
                                                   std::string remote, std::uint64_t id) {
        Session session(std::move(socket), std::move(remote), self->buffer_limit());
        Registration registration(*self, id, session.stream);
        if (self->is_stopping_) co_return;
        try {
            co_await send_error(session, 503, self->options_.write_timeout);
            co_await close_gently(session.stream);
        } catch (const std::exception& error) {
            log_connection_end(session.remote, error);
        }
    }

    static asio::awaitable<void> serve_connection(std::shared_ptr<Impl> self, tcp::socket socket,
                                                  std::string remote, std::uint64_t id,
                                                  Clock::time_point accepted_at) {
        Session session(std::move(socket), std::move(remote), self->buffer_limit());
        Registration registration(*self, id, session.stream);
        if (self->is_stopping_) co_return;
        try {
            co_await self->serve_requests(session, registration, accepted_at);
        } catch (const std::exception& error) {
            log_connection_end(session.remote, error);
        }
    }

    asio::awaitable<void> serve_requests(Session& session, Registration& registration,
                                         Clock::time_point accepted_at) {
        for (bool is_first = true;; is_first = false) {
            auto read = co_await read_request(session, options_, is_first, accepted_at);
            if (read.refusal != 0) {
                co_await send_error(session, read.refusal, options_.write_timeout);
                co_await close_gently(session.stream);
                co_return;
            }
            if (!read.request) co_return;
            if (decide_upgrade_ && on_websocket_ && beast::websocket::is_upgrade(*read.request)) {
                co_await upgrade(session, registration, *read.request);
                co_return;
            }
            const bool is_open = co_await answer(session, *read.request);
            if (!is_open) {
                co_await close_gently(session.stream);
                co_return;
            }
        }
    }

    // Answers one request. False when the connection must close.
    asio::awaitable<bool> answer(Session& session, BeastRequest& message) {
        const bool is_head = message.method() == http::verb::head;
        bool keep_alive = message.version() == 11 && message.keep_alive();
        auto request = to_http_request(message, session.remote);
        const auto what = describe(request);
        std::optional<HttpResponse> response;
        try {
            auto answering = handler_(std::move(request));
            auto answered = co_await std::move(answering);
            response = std::move(answered);
        } catch (const std::exception& error) {
            if (is_stopping_) throw;
            spdlog::warn("http {}: the handler failed on {}: {}", session.remote, what,
                         error.what());
        }
        if (!response) {
            co_await send_error(session, 500, options_.write_timeout);
            co_return false;
        }
        spdlog::debug("http {}: {} -> {}", session.remote, what, response->status);
        keep_alive = keep_alive && !wants_close(*response);
        auto sending = send_response(session, std::move(*response), is_head, keep_alive,
                                     options_.write_timeout);
        const bool is_open = co_await std::move(sending);
        co_return is_open;
    }

    // A WebSocket upgrade: decide_upgrade answers it; on 101 the connection goes to on_websocket.
    asio::awaitable<void> upgrade(Session& session, Registration& registration,
                                  BeastRequest& message) {
        if (!detail::is_valid_websocket_upgrade(message)) {
            co_await send_error(session, 400, options_.write_timeout);
            co_await close_gently(session.stream);
            co_return;
        }
        auto request = to_http_request(message, session.remote);
        std::optional<HttpResponse> decision;
        try {
            auto deciding = decide_upgrade_(request);
            auto decided = co_await std::move(deciding);
            decision = std::move(decided);
        } catch (const std::exception& error) {
            if (is_stopping_) throw;
            spdlog::warn("http {}: deciding on the upgrade of {} failed: {}", session.remote,
                         describe(request), error.what());
        }
        std::optional<ResponseHeaders> headers;
        if (decision && decision->status == 101) {
            try {
                headers = detail::upgrade_response_headers(*decision);
            } catch (const std::invalid_argument& error) {
                spdlog::warn("http {}: the upgrade answer cannot be sent: {}", session.remote,
                             error.what());
                decision.reset();
            }
        }
        if (!decision) {
            co_await send_error(session, 500, options_.write_timeout);
            co_await close_gently(session.stream);
            co_return;
        }
        if (!headers) {
            spdlog::debug("http {}: upgrade of {} refused with {}", session.remote,
                          describe(request), decision->status);
            auto refusing =
                send_response(session, std::move(*decision), false, false, options_.write_timeout);
            co_await std::move(refusing);
            co_await close_gently(session.stream);
            co_return;
        }

        // A client may send its first frames right behind the request: they wait in the buffer.
        auto already_received = beast::buffers_to_string(session.buffer.data());
        session.buffer.consume(session.buffer.size());
        session.stream.expires_never();
        auto on_destroy = [weak = weak_from_this(), id = registration.id()] {
            if (auto self = weak.lock()) self->forget_websocket(id);
        };
        auto websocket = detail::make_server_websocket(
            std::move(session.stream), session.remote, options_.request_timeout,
            options_.max_websocket_message_bytes, std::move(on_destroy));
        registration.upgraded(*websocket);
        auto accepting =
            websocket->accept(message, std::move(already_received), std::move(*headers));
        const bool is_open = co_await std::move(accepting);
        if (!is_open) co_return;
        spdlog::debug("http {}: WebSocket open on {}", session.remote, describe(request));
        auto running = on_websocket_(std::move(websocket), std::move(request));
        co_await std::move(running);
    }

    void forget_websocket(std::uint64_t id) {
        const auto it = connections_.find(id);
        if (it == connections_.end()) return;
        it->second.websocket = nullptr;
        forget_if_over(id);
    }

    void stop_now() {
        is_stopping_ = true;
        error_code ignored;
        acceptor_.close(ignored);
        for (auto& [id, connection] : connections_) {
            if (connection.http) connection.http->close();
            if (connection.websocket) connection.websocket->abort();
        }
        tasks_.cancel();
    }

    asio::any_io_executor executor_;
    HttpServerOptions options_;
    Handler handler_;
    UpgradeDecision decide_upgrade_;
    OnWebSocket on_websocket_;
    tcp::acceptor acceptor_;
    TaskGroup tasks_;
    bool is_stopping_ = false;
    std::uint64_t next_connection_id_ = 0;
    std::unordered_map<std::uint64_t, LiveConnection> connections_;
    std::size_t counted_connections_ = 0;
    std::uint16_t port_ = 0;
};

HttpServer::HttpServer(asio::any_io_executor executor, HttpServerOptions options, Handler handler,
                       UpgradeDecision decide_upgrade, OnWebSocket on_websocket)
    : impl_(std::make_shared<Impl>(std::move(executor), std::move(options), std::move(handler),
                                   std::move(decide_upgrade), std::move(on_websocket))) {}

HttpServer::~HttpServer() { impl_->stop_now(); }

std::uint16_t HttpServer::port() const { return impl_->port_; }

std::size_t HttpServer::open_connections() const { return impl_->counted_connections_; }

asio::awaitable<void> HttpServer::run() {
    auto impl = impl_;  // the server object may go away while connection tasks finish
    co_await impl->accept_connections();
}

void HttpServer::stop() {
    asio::dispatch(impl_->executor_, [impl = impl_] { impl->stop_now(); });
}

}  // namespace kiln::io
