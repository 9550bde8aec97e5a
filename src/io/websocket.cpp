// SPDX-License-Identifier: Apache-2.0
// WebSocket client and server on Boost.Beast: one connection implementation for plain TCP and
// TLS, an ordered write queue, and the Buildbot-style upgrade (bare status line on refusal).
#include "io/websocket.hpp"

#include "core/base64.hpp"
#include "core/version.hpp"
#include "io/detail/resolve.hpp"
#include "io/detail/server_websocket.hpp"

#include <algorithm>
#include <cstdint>
#include <deque>
#include <exception>
#include <limits>
#include <type_traits>
#include <unordered_map>

#include <boost/asio/append.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

namespace kiln::io {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using boost::system::system_error;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Upgrade requests of Buildbot workers are about 350 bytes; browsers with cookies stay far below.
constexpr std::size_t kMaxRequestHeadBytes = 16 * 1024;
constexpr std::size_t kMaxResponseHeadBytes = 16 * 1024;
// Larger than a worker's output update (buffer_size 64 KiB plus positions and times).
constexpr std::size_t kClientWriteBufferBytes = 128 * 1024;
using detail::endpoint_string;
using detail::product_name;

using PlainLayer = beast::tcp_stream;
using TlsLayer = beast::ssl_stream<beast::tcp_stream>;

template <class Next>
constexpr bool kIsTls = std::is_same_v<Next, TlsLayer>;

bool is_ip_address(const std::string& host) {
    error_code ec;
    asio::ip::make_address(host, ec);
    return !ec;
}

struct ResponseHead {
    int status = 0;
    std::string reason;
};

// The status line of a complete response head at the start of `bytes`, if there is one.
std::optional<ResponseHead> parse_response_head(std::string_view bytes) {
    const auto end = bytes.find("\r\n\r\n");
    if (end == std::string_view::npos) return std::nullopt;
    http::response_parser<http::empty_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(kMaxResponseHeadBytes));
    parser.eager(false);
    parser.skip(true);  // only the head matters here
    error_code ec;
    parser.put(asio::buffer(bytes.data(), end + 4), ec);
    if (ec || !parser.is_header_done()) return std::nullopt;
    return ResponseHead{.status = static_cast<int>(parser.get().result_int()),
                        .reason = std::string(parser.get().reason())};
}

// The stream layer directly under websocket::stream. During a client handshake it records the
// bytes of the server's answer, so that a refusal is reported with its status even when the
// server then resets the connection, truncates TLS or keeps the connection open (Beast reads a
// header-less refusal's body until EOF). On the server it replays the bytes that were read
// beyond the upgrade request. Afterwards it just forwards.
template <class Next>
class HandshakeTap {
public:
    using executor_type = typename Next::executor_type;
    using next_layer_type = Next;

    template <class... Args>
    explicit HandshakeTap(Args&&... args)
        : next_(std::forward<Args>(args)...) {}

    Next& next_layer() noexcept { return next_; }
    const Next& next_layer() const noexcept { return next_; }
    executor_type get_executor() noexcept { return next_.get_executor(); }

    void start_recording() {
        recorded_.clear();
        refusal_.reset();
        is_recording_ = true;
    }
    void stop_recording() {
        is_recording_ = false;
        refusal_.reset();
        std::string{}.swap(recorded_);
    }
    // The refusing response head seen while recording (status other than 101).
    const std::optional<ResponseHead>& refusal() const { return refusal_; }

    void replay(std::string bytes) { replay_ = std::move(bytes); }

    // Beast's closing teardown waits for the peer to close TCP, with no timer when the peer
    // sent the Close frame or broke the protocol; this deadline closes the socket instead.
    void set_teardown_timeout(std::chrono::steady_clock::duration timeout) {
        teardown_timeout_ = timeout;
    }
    void arm_teardown_deadline() {
        if (!teardown_timer_) teardown_timer_.emplace(next_.get_executor());
        teardown_timer_->expires_after(teardown_timeout_);
        teardown_timer_->async_wait([this, life = life()](error_code ec) {
            if (ec || life.expired()) return;
            spdlog::debug("websocket: the peer did not close TCP after the Close frames");
            beast::get_lowest_layer(next_).close();
        });
    }
    void disarm_teardown_deadline() {
        if (teardown_timer_) teardown_timer_->cancel();
    }
    // Expires when this object is destroyed (for handlers that may run later).
    std::weak_ptr<void> life() const { return life_; }

