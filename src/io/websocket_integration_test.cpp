// SPDX-License-Identifier: Apache-2.0
// WebSocket client and server over loopback TCP (and TLS), including Buildbot's wire quirks:
// bare refusal status lines, a first message in the 101's segment, Close frames.
#include "core/base64.hpp"
#include "io/websocket.hpp"

#include <array>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <gtest/gtest.h>
#include <openssl/sha.h>
#include <stdlib.h>

// GCC 12 reports a false -Wmismatched-new-delete for Asio's coroutine frames, which have a
// class-specific operator new/delete (GCC bug 109224, fixed in GCC 13).
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using kiln::io::HandshakeRefused;
using kiln::io::UpgradeRequest;
using kiln::io::WebSocketClientOptions;
using kiln::io::WebSocketConnection;
using kiln::io::WebSocketServer;
using kiln::io::WebSocketServerOptions;
using tcp = asio::ip::tcp;
using Executor = asio::any_io_executor;
using Clock = std::chrono::steady_clock;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr auto kTestTimeLimit = 20s;

// A flag that coroutines can wait for.
class Event {
public:
    explicit Event(const Executor& executor)
        : timer_(executor, asio::steady_timer::time_point::max()) {}
    void set() {
        is_set_ = true;
        timer_.cancel();
    }
    bool is_set() const { return is_set_; }
    asio::awaitable<void> wait() {
        while (!is_set_)
            co_await timer_.async_wait(use_tuple);
    }

private:
    asio::steady_timer timer_;
    bool is_set_ = false;
};

// A spawned task that can be awaited later; rethrows what the task threw.
class Task {
public:
    static std::shared_ptr<Task> spawn(const Executor& executor, asio::awaitable<void> body) {
        auto task = std::make_shared<Task>(executor);
        asio::co_spawn(executor, std::move(body), [task](std::exception_ptr error) {
            task->error_ = error;
            task->done_.set();
        });
        return task;
    }
    explicit Task(const Executor& executor)
        : done_(executor) {}
    bool is_done() const { return done_.is_set(); }
    asio::awaitable<void> join() {
        co_await done_.wait();
        if (error_) std::rethrow_exception(error_);
    }

private:
    Event done_;
    std::exception_ptr error_;
};

// Runs one test coroutine on a fresh io_context and fails the test when it overruns.
void run_bounded(const std::function<asio::awaitable<void>(Executor)>& test) {
    asio::io_context io;
    bool is_finished = false;
    std::exception_ptr error;
    asio::co_spawn(io, test(io.get_executor()), [&](std::exception_ptr thrown) {
        is_finished = true;
        error = thrown;
        io.stop();
    });
    io.run_for(kTestTimeLimit);
    ASSERT_TRUE(is_finished) << "the test did not finish within its time limit";
    if (error) {
        try {
            std::rethrow_exception(error);
        } catch (const std::exception& failure) {
            FAIL() << "the test threw: " << failure.what();
        }
    }
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds duration) {
    asio::steady_timer timer{co_await asio::this_coro::executor, duration};
    co_await timer.async_wait(use_tuple);
}

WebSocketServerOptions loopback_server() {
    WebSocketServerOptions options;
    options.bind_address = "127.0.0.1";
    options.port = 0;
    return options;
}

WebSocketClientOptions client_for(std::uint16_t port) {
    WebSocketClientOptions options;
    options.host = "127.0.0.1";
    options.port = port;
    options.headers = {{"Authorization", kiln::io::basic_authorization("worker", "pass")}};
    options.connect_timeout = 5s;
    options.handshake_timeout = 5s;
    return options;
}

// 101 for worker/pass on "/", 401 without or with wrong credentials, 400 for another path.
int authorize_worker(const UpgradeRequest& request) {
    if (request.target != "/") return 400;
    if (!request.authorization) return 401;
    auto credentials = kiln::io::parse_basic_authorization(*request.authorization);
    if (!credentials) return 400;
    return *credentials == std::pair<std::string, std::string>{"worker", "pass"} ? 101 : 401;
}

// Answers every message with prefix + message, until the connection ends.
WebSocketServer::OnOpen echo(std::string prefix) {
    return [prefix](std::unique_ptr<WebSocketConnection> connection,
                    UpgradeRequest) -> asio::awaitable<void> {
        while (auto message = co_await connection->read())
            co_await connection->send(prefix + message->data);
    };
}

std::string pseudo_random_bytes(std::size_t size, unsigned seed) {
    std::string bytes(size, '\0');
    std::uint32_t state = seed * 2654435761u + 1;
    for (auto& byte : bytes) {
        state = state * 1664525u + 1013904223u;
        byte = static_cast<char>(state >> 24);
    }
    return bytes;
}

// Plain TCP helpers for checking bytes on the wire.

asio::awaitable<tcp::socket> connect_raw(std::uint16_t port) {
    tcp::socket socket{co_await asio::this_coro::executor};
    co_await socket.async_connect({asio::ip::make_address("127.0.0.1"), port}, asio::use_awaitable);
    co_return socket;
}

// Everything the peer sends until it closes the connection.
asio::awaitable<std::string> read_to_end(tcp::socket& socket) {
    std::string received;
    std::array<char, 4096> chunk{};
    for (;;) {
        auto [ec, size] = co_await socket.async_read_some(asio::buffer(chunk), use_tuple);
        received.append(chunk.data(), size);
        if (ec) break;
    }
    co_return received;
}

std::string upgrade_request(std::string_view target, std::string_view extra_headers = "") {
    return std::string("GET ")
        .append(target)
        .append(" HTTP/1.1\r\n"
                "Host: 127.0.0.1\r\n"
                "Upgrade: WebSocket\r\n"
                "Connection: Upgrade\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                "Sec-WebSocket-Version: 13\r\n")
        .append(extra_headers)
        .append("\r\n");
}

std::string accept_key(std::string_view key) {
    const std::string text = std::string(key) + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    std::array<unsigned char, SHA_DIGEST_LENGTH> digest{};
    SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest.data());
    return kiln::core::base64_encode(
        std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

// A hand-written server: accepts one connection and returns it with its request head read.
struct RawUpgrade {
    tcp::socket socket;
    std::string request;
    std::string key;
};

asio::awaitable<RawUpgrade> accept_raw(tcp::acceptor& acceptor) {
    auto socket = co_await acceptor.async_accept(asio::use_awaitable);
    std::string request;
    const auto size = co_await asio::async_read_until(socket, asio::dynamic_buffer(request),
                                                      "\r\n\r\n", asio::use_awaitable);
    request.resize(size);
    std::string key;
    constexpr std::string_view kKeyField = "Sec-WebSocket-Key: ";
    if (const auto at = request.find(kKeyField); at != std::string::npos) {
        const auto start = at + kKeyField.size();
        key = request.substr(start, request.find("\r\n", start) - start);
    }
    co_return RawUpgrade{std::move(socket), std::move(request), std::move(key)};
}

tcp::acceptor loopback_acceptor(const Executor& executor) {
    return tcp::acceptor{executor, {asio::ip::make_address("127.0.0.1"), 0}};
}

// A server together with the task running it.
struct RunningServer {
    std::unique_ptr<WebSocketServer> server;
    std::shared_ptr<Task> task;

    std::uint16_t port() const { return server->port(); }
    asio::awaitable<void> stop() {
        server->stop();
        co_await task->join();
    }
};

RunningServer start_server(const Executor& executor, WebSocketServer::Authorize authorize,
                           WebSocketServer::OnOpen on_open,
                           WebSocketServerOptions options = loopback_server()) {
    auto server = std::make_unique<WebSocketServer>(executor, std::move(options),
                                                    std::move(authorize), std::move(on_open));
    auto task = Task::spawn(executor, server->run());
    return RunningServer{std::move(server), std::move(task)};
}

// ---------------------------------------------------------------------------------------------

TEST(WebSocket, exchanges_binary_messages_in_both_directions) {
    run_bounded([](Executor executor) -> asio::awaitable<void> {
        std::optional<UpgradeRequest> seen;
        auto server = start_server(
            executor,
            [&seen](const UpgradeRequest& request) {
                seen = request;
                return authorize_worker(request);
            },
            echo("echo:"));
        auto client = co_await kiln::io::connect_websocket(client_for(server.port()));

        std::string every_byte;
        for (int value = 0; value < 256; ++value)
            every_byte += static_cast<char>(value);
        co_await client->send(every_byte);
        auto answer = co_await client->read();
        EXPECT_TRUE(answer.has_value());
        if (answer) {
            EXPECT_EQ(answer->data, "echo:" + every_byte);
            EXPECT_FALSE(answer->is_text);
        }
        co_await client->send("");
        answer = co_await client->read();
        EXPECT_TRUE(answer && answer->data == "echo:");

        EXPECT_TRUE(seen.has_value());
        if (seen) {
            EXPECT_EQ(seen->target, "/");
            EXPECT_EQ(seen->authorization, kiln::io::basic_authorization("worker", "pass"));
            EXPECT_TRUE(seen->remote_endpoint.starts_with("127.0.0.1:"));
        }
        EXPECT_TRUE(client->remote_endpoint() == "127.0.0.1:" + std::to_string(server.port()));
        co_await client->close();
        co_await server.stop();
    });
}

TEST(WebSocket, connects_by_host_name_and_sends_it_in_the_host_header) {
    run_bounded([](Executor executor) -> asio::awaitable<void> {
        std::optional<std::string> host;
        auto server = start_server(executor, authorize_worker, echo(""));
        auto acceptor = loopback_acceptor(executor);
        auto master = Task::spawn(
            executor,
            [](tcp::acceptor& listener, std::optional<std::string>& seen) -> asio::awaitable<void> {
                auto peer = co_await accept_raw(listener);
                seen = peer.request;
            }(acceptor, host));
        auto options = client_for(acceptor.local_endpoint().port());
        options.host = "localhost";
        try {
            co_await kiln::io::connect_websocket(options);
        } catch (const boost::system::system_error&) {
            // expected: the raw peer hangs up without answering
        }
        co_await master->join();
        const auto expected = "\r\nHost: localhost:" + std::to_string(options.port) + "\r\n";
        EXPECT_TRUE(host && host->find(expected) != std::string::npos) << host.value_or("none");

        // And a full connection through the resolver.
        options.port = server.port();
        auto client = co_await kiln::io::connect_websocket(options);
        co_await client->send("by name");
        auto answer = co_await client->read();
        EXPECT_TRUE(answer && answer->data == "by name");
        co_await client->close();
        co_await server.stop();
    });
}

TEST(WebSocket, carries_a_one_mebibyte_message_in_each_direction) {
    run_bounded([](Executor executor) -> asio::awaitable<void> {
        auto server = start_server(executor, authorize_worker, echo(""));
        auto client = co_await kiln::io::connect_websocket(client_for(server.port()));
        const auto payload = pseudo_random_bytes(1024 * 1024, 7);
        co_await client->send(payload);
        auto answer = co_await client->read();
        EXPECT_TRUE(answer.has_value());
        if (answer) {
            EXPECT_EQ(answer->data.size(), payload.size());
            EXPECT_TRUE(answer->data == payload) << "the echoed message differs";
        }
        co_await client->close();
        co_await server.stop();
    });
}

TEST(WebSocket, delivers_concurrent_sends_in_call_order) {
    run_bounded([](Executor executor) -> asio::awaitable<void> {
        constexpr int kSends = 16;
        std::vector<std::string> received;
        Event all_received{executor};
        auto server = start_server(executor, authorize_worker,
                                   [&](std::unique_ptr<WebSocketConnection> connection,
                                       UpgradeRequest) -> asio::awaitable<void> {
                                       while (auto message = co_await connection->read()) {
                                           received.push_back(std::move(message->data));
                                           if (received.size() == kSends) all_received.set();
                                       }
                                   });
        auto client = co_await kiln::io::connect_websocket(client_for(server.port()));

        std::vector<std::string> payloads;
        std::vector<std::shared_ptr<Task>> senders;
        for (int i = 0; i < kSends; ++i) {
            // Sizes vary so that a later, shorter message could overtake a longer one.
            payloads.push_back(
                std::to_string(i) + ":" +
                pseudo_random_bytes((i % 2 == 0 ? 300'000u : 10u), static_cast<unsigned>(i)));
            senders.push_back(Task::spawn(executor, client->send(payloads.back())));
        }
        for (auto& sender : senders)
            co_await sender->join();
        co_await all_received.wait();
        EXPECT_EQ(received.size(), payloads.size());
        for (std::size_t i = 0; i < std::min(received.size(), payloads.size()); ++i)
            EXPECT_TRUE(received[i] == payloads[i]) << "message " << i << " out of order";

        co_await client->close();
        co_await server.stop();
    });
}

TEST(WebSocket, receives_the_message_the_server_sends_right_after_accepting) {
    run_bounded([](Executor executor) -> asio::awaitable<void> {
        auto server = start_server(executor, authorize_worker,
                                   [](std::unique_ptr<WebSocketConnection> connection,
                                      UpgradeRequest) -> asio::awaitable<void> {
                                       co_await connection->send("first");
                                       while (co_await connection->read()) {
                                       }
                                   });
        auto client = co_await kiln::io::connect_websocket(client_for(server.port()));
        auto first = co_await client->read();
        EXPECT_TRUE(first && first->data == "first");
        co_await client->close();
        co_await server.stop();
    });
}

TEST(WebSocket, keeps_a_first_message_that_arrives_in_the_same_segment_as_the_101) {
    run_bounded([](Executor executor) -> asio::awaitable<void> {
        auto acceptor = loopback_acceptor(executor);
        const auto port = acceptor.local_endpoint().port();
        // Coroutine lambdas take parameters, not captures: the closure dies before the task.
        auto master = Task::spawn(executor, [](tcp::acceptor& listener) -> asio::awaitable<void> {
            auto peer = co_await accept_raw(listener);
            EXPECT_NE(peer.request.find("Authorization: Basic d29ya2VyOnBhc3M=\r\n"),
                      std::string::npos)
                << peer.request;
            // One write: the head and an unmasked binary frame "first".
            const std::string answer = "HTTP/1.1 101 Switching Protocols\r\n"
                                       "Upgrade: WebSocket\r\n"
                                       "Connection: Upgrade\r\n"
                                       "Sec-WebSocket-Accept: " +
                                       accept_key(peer.key) +
                                       "\r\n\r\n"
                                       "\x82\x05"
                                       "first"
                                       "\x81\x04"
                                       "text";
            co_await asio::async_write(peer.socket, asio::buffer(answer), asio::use_awaitable);
            co_await read_to_end(peer.socket);
        }(acceptor));
        auto client = co_await kiln::io::connect_websocket(client_for(port));
        auto first = co_await client->read();
        EXPECT_TRUE(first && first->data == "first" && !first->is_text);
        auto second = co_await client->read();
        EXPECT_TRUE(second && second->data == "text" && second->is_text);
        client->abort();
        co_await master->join();
    });
}

TEST(WebSocket, reports_a_refused_upgrade_as_handshake_refused_with_its_status) {
    run_bounded([](Executor executor) -> asio::awaitable<void> {
        auto server = start_server(executor, authorize_worker, echo(""));
        auto options = client_for(server.port());
        options.headers = {{"Authorization", kiln::io::basic_authorization("worker", "wrong")}};
        std::optional<int> status;
        try {
            co_await kiln::io::connect_websocket(options);
        } catch (const HandshakeRefused& refused) {
            status = refused.status();
        }
        EXPECT_EQ(status, 401);

        options.target = "/elsewhere";
        status.reset();
        try {
            co_await kiln::io::connect_websocket(options);
        } catch (const HandshakeRefused& refused) {
            status = refused.status();
        }
        EXPECT_EQ(status, 400);
        co_await server.stop();
    });
}

TEST(WebSocket, refuses_with_only_the_bare_status_line_and_closes) {
    run_bounded([](Executor executor) -> asio::awaitable<void> {
        auto server = start_server(
            executor,
            [](const UpgradeRequest& request) {
                return request.target == "/forbidden" ? 403 : authorize_worker(request);
            },
            echo(""));
        auto socket = co_await connect_raw(server.port());
        co_await asio::async_write(socket, asio::buffer(upgrade_request("/")), asio::use_awaitable);
        EXPECT_EQ(co_await read_to_end(socket), "HTTP/1.1 401 Unauthorized\r\n\r\n");

        socket = co_await connect_raw(server.port());
        co_await asio::async_write(
            socket, asio::buffer(upgrade_request("/", "Authorization: Bearer abc\r\n")),
            asio::use_awaitable);
        EXPECT_EQ(co_await read_to_end(socket), "HTTP/1.1 400 Bad request\r\n\r\n");

        socket = co_await connect_raw(server.port());
        co_await asio::async_write(socket, asio::buffer(upgrade_request("/forbidden")),
                                   asio::use_awaitable);
        EXPECT_EQ(co_await read_to_end(socket), "HTTP/1.1 403 Forbidden\r\n\r\n");
        co_await server.stop();
    });
}

TEST(WebSocket, answers_a_request_that_is_no_upgrade_with_bad_request_and_keeps_serving) {
    run_bounded([](Executor executor) -> asio::awaitable<void> {
        int authorize_calls = 0;
        auto server = start_server(
            executor,
            [&authorize_calls](const UpgradeRequest& request) {
                ++authorize_calls;
                return authorize_worker(request);
            },
            echo(""));
        for (std::string request : {"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                                    "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                                    "Connection: Upgrade\r\n\r\n",
                                    "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                                    "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
                                    "not http at all\r\n\r\n"}) {
            auto socket = co_await connect_raw(server.port());
            co_await asio::async_write(socket, asio::buffer(request), asio::use_awaitable);
            EXPECT_EQ(co_await read_to_end(socket), "HTTP/1.1 400 Bad request\r\n\r\n") << request;
        }
        EXPECT_EQ(authorize_calls, 0);

        // A client that connects and goes away, then a good one.
        (co_await connect_raw(server.port())).close();
        auto client = co_await kiln::io::connect_websocket(client_for(server.port()));
        co_await client->send("still serving");
        auto answer = co_await client->read();
        EXPECT_TRUE(answer && answer->data == "still serving");
        co_await client->close();
        co_await server.stop();
    });
}

TEST(WebSocket, answers_internal_server_error_when_authorize_throws) {
    run_bounded([](Executor executor) -> asio::awaitable<void> {
        auto server = start_server(
            executor,
            [](const UpgradeRequest&) -> int { throw std::runtime_error("worker table gone"); },
            echo(""));
        auto socket = co_await connect_raw(server.port());
        co_await asio::async_write(socket, asio::buffer(upgrade_request("/")), asio::use_awaitable);
        EXPECT_EQ(co_await read_to_end(socket), "HTTP/1.1 500 Internal Server Error\r\n\r\n");
        co_await server.stop();
    });
}

TEST(WebSocket, refuses_a_request_head_larger_than_the_limit) {
    run_bounded([](Executor executor) -> asio::awaitable<void> {
        auto server = start_server(executor, authorize_worker, echo(""));
        auto socket = co_await connect_raw(server.port());
        std::string head = "GET / HTTP/1.1\r\n";
        while (head.size() < 16 * 1024)
            head += "X-Filler: 0123456789abcdef\r\n";
        head.resize(16 * 1024);  // exactly the limit, never terminated
        co_await asio::async_write(socket, asio::buffer(head), asio::use_awaitable);
        EXPECT_EQ(co_await read_to_end(socket),
                  "HTTP/1.1 431 Request Header Fields Too Large\r\n\r\n");
        co_await server.stop();
    });
}

TEST(WebSocket, drops_a_client_that_sends_no_request_within_the_handshake_timeout) {
    run_bounded([](Executor executor) -> asio::awaitable<void> {
        auto options = loopback_server();
        options.handshake_timeout = 200ms;
        auto server = start_server(executor, authorize_worker, echo(""), options);
        auto silent = co_await connect_raw(server.port());
        const auto start = Clock::now();
        EXPECT_EQ(co_await read_to_end(silent), "");
        EXPECT_LT(Clock::now() - start, 3s);
        co_await server.stop();
    });
}

TEST(WebSocket, keeps_a_frame_the_client_sent_together_with_its_request) {
    run_bounded([](Executor executor) -> asio::awaitable<void> {
        std::optional<std::string> received;
        Event got_message{executor};
        auto server = start_server(executor, authorize_worker,
                                   [&](std::unique_ptr<WebSocketConnection> connection,
                                       UpgradeRequest) -> asio::awaitable<void> {
                                       if (auto message = co_await connection->read())
                                           received = message->data;
                                       got_message.set();
                                   });
        auto socket = co_await connect_raw(server.port());
        // A masked binary frame "early" (mask 0), written in the same call as the request.
        const std::string early =
            upgrade_request("/", "Authorization: Basic d29ya2VyOnBhc3M=\r\n") +
            std::string("\x82\x85\x00\x00\x00\x00", 6) + "early";
        co_await asio::async_write(socket, asio::buffer(early), asio::use_awaitable);
        co_await got_message.wait();
        EXPECT_EQ(received, "early");
        co_await server.stop();
    });
}

TEST(WebSocket, ends_a_connection_whose_message_exceeds_the_limit) {
    run_bounded([](Executor executor) -> asio::awaitable<void> {
        auto options = loopback_server();
        options.max_message_bytes = 1000;
        std::optional<std::size_t> first_size;
        bool is_second_read_empty = false;
        Event done{executor};
        auto server = start_server(
            executor, authorize_worker,
            [&](std::unique_ptr<WebSocketConnection> connection,
                UpgradeRequest) -> asio::awaitable<void> {
                if (auto message = co_await connection->read()) first_size = message->data.size();
                is_second_read_empty = !co_await connection->read();
                done.set();
            },
            options);
        auto client = co_await kiln::io::connect_websocket(client_for(server.port()));
        auto reader =
            Task::spawn(executor, [](WebSocketConnection& connection) -> asio::awaitable<void> {
                EXPECT_FALSE(co_await connection.read());  // the server's Close (1009) ends it
            }(*client));
        const auto start = Clock::now();
        co_await client->send(std::string(1000, 'a'));
        co_await client->send(std::string(1001, 'b'));
        co_await done.wait();
        co_await reader->join();
        EXPECT_LT(Clock::now() - start, 3s);
        EXPECT_EQ(first_size, 1000u);
        EXPECT_TRUE(is_second_read_empty);
        co_await server.stop();
    });
}

TEST(WebSocket, ends_the_read_when_a_peer_sends_close_but_keeps_tcp_open) {
    run_bounded([](Executor executor) -> asio::awaitable<void> {
        auto options = loopback_server();
        options.handshake_timeout = 300ms;  // also bounds the closing handshake
        Event read_ended{executor};
        auto server = start_server(
            executor, authorize_worker,
            [&](std::unique_ptr<WebSocketConnection> connection,
                UpgradeRequest) -> asio::awaitable<void> {
                while (co_await connection->read()) {
                }
                read_ended.set();
            },
            options);
        auto socket = co_await connect_raw(server.port());
        co_await asio::async_write(
            socket, asio::buffer(upgrade_request("/", "Authorization: Basic d29ya2VyOnBhc3M=\r\n")),
            asio::use_awaitable);
        std::string head;
        co_await asio::async_read_until(socket, asio::dynamic_buffer(head), "\r\n\r\n",
                                        asio::use_awaitable);
        EXPECT_TRUE(head.starts_with("HTTP/1.1 101 "));
        const auto start = Clock::now();
        co_await asio::async_write(socket, asio::buffer("\x88\x80\x00\x00\x00\x00", 6),
                                   asio::use_awaitable);
        co_await read_ended.wait();  // the socket stays open on this side
        EXPECT_LT(Clock::now() - start, 3s);
        co_await server.stop();
    });
}

TEST(WebSocket, client_reports_a_bare_refusal_however_the_master_ends_the_connection) {
    enum class Ending { close, reset, stay_open };
    for (auto ending : {Ending::close, Ending::reset, Ending::stay_open}) {
        run_bounded([ending](Executor executor) -> asio::awaitable<void> {
            auto acceptor = loopback_acceptor(executor);
            const auto port = acceptor.local_endpoint().port();
            Event client_done{executor};
            auto master =
                Task::spawn(executor,
                            [](tcp::acceptor& listener, Event& client_gone,
                               Ending end_with) -> asio::awaitable<void> {
                                auto peer = co_await accept_raw(listener);
                                constexpr std::string_view kRefusal =
                                    "HTTP/1.1 401 Unauthorized\r\n\r\n";
                                co_await asio::async_write(peer.socket, asio::buffer(kRefusal),
                                                           asio::use_awaitable);
                                if (end_with == Ending::reset) {
                                    peer.socket.set_option(tcp::socket::linger(true, 0));
                                    peer.socket.close();
                                } else if (end_with == Ending::close) {
                                    peer.socket.shutdown(tcp::socket::shutdown_send);
                                    co_await read_to_end(peer.socket);
                                } else {
                                    co_await client_gone.wait();
                                }
                            }(acceptor, client_done, ending));
            auto options = client_for(port);
            options.handshake_timeout = 15s;  // the refusal must not wait for it
            const auto start = Clock::now();
            std::optional<int> status;
            try {
                co_await kiln::io::connect_websocket(options);
            } catch (const HandshakeRefused& refused) {
                status = refused.status();
            }
            client_done.set();
            EXPECT_EQ(status, 401) << "ending " << static_cast<int>(ending);
            EXPECT_LT(Clock::now() - start, 5s) << "ending " << static_cast<int>(ending);
            co_await master->join();
        });
    }
}

TEST(WebSocket, close_sends_a_close_frame_with_an_empty_payload) {
    run_bounded([](Executor executor) -> asio::awaitable<void> {
        auto acceptor = loopback_acceptor(executor);
        const auto port = acceptor.local_endpoint().port();
        std::string close_frame;
        auto master = Task::spawn(
            executor,
            [](tcp::acceptor& listener, std::string& received_close) -> asio::awaitable<void> {
                auto peer = co_await accept_raw(listener);
                const std::string answer =
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\n"
                    "Connection: Upgrade\r\nSec-WebSocket-Accept: " +
                    accept_key(peer.key) + "\r\n\r\n";
                co_await asio::async_write(peer.socket, asio::buffer(answer), asio::use_awaitable);
                received_close.resize(6);  // opcode, length, 4 mask bytes: no payload
                co_await asio::async_read(peer.socket, asio::buffer(received_close),
                                          asio::use_awaitable);
                co_await asio::async_write(peer.socket, asio::buffer("\x88\x00", 2),
                                           asio::use_awaitable);
                // The server closes TCP first, as RFC 6455 asks and Buildbot does.
                peer.socket.shutdown(tcp::socket::shutdown_send);
                co_await read_to_end(peer.socket);
            }(acceptor, close_frame));
        auto client = co_await kiln::io::connect_websocket(client_for(port));
        const auto start = Clock::now();
        co_await client->close();
        EXPECT_LT(Clock::now() - start, 3s);
        co_await master->join();
        EXPECT_EQ(close_frame.substr(0, 2), std::string("\x88\x80", 2));
    });
}

TEST(WebSocket, close_by_one_side_ends_the_read_on_the_other) {
    run_bounded([](Executor executor) -> asio::awaitable<void> {
        Event server_read_ended{executor};
        auto server = start_server(executor, authorize_worker,
                                   [&](std::unique_ptr<WebSocketConnection> connection,
                                       UpgradeRequest) -> asio::awaitable<void> {
                                       while (co_await connection->read()) {
                                       }
                                       server_read_ended.set();
                                   });
        auto client = co_await kiln::io::connect_websocket(client_for(server.port()));
        const auto start = Clock::now();
        co_await client->close(1000);
        co_await server_read_ended.wait();
        EXPECT_LT(Clock::now() - start, 3s);
        co_await server.stop();
    });
}

TEST(WebSocket, abort_on_one_side_ends_the_read_on_the_other) {
    run_bounded([](Executor executor) -> asio::awaitable<void> {
        Event server_read_ended{executor};
        WebSocketConnection* server_side = nullptr;
        Event opened{executor};
        auto server = start_server(executor, authorize_worker,
                                   [&](std::unique_ptr<WebSocketConnection> connection,
                                       UpgradeRequest) -> asio::awaitable<void> {
                                       server_side = connection.get();
                                       opened.set();
                                       while (co_await connection->read()) {
                                       }
                                       server_side = nullptr;
                                       server_read_ended.set();
                                   });

        // The server aborts: the client's read ends.
        auto client = co_await kiln::io::connect_websocket(client_for(server.port()));
        co_await opened.wait();
        server_side->abort();
        EXPECT_FALSE(co_await client->read());
        co_await server_read_ended.wait();

        // The client aborts: the server's read ends, and the client can no longer send.
        server_read_ended = Event{executor};
        client = co_await kiln::io::connect_websocket(client_for(server.port()));
        co_await client->send("hello");
        client->abort();
        co_await server_read_ended.wait();
        bool is_send_refused = false;
        try {
            co_await client->send("after abort");
        } catch (const boost::system::system_error&) {
            is_send_refused = true;
        }
        EXPECT_TRUE(is_send_refused);
        EXPECT_FALSE(co_await client->read());
        co_await server.stop();
    });
}

TEST(WebSocket, stop_ends_run_and_aborts_open_and_half_open_connections) {
    run_bounded([](Executor executor) -> asio::awaitable<void> {
        Event opened{executor};
        auto options = loopback_server();
        options.handshake_timeout = 30s;  // stop() must not wait for it
        auto server = start_server(
            executor, authorize_worker,
            [&](std::unique_ptr<WebSocketConnection> connection,
                UpgradeRequest) -> asio::awaitable<void> {
                opened.set();
                while (co_await connection->read()) {
                }
            },
            options);
        auto client = co_await kiln::io::connect_websocket(client_for(server.port()));
        auto silent = co_await connect_raw(server.port());  // never sends its request
        co_await opened.wait();
        co_await sleep_for(50ms);  // let the server start reading the silent client's request

        const auto start = Clock::now();
        server.server->stop();
        co_await server.task->join();
        EXPECT_LT(Clock::now() - start, 3s);
        EXPECT_FALSE(co_await client->read());
        EXPECT_EQ(co_await read_to_end(silent), "");
        bool is_refused = false;
        try {
            co_await kiln::io::connect_websocket(client_for(server.port()));
        } catch (const boost::system::system_error&) {
            is_refused = true;
        }
        EXPECT_TRUE(is_refused);
    });
}

// ---------------------------------------------------------------------------------------------
// TLS

class TemporaryDirectory {
public:
    TemporaryDirectory() {
        std::string pattern = (std::filesystem::temp_directory_path() / "kiln-ws-XXXXXX").string();
        if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        path_ = pattern;
    }
    ~TemporaryDirectory() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    TemporaryDirectory(const TemporaryDirectory&) = delete;
    TemporaryDirectory& operator=(const TemporaryDirectory&) = delete;
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

class WebSocketTls : public ::testing::Test {
protected:
    void SetUp() override {
        certificate_ = (directory_.path() / "cert.pem").string();
        key_ = (directory_.path() / "key.pem").string();
        const auto command = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 "
                             "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 "
                             "-keyout '" +
                             key_ + "' -out '" + certificate_ + "' 2>/dev/null";
        ASSERT_EQ(std::system(command.c_str()), 0) << command;
    }

    WebSocketServerOptions server_options() const {
        auto options = loopback_server();
        options.tls_certificate = certificate_;
        options.tls_private_key = key_;
        return options;
    }

    WebSocketClientOptions client_options(std::uint16_t port) const {
        auto options = client_for(port);
        options.use_tls = true;
        options.ca_file = certificate_;
        return options;
    }

    TemporaryDirectory directory_;
    std::string certificate_;
    std::string key_;
};

TEST_F(WebSocketTls, round_trips_messages_with_a_trusted_self_signed_certificate) {
    run_bounded([this](Executor executor) -> asio::awaitable<void> {
        auto server = start_server(executor, authorize_worker, echo("tls:"), server_options());
        auto client = co_await kiln::io::connect_websocket(client_options(server.port()));
        const auto payload = pseudo_random_bytes(1024 * 1024, 3);
        co_await client->send(payload);
        auto answer = co_await client->read();
        EXPECT_TRUE(answer && answer->data == "tls:" + payload);
        co_await client->close();
        co_await server.stop();
    });
}

TEST_F(WebSocketTls, reports_a_refusal_over_tls_as_handshake_refused) {
    run_bounded([this](Executor executor) -> asio::awaitable<void> {
        auto server = start_server(executor, authorize_worker, echo(""), server_options());
        auto options = client_options(server.port());
        options.headers.clear();
        std::optional<int> status;
        try {
            co_await kiln::io::connect_websocket(options);
        } catch (const HandshakeRefused& refused) {
            status = refused.status();
        }
        EXPECT_EQ(status, 401);
        co_await server.stop();
    });
}

TEST_F(WebSocketTls, rejects_a_certificate_it_does_not_trust) {
    run_bounded([this](Executor executor) -> asio::awaitable<void> {
        auto server = start_server(executor, authorize_worker, echo(""), server_options());
        auto options = client_options(server.port());
        options.ca_file.clear();
        bool is_rejected = false;
        try {
            co_await kiln::io::connect_websocket(options);
        } catch (const HandshakeRefused&) {
            ADD_FAILURE() << "the handshake got as far as HTTP";
        } catch (const boost::system::system_error&) {
            is_rejected = true;
        }
        EXPECT_TRUE(is_rejected);

        // Without verification the same certificate is accepted.
        options.verify_peer = false;
        auto client = co_await kiln::io::connect_websocket(options);
        co_await client->send("unverified");
        auto answer = co_await client->read();
        EXPECT_TRUE(answer && answer->data == "unverified");
        co_await client->close();
        co_await server.stop();
    });
}

}  // namespace