    template <class MutableBuffers, class Token>
    auto async_read_some(const MutableBuffers& buffers, Token&& token) {
        return asio::async_initiate<Token, void(error_code, std::size_t)>(
            [this](auto handler, const MutableBuffers& target) {
                initiate_read(std::move(handler), target);
            },
            token, buffers);
    }

    template <class ConstBuffers, class Token>
    auto async_write_some(const ConstBuffers& buffers, Token&& token) {
        return next_.async_write_some(buffers, std::forward<Token>(token));
    }

private:
    template <class Handler, class MutableBuffers>
    void initiate_read(Handler handler, const MutableBuffers& buffers) {
        if (!replay_.empty()) {
            const auto n = asio::buffer_copy(buffers, asio::buffer(replay_));
            replay_.erase(0, n);
            asio::post(next_.get_executor(), asio::append(std::move(handler), error_code{}, n));
            return;
        }
        if (refusal_) {
            // The refusal's head is complete: end the body here instead of waiting for the
            // server to close, so Beast finishes its handshake at once.
            asio::post(
                next_.get_executor(),
                asio::append(std::move(handler), error_code{asio::error::eof}, std::size_t{0}));
            return;
        }
        if (!is_recording_) {
            next_.async_read_some(buffers, std::move(handler));
            return;
        }
        asio::async_compose<Handler, void(error_code, std::size_t)>(
            [this, buffers, is_started = false](auto& self, error_code ec = {},
                                                std::size_t n = 0) mutable {
                if (!is_started) {
                    is_started = true;
                    next_.async_read_some(buffers, std::move(self));
                    return;
                }
                record(buffers, n);
                self.complete(ec, n);
            },
            handler, next_);
    }

    template <class MutableBuffers>
    void record(const MutableBuffers& buffers, std::size_t n) {
        if (!is_recording_) return;
        const auto old_size = recorded_.size();
        recorded_.resize(old_size + n);
        asio::buffer_copy(asio::buffer(recorded_.data() + old_size, n), buffers, n);
        if (auto head = parse_response_head(recorded_)) {
            is_recording_ = false;
            if (head->status != 101) refusal_ = std::move(head);
        } else if (recorded_.size() > kMaxResponseHeadBytes) {
            is_recording_ = false;
        }
    }

    Next next_;
    bool is_recording_ = false;
    std::string recorded_;
    std::optional<ResponseHead> refusal_;
    std::string replay_;
    std::chrono::steady_clock::duration teardown_timeout_ = std::chrono::seconds(5);
    std::optional<asio::steady_timer> teardown_timer_;
    std::shared_ptr<int> life_ = std::make_shared<int>(0);
};

// websocket::stream finds these by argument-dependent lookup to close the layer below.
template <class Next>
void teardown(beast::role_type role, HandshakeTap<Next>& stream, error_code& ec) {
    using websocket::teardown;
    teardown(role, stream.next_layer(), ec);
}

template <class Next, class TeardownHandler>
void async_teardown(beast::role_type role, HandshakeTap<Next>& stream, TeardownHandler&& handler) {
    stream.arm_teardown_deadline();
    asio::async_compose<std::decay_t<TeardownHandler>, void(error_code)>(
        [&stream, role, life = stream.life(), is_started = false](auto& self,
                                                                  error_code ec = {}) mutable {
            if (!is_started) {
                is_started = true;
                using websocket::async_teardown;
                async_teardown(role, stream.next_layer(), std::move(self));
                return;
            }
            if (!life.expired()) stream.disarm_teardown_deadline();
            self.complete(ec);
        },
        handler, stream);
}

template <class Next>
class Connection final : public WebSocketConnection {
public:
    using Socket = websocket::stream<HandshakeTap<Next>>;

    // `keep_alive` holds what the stream refers to (the TLS context).
    template <class... Args>
    Connection(std::string remote, std::shared_ptr<void> keep_alive, Args&&... args)
        : keep_alive_(std::move(keep_alive))
        , ws_(std::forward<Args>(args)...)
        , remote_(std::move(remote)) {}

    ~Connection() override {
        if (on_destroy_) on_destroy_();
    }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    Socket& socket() { return ws_; }
    HandshakeTap<Next>& tap() { return ws_.next_layer(); }
    void on_destroy(std::function<void()> callback) { on_destroy_ = std::move(callback); }

    // Options for both roles. Buildbot peers send no pings, so there is no idle timeout;
    // handshake_timeout bounds the opening and the closing handshake.
    void configure(std::chrono::milliseconds handshake_timeout, std::size_t max_message_bytes) {
        websocket::stream_base::timeout timeout{};
        timeout.handshake_timeout = handshake_timeout;
        timeout.idle_timeout = websocket::stream_base::none();
        timeout.keep_alive_pings = false;
        ws_.set_option(timeout);
        tap().set_teardown_timeout(handshake_timeout);
        websocket::permessage_deflate deflate;
        deflate.client_enable = false;
        deflate.server_enable = false;
        ws_.set_option(deflate);
        ws_.auto_fragment(false);
        ws_.binary(true);
        ws_.read_message_max(max_message_bytes);
        // A client masks what it sends in this buffer and writes each buffer-full with its own
        // write(): Beast's 4 KiB default made a 64 KiB update (kiln-worker's output batches)
        // sixteen syscalls and sixteen TCP segments for the master to read one by one.
        ws_.write_buffer_bytes(kClientWriteBufferBytes);
    }

    // Server side, after configure(): answers the upgrade `request` with 101 (Server and
    // `response_headers` added). The stream reads `already_received` (bytes that arrived after
    // the request) before anything else.
    template <class Body>
    asio::awaitable<error_code>
    accept(const http::request<Body>& request, std::string already_received,
           std::vector<std::pair<std::string, std::string>> response_headers) {
        tap().replay(std::move(already_received));
        beast::get_lowest_layer(ws_).expires_never();
        ws_.set_option(websocket::stream_base::decorator(
            [headers = std::move(response_headers)](websocket::response_type& response) {
                response.set(http::field::server, product_name());
                for (const auto& [name, value] : headers)
                    response.set(name, value);
            }));
        auto [ec] = co_await ws_.async_accept(request, use_tuple);
        co_return ec;
    }

    asio::awaitable<std::optional<Message>> read() override {
        // Read straight into the message's string (no second copy of a 64 KiB update).
        std::string data;
        auto buffer = asio::dynamic_buffer(data);
        auto [ec, size] = co_await ws_.async_read(buffer, use_tuple);
        if (ec) {
            if (ec == websocket::error::closed)
                spdlog::debug("websocket {}: closed by the peer", remote_);
            else
                spdlog::debug("websocket {}: connection over: {}", remote_, ec.message());
            co_return std::nullopt;
        }
        data.resize(buffer.size());  // asio resizes on commit; keep exactly what was read
        co_return Message{.data = std::move(data), .is_text = ws_.got_text()};
    }

    asio::awaitable<void> send(std::string payload) override {
        co_await send_frame(std::move(payload), false);
    }

    asio::awaitable<void> send_text(std::string payload) override {
        co_await send_frame(std::move(payload), true);
    }

    asio::awaitable<void> send_frame(std::string payload, bool is_text) {
        co_await wait_for_write_turn();
        WriteTurnRelease release{*this};
        ws_.text(is_text);
        auto [ec, size] = co_await ws_.async_write(asio::buffer(payload), use_tuple);
        if (ec) throw system_error(ec, "WebSocket send to " + remote_);
    }

    asio::awaitable<void> close(std::uint16_t code) override {
        if (!is_closing_) {
            is_closing_ = true;
            try {
                websocket::close_reason reason{};
                if (code != 0) reason.code = code;
                auto [ec] = co_await ws_.async_close(reason, use_tuple);
                if (ec)
                    spdlog::debug("websocket {}: close handshake ended with: {}", remote_,
                                  ec.message());
            } catch (const std::exception& error) {
                // Cancelled (or out of memory) before the close finished: still drop TCP below.
                spdlog::debug("websocket {}: close interrupted: {}", remote_, error.what());
            }
        }
        abort();
    }

    void abort() override { beast::get_lowest_layer(ws_).close(); }

    std::string remote_endpoint() const override { return remote_; }

private:
    struct WriteTurn {
        asio::steady_timer wakeup;
        bool is_granted = false;
    };

    struct WriteTurnRelease {
        explicit WriteTurnRelease(Connection& owner)
            : connection(owner) {}
        WriteTurnRelease(const WriteTurnRelease&) = delete;
        WriteTurnRelease& operator=(const WriteTurnRelease&) = delete;
        ~WriteTurnRelease() { connection.release_write_turn(); }
        Connection& connection;
    };

    // Beast allows one write at a time: later senders wait here in call order.
    asio::awaitable<void> wait_for_write_turn() {
        if (!is_writing_) {
            is_writing_ = true;
            co_return;
        }
        WriteTurn turn{.wakeup = asio::steady_timer{ws_.get_executor(),
                                                    asio::steady_timer::time_point::max()}};
        waiting_writers_.push_back(&turn);
        try {
            co_await turn.wakeup.async_wait(use_tuple);
        } catch (const std::exception&) {
            give_up_write_turn(turn);
            throw;
        }
        if (!turn.is_granted) {  // the sender was cancelled while waiting
            give_up_write_turn(turn);
            throw system_error(asio::error::operation_aborted, "WebSocket send cancelled");
        }
    }

    void give_up_write_turn(WriteTurn& turn) {
        if (turn.is_granted)
            release_write_turn();
        else
            std::erase(waiting_writers_, &turn);
    }

    void release_write_turn() {
        if (waiting_writers_.empty()) {
            is_writing_ = false;
            return;
        }
        auto* next = waiting_writers_.front();
        waiting_writers_.pop_front();
        next->is_granted = true;
        next->wakeup.cancel();
    }

    std::shared_ptr<void> keep_alive_;  // declared first: outlives the stream
    Socket ws_;
    std::string remote_;
    std::function<void()> on_destroy_;
    bool is_writing_ = false;
    std::deque<WriteTurn*> waiting_writers_;
    bool is_closing_ = false;
};

// A plain-TCP server connection whose upgrade request another server read (HttpServer).
class PlainServerWebSocket final : public detail::ServerWebSocket {
public:
    PlainServerWebSocket(beast::tcp_stream stream, std::string remote,
                         std::chrono::milliseconds handshake_timeout, std::size_t max_message_bytes,
                         std::function<void()> on_destroy)
        : connection_(std::move(remote), nullptr, std::move(stream)) {
        connection_.configure(handshake_timeout, max_message_bytes);
        connection_.on_destroy(std::move(on_destroy));
    }

    asio::awaitable<bool>
    accept(const http::request<http::string_body>& request, std::string already_received,
           std::vector<std::pair<std::string, std::string>> response_headers) override {
        auto accepting =
            connection_.accept(request, std::move(already_received), std::move(response_headers));
        const auto ec = co_await std::move(accepting);
        if (ec) {
            spdlog::debug("websocket {}: upgrade failed: {}", connection_.remote_endpoint(),
                          ec.message());
            co_return false;
        }
        co_return true;
    }

    asio::awaitable<std::optional<Message>> read() override { return connection_.read(); }
    asio::awaitable<void> send(std::string payload) override {
        return connection_.send(std::move(payload));
    }
    asio::awaitable<void> send_text(std::string payload) override {
        return connection_.send_text(std::move(payload));
    }
    asio::awaitable<void> close(std::uint16_t code) override { return connection_.close(code); }
    void abort() override { connection_.abort(); }
    std::string remote_endpoint() const override { return connection_.remote_endpoint(); }

private:
    Connection<PlainLayer> connection_;
};

// ---------------------------------------------------------------------------------------------
// Client

std::string host_header(const WebSocketClientOptions& options) {
    error_code ec;
    const auto address = asio::ip::make_address(options.host, ec);
    const auto host = !ec && address.is_v6() ? "[" + options.host + "]" : options.host;
    return host + ":" + std::to_string(options.port);
}

asio::awaitable<beast::tcp_stream> connect_tcp(const WebSocketClientOptions& options) {
    const auto deadline = std::chrono::steady_clock::now() + options.connect_timeout;
    const auto endpoints = co_await detail::resolve(options.host, options.port, deadline);
    beast::tcp_stream stream{co_await asio::this_coro::executor};
    stream.expires_at(deadline);
    auto [ec, endpoint] = co_await stream.async_connect(endpoints, use_tuple);
    if (ec) throw system_error(ec, "connecting to " + host_header(options));
    // Small protocol messages must not wait for the peer's delayed ACK (Nagle: ~40 ms each).
    stream.socket().set_option(tcp::no_delay(true), ec);
    stream.expires_never();
    co_return stream;
}

std::shared_ptr<ssl::context> make_client_tls_context(const WebSocketClientOptions& options) {
    auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
    context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                         ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                         ssl::context::no_tlsv1_1);
    if (options.verify_peer) {
        context->set_default_verify_paths();
        if (!options.ca_file.empty()) context->load_verify_file(options.ca_file);
        context->set_verify_mode(ssl::verify_peer);
    } else {
        context->set_verify_mode(ssl::verify_none);
    }
    return context;
}

template <class Next>
asio::awaitable<void> upgrade_client(Connection<Next>& connection,
                                     const WebSocketClientOptions& options) {
    auto& ws = connection.socket();
    connection.configure(options.handshake_timeout, options.max_message_bytes);
    ws.set_option(websocket::stream_base::decorator(
        [headers = options.headers](websocket::request_type& request) {
            request.set(http::field::user_agent, product_name());
            for (const auto& [name, value] : headers)
                request.set(name, value);
        }));
    connection.tap().start_recording();
    websocket::response_type response;
    auto [ec] =
        co_await ws.async_handshake(response, host_header(options), options.target, use_tuple);
    auto refusal = connection.tap().refusal();
    connection.tap().stop_recording();
    if (refusal) throw HandshakeRefused(refusal->status, refusal->reason);
    if (ec == websocket::error::upgrade_declined)
        throw HandshakeRefused(static_cast<int>(response.result_int()),
                               std::string(response.reason()));
    if (ec) throw system_error(ec, "WebSocket upgrade with " + host_header(options));
}

// ---------------------------------------------------------------------------------------------
// Server helpers

std::string reason_for(int status) {
    // Autobahn's spellings, which Buildbot sends.
    if (status == 400) return "Bad request";
    if (status == 401) return "Unauthorized";
    const auto known = http::int_to_status(static_cast<unsigned>(status));
    if (known == http::status::unknown) return "Unknown";
    return std::string(http::obsolete_reason(known));
}

bool has_token(const http::fields& fields, http::field name, std::string_view token) {
    const auto it = fields.find(name);
    return it != fields.end() && http::token_list{it->value()}.exists(token);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Shared with http_server.cpp (detail/server_websocket.hpp)

namespace detail {

std::unique_ptr<ServerWebSocket> make_server_websocket(beast::tcp_stream stream,
                                                       std::string remote_endpoint,
                                                       std::chrono::milliseconds handshake_timeout,
                                                       std::size_t max_message_bytes,
                                                       std::function<void()> on_destroy) {
    return std::make_unique<PlainServerWebSocket>(std::move(stream), std::move(remote_endpoint),
                                                  handshake_timeout, max_message_bytes,
                                                  std::move(on_destroy));
}

bool is_valid_websocket_upgrade(const http::request_header<>& request) {
    if (request.version() != 11 || request.method() != http::verb::get) return false;
    if (request.count(http::field::host) != 1) return false;
    if (!has_token(request, http::field::connection, "upgrade")) return false;
    if (!has_token(request, http::field::upgrade, "websocket")) return false;
    const auto version = request.find(http::field::sec_websocket_version);
    if (version == request.end() || version->value() != "13") return false;
    const auto key = request.find(http::field::sec_websocket_key);
    if (key == request.end()) return false;
    const auto decoded = core::base64_decode(key->value());
    return decoded && decoded->size() == 16;
}

std::string endpoint_string(const tcp::endpoint& endpoint) {
    const auto address = endpoint.address();
    auto text = address.to_string();
    if (address.is_v6()) text = "[" + text + "]";
    return text + ":" + std::to_string(endpoint.port());
}

std::string product_name() { return "Kiln/" + std::string(core::kVersion); }

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// Public functions

asio::awaitable<std::unique_ptr<WebSocketConnection>>
connect_websocket(WebSocketClientOptions options) {
    auto tcp_stream = co_await connect_tcp(options);
    const auto remote = endpoint_string(tcp_stream.socket().remote_endpoint());
    if (!options.use_tls) {
        auto connection =
            std::make_unique<Connection<PlainLayer>>(remote, nullptr, std::move(tcp_stream));
        co_await upgrade_client(*connection, options);
        co_return connection;
    }

    auto context = make_client_tls_context(options);
    auto connection =
        std::make_unique<Connection<TlsLayer>>(remote, context, std::move(tcp_stream), *context);
    auto& tls = connection->tap().next_layer();
    if (!is_ip_address(options.host)) {
        // SNI; the SSL_set_tlsext_host_name macro would need a C-style cast.
        if (SSL_ctrl(tls.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                     const_cast<char*>(options.host.c_str())) != 1)
            throw system_error(
                error_code(static_cast<int>(ERR_get_error()), asio::error::get_ssl_category()),
                "setting the TLS server name");
    }
    if (options.verify_peer) tls.set_verify_callback(ssl::host_name_verification(options.host));
    auto& lowest = beast::get_lowest_layer(connection->socket());
    lowest.expires_after(options.handshake_timeout);
    auto [ec] = co_await tls.async_handshake(ssl::stream_base::client, use_tuple);
    if (ec) throw system_error(ec, "TLS handshake with " + host_header(options));
    lowest.expires_never();
    co_await upgrade_client(*connection, options);
    co_return connection;
}

std::string basic_authorization(std::string_view name, std::string_view password) {
    std::string credentials;
    credentials.reserve(name.size() + 1 + password.size());
    credentials.append(name).append(":").append(password);
    return "Basic " + core::base64_encode(credentials);
}

std::optional<std::pair<std::string, std::string>>
parse_basic_authorization(std::string_view header_value) {
    constexpr std::string_view kScheme = "basic";
    const auto is_space = [](char c) { return c == ' ' || c == '\t'; };
    while (!header_value.empty() && is_space(header_value.front()))
        header_value.remove_prefix(1);
    while (!header_value.empty() && is_space(header_value.back()))
        header_value.remove_suffix(1);
    if (header_value.size() <= kScheme.size() || !is_space(header_value[kScheme.size()]))
        return std::nullopt;
    if (!beast::iequals(header_value.substr(0, kScheme.size()), kScheme)) return std::nullopt;
    auto token = header_value.substr(kScheme.size());
    while (!token.empty() && is_space(token.front()))
        token.remove_prefix(1);
    const auto credentials = core::base64_decode(token);
    if (!credentials) return std::nullopt;
    const auto colon = credentials->find(':');
    if (colon == std::string::npos) return std::nullopt;
    return std::pair{credentials->substr(0, colon), credentials->substr(colon + 1)};
}

// ---------------------------------------------------------------------------------------------
// Server

struct WebSocketServer::Impl : std::enable_shared_from_this<Impl> {
    Impl(asio::any_io_executor executor, WebSocketServerOptions options, Authorize authorize,
         OnOpen on_open)
        : executor_(std::move(executor))
        , options_(std::move(options))
        , authorize_(std::move(authorize))
        , on_open_(std::move(on_open))
        , acceptor_(executor_)
        , tasks_idle_(executor_, asio::steady_timer::time_point::max()) {
        if (options_.tls_certificate.empty() != options_.tls_private_key.empty())
            throw std::invalid_argument(
                "WebSocket server: tls_certificate and tls_private_key must be set together");
        if (!options_.tls_certificate.empty()) {
            tls_ = std::make_shared<ssl::context>(ssl::context::tls_server);
            tls_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                              ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                              ssl::context::no_tlsv1_1);
            tls_->use_certificate_chain_file(options_.tls_certificate);
            tls_->use_private_key_file(options_.tls_private_key, ssl::context::pem);
        }
        const tcp::endpoint endpoint{asio::ip::make_address(options_.bind_address), options_.port};
        acceptor_.open(endpoint.protocol());
        acceptor_.set_option(tcp::acceptor::reuse_address(true));
        acceptor_.bind(endpoint);
        acceptor_.listen();
        port_ = acceptor_.local_endpoint().port();
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
                spdlog::warn("websocket server: accept failed: {}", ec.message());
                asio::steady_timer pause{executor_, std::chrono::milliseconds(100)};
                co_await pause.async_wait(use_tuple);
                continue;
            }
            spawn_connection(std::move(socket));
        }
        while (running_tasks_ > 0) {
            tasks_idle_.expires_at(asio::steady_timer::time_point::max());
            co_await tasks_idle_.async_wait(use_tuple);
        }
    }

    void spawn_connection(tcp::socket socket) {
        error_code ec;
        socket.set_option(tcp::no_delay(true), ec);  // see connect_tcp()
        const auto remote = socket.remote_endpoint(ec);
        if (ec) {
            spdlog::debug("websocket server: connection gone before setup: {}", ec.message());
            return;
        }
        ++running_tasks_;
        auto self = shared_from_this();
        auto remote_text = endpoint_string(remote);
        auto task = tls_ ? serve(start_connection<TlsLayer>(remote_text, std::move(socket), *tls_))
                         : serve(start_connection<PlainLayer>(remote_text, std::move(socket)));
        asio::co_spawn(executor_, std::move(task), [self, remote_text](std::exception_ptr error) {
            if (error) self->log_task_failure(remote_text, error);
            if (--self->running_tasks_ == 0) self->tasks_idle_.cancel();
        });
    }

    // Creates the connection object at once, so that stop() can abort it in every phase.
    template <class Next, class... Args>
    std::unique_ptr<Connection<Next>> start_connection(const std::string& remote, Args&&... args) {
        auto connection =
            std::make_unique<Connection<Next>>(remote, tls_, std::forward<Args>(args)...);
        const auto id = next_connection_id_++;
        open_connections_.emplace(id, connection.get());
        connection->on_destroy([weak = weak_from_this(), id] {
            if (auto self = weak.lock()) self->open_connections_.erase(id);
        });
        return connection;
    }

    void log_task_failure(const std::string& remote, std::exception_ptr error) {
        try {
            std::rethrow_exception(error);
        } catch (const system_error& failure) {
            spdlog::info("websocket {}: connection failed: {}", remote, failure.what());
        } catch (const std::exception& failure) {
            spdlog::warn("websocket {}: connection task failed: {}", remote, failure.what());
        }
    }

    template <class Next>
    asio::awaitable<void> serve(std::unique_ptr<Connection<Next>> connection) {
        if (is_stopping_) co_return;
        auto& tap = connection->tap();
        auto& lowest = beast::get_lowest_layer(connection->socket());
        lowest.expires_after(options_.handshake_timeout);
        if constexpr (kIsTls<Next>) {
            auto [ec] =
                co_await tap.next_layer().async_handshake(ssl::stream_base::server, use_tuple);
            if (ec) {
                spdlog::debug("websocket {}: TLS handshake failed: {}",
                              connection->remote_endpoint(), ec.message());
                co_return;
            }
        }

        std::string head;
        auto [read_ec, head_size] = co_await asio::async_read_until(
            tap, asio::dynamic_buffer(head, kMaxRequestHeadBytes), "\r\n\r\n", use_tuple);
        if (read_ec == asio::error::not_found) {
            co_await refuse(*connection, 431);
            co_return;
        }
        if (read_ec) {
            spdlog::debug("websocket {}: no upgrade request: {}", connection->remote_endpoint(),
                          read_ec.message());
            co_return;
        }

        http::request_parser<http::empty_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(kMaxRequestHeadBytes));
        parser.eager(false);
        error_code parse_ec;
        parser.put(asio::buffer(head.data(), head_size), parse_ec);
        if (parse_ec || !parser.is_header_done() || parser.chunked() ||
            parser.content_length().value_or(0) != 0 ||
            !detail::is_valid_websocket_upgrade(parser.get())) {
            co_await refuse(*connection, 400);
            co_return;
        }
        const auto& request = parser.get();
        UpgradeRequest upgrade{.target = std::string(request.target()),
                               .authorization = std::nullopt,
                               .remote_endpoint = connection->remote_endpoint()};
        if (auto it = request.find(http::field::authorization); it != request.end())
            upgrade.authorization = std::string(it->value());

        const int status = decide(upgrade);
        if (status != 101) {
            co_await refuse(*connection, status);
            co_return;
        }

        // A client must wait for the 101 before sending frames, but keep anything it sent early.
        head.erase(0, head_size);
        connection->configure(options_.handshake_timeout, options_.max_message_bytes);
        std::vector<std::pair<std::string, std::string>> no_extra_headers;
        auto accepting = connection->accept(request, std::move(head), std::move(no_extra_headers));
        const auto accept_ec = co_await std::move(accepting);
        if (accept_ec) {
            spdlog::debug("websocket {}: upgrade failed: {}", connection->remote_endpoint(),
                          accept_ec.message());
            co_return;
        }
        co_await on_open_(std::move(connection), std::move(upgrade));
    }

    int decide(const UpgradeRequest& upgrade) {
        int status = 500;
        try {
            status = authorize_(upgrade);
        } catch (const std::exception& error) {
            spdlog::error("websocket {}: authorize failed: {}", upgrade.remote_endpoint,
                          error.what());
            return 500;
        }
        if (status == 101 || (status >= 200 && status <= 599)) return status;
        spdlog::error("websocket {}: authorize returned the invalid status {}",
                      upgrade.remote_endpoint, status);
        return 500;
    }

    // Buildbot's refusal: the bare status line, then the connection is dropped.
    template <class Next>
    asio::awaitable<void> refuse(Connection<Next>& connection, int status) {
        const auto answer =
            "HTTP/1.1 " + std::to_string(status) + " " + reason_for(status) + "\r\n\r\n";
        spdlog::debug("websocket {}: upgrade refused with {}", connection.remote_endpoint(),
                      status);
        auto [ec, size] =
            co_await asio::async_write(connection.tap(), asio::buffer(answer), use_tuple);
        if (!ec) {
            if constexpr (kIsTls<Next>) {
                auto [shutdown_ec] =
                    co_await connection.tap().next_layer().async_shutdown(use_tuple);
                if (shutdown_ec)
                    spdlog::debug("websocket {}: TLS shutdown: {}", connection.remote_endpoint(),
                                  shutdown_ec.message());
            }
            error_code ignored;
            beast::get_lowest_layer(connection.socket())
                .socket()
                .shutdown(tcp::socket::shutdown_send, ignored);
        }
        connection.abort();
    }

    void stop_now() {
        is_stopping_ = true;
        error_code ignored;
        acceptor_.close(ignored);
        for (auto& [id, connection] : open_connections_)
            connection->abort();
    }

    asio::any_io_executor executor_;
    WebSocketServerOptions options_;
    Authorize authorize_;
    OnOpen on_open_;
    std::shared_ptr<ssl::context> tls_;
    tcp::acceptor acceptor_;
    bool is_stopping_ = false;
    std::size_t running_tasks_ = 0;
    asio::steady_timer tasks_idle_;
    std::uint64_t next_connection_id_ = 0;
    std::unordered_map<std::uint64_t, WebSocketConnection*> open_connections_;
    std::uint16_t port_ = 0;
};

WebSocketServer::WebSocketServer(asio::any_io_executor executor, WebSocketServerOptions options,
                                 Authorize authorize, OnOpen on_open)
    : impl_(std::make_shared<Impl>(std::move(executor), std::move(options), std::move(authorize),
                                   std::move(on_open))) {}

WebSocketServer::~WebSocketServer() { impl_->stop_now(); }

std::uint16_t WebSocketServer::port() const { return impl_->port_; }

asio::awaitable<void> WebSocketServer::run() {
    auto impl = impl_;  // the server object may go away while connection tasks finish
    co_await impl->accept_connections();
}

void WebSocketServer::stop() {
    asio::dispatch(impl_->executor_, [impl = impl_] { impl->stop_now(); });
}

}  // namespace kiln::io
