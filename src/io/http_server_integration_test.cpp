// SPDX-License-Identifier: Apache-2.0
// HttpServer over loopback TCP, driven by a hand-written client so that the edge cases are on
// the wire: keep-alive, pipelining, HEAD, streamed bodies, the size and time limits, 100-continue,
// failures, cancellation of streams, and WebSocket upgrades (with io::connect_websocket too).
#include "core/base64.hpp"
#include "io/http_client.hpp"
#include "io/http_server.hpp"
#include "io/websocket.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <gtest/gtest.h>
#include <openssl/sha.h>

// GCC 12 reports a false -Wmismatched-new-delete for Asio's coroutine frames, which have a
// class-specific operator new/delete (GCC bug 109224, fixed in GCC 13).
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using kiln::io::BodyProducer;
using kiln::io::HttpRequest;
using kiln::io::HttpResponse;
using kiln::io::HttpServer;
using kiln::io::HttpServerOptions;
using kiln::io::WebSocketConnection;
using tcp = asio::ip::tcp;
using Executor = asio::any_io_executor;
using boost::system::error_code;

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

std::string lowercase(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

// ---------------------------------------------------------------------------------------------
// A hand-written HTTP client on one TCP connection.

struct Response {
    int status = 0;
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;
    std::size_t chunks = 0;  // the number of non-empty chunks of a chunked body

    bool has(const std::string& name) const { return headers.contains(name); }
    std::string header(const std::string& name) const {
        const auto it = headers.find(name);
        return it == headers.end() ? "" : it->second;
    }
};

// How a connection ended from the client's side.
struct Ending {
    std::string bytes;  // received before the end
    error_code ec;      // eof, or a reset

    bool is_closed() const { return ec == asio::error::eof || ec == asio::error::connection_reset; }
};

class RawClient {
public:
    static asio::awaitable<RawClient> connect(std::uint16_t port) {
        tcp::socket socket{co_await asio::this_coro::executor};
        const tcp::endpoint server{asio::ip::make_address("127.0.0.1"), port};
        co_await socket.async_connect(server, asio::use_awaitable);
        co_return RawClient{std::move(socket)};
    }

    explicit RawClient(tcp::socket socket)
        : socket_(std::move(socket)) {}

    tcp::socket& socket() { return socket_; }

    // Requests are queued by a plain call, then written by flush(): no temporary string lives
    // inside a co_await expression (docs/decisions/0001-gcc12-coroutine-temporaries.md).
    void queue(std::string_view bytes) { outgoing_.append(bytes); }
    asio::awaitable<void> flush() {
        co_await asio::async_write(socket_, asio::buffer(outgoing_), asio::use_awaitable);
        outgoing_.clear();
    }

    // A status line and headers (a 100 Continue is a head of its own).
    asio::awaitable<Response> read_head() {
        std::size_t end = 0;
        while ((end = pending_.find("\r\n\r\n")) == std::string::npos) {
            const bool has_more = co_await fill();
            if (!has_more) throw std::runtime_error("connection closed before a response head");
        }
        const std::string head = pending_.substr(0, end + 2);
        pending_.erase(0, end + 4);
        Response response;
        if (!head.starts_with("HTTP/1.1 ") || head.size() < 12)
            throw std::runtime_error("not a response: " + head);
        response.status = std::stoi(head.substr(9, 3));
        for (auto at = head.find("\r\n") + 2; at < head.size();) {
            const auto line_end = head.find("\r\n", at);
            const auto line = head.substr(at, line_end - at);
            const auto colon = line.find(':');
            if (colon != std::string::npos) {
                auto value = line.substr(colon + 1);
                value.erase(0, value.find_first_not_of(' '));
                response.headers[lowercase(line.substr(0, colon))] = value;
            }
            at = line_end + 2;
        }
        co_return response;
    }

    // A whole response; `is_head` for the answer to HEAD (a head only).
    asio::awaitable<Response> read_response(bool is_head = false) {
        auto response = co_await read_head();
        if (is_head) co_return response;
        if (response.header("transfer-encoding") == "chunked") {
            while (auto chunk = co_await read_chunk()) {
                response.body += *chunk;
                ++response.chunks;
            }
        } else if (response.has("content-length")) {
            response.body = co_await read_exactly(std::stoul(response.header("content-length")));
        }
        co_return response;
    }

    // The next chunk of a chunked body; empty after the last one.
    asio::awaitable<std::optional<std::string>> read_chunk() {
        const auto size_line = co_await read_line();
        const auto size = std::stoul(size_line, nullptr, 16);
        if (size == 0) {
            const auto trailer_end = co_await read_line();
            if (!trailer_end.empty()) throw std::runtime_error("unexpected trailer");
            co_return std::nullopt;
        }
        auto data = co_await read_exactly(size);
        const auto end = co_await read_line();
        if (!end.empty()) throw std::runtime_error("chunk without CRLF");
        co_return data;
    }

    asio::awaitable<std::string> read_exactly(std::size_t size) {
        while (pending_.size() < size) {
            const bool has_more = co_await fill();
            if (!has_more) throw std::runtime_error("connection closed inside a body");
        }
        auto data = pending_.substr(0, size);
        pending_.erase(0, size);
        co_return data;
    }

    // Reads until the server closes the connection (or resets it).
    asio::awaitable<Ending> read_to_end() {
        Ending ending;
        ending.bytes = std::move(pending_);
        pending_.clear();
        std::array<char, 4096> chunk{};
        for (;;) {
            auto [ec, size] = co_await socket_.async_read_some(asio::buffer(chunk), use_tuple);
            ending.bytes.append(chunk.data(), size);
            if (ec) {
                ending.ec = ec;
                break;
            }
        }
        co_return ending;
    }

private:
    asio::awaitable<bool> fill() {
        std::array<char, 4096> chunk{};
        auto [ec, size] = co_await socket_.async_read_some(asio::buffer(chunk), use_tuple);
        pending_.append(chunk.data(), size);
        co_return !ec || size > 0;
    }

    asio::awaitable<std::string> read_line() {
        std::size_t end = 0;
        while ((end = pending_.find("\r\n")) == std::string::npos) {
            const bool has_more = co_await fill();
            if (!has_more) throw std::runtime_error("connection closed inside a line");
        }
        auto line = pending_.substr(0, end);
        pending_.erase(0, end + 2);
        co_return line;
    }

    tcp::socket socket_;
    std::string pending_;   // received, not consumed yet
    std::string outgoing_;  // queued, not written yet
};

std::string get(const std::string& target, const std::string& extra_headers = "") {
    return "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra_headers + "\r\n";
}

// ---------------------------------------------------------------------------------------------
// Servers

HttpServerOptions loopback_options() {
    HttpServerOptions options;
    options.bind_address = "127.0.0.1";
    options.port = 0;
    return options;
}

// A server together with the task running it.
struct RunningServer {
    std::unique_ptr<HttpServer> server;
    std::shared_ptr<Task> task;

    std::uint16_t port() const { return server->port(); }
    asio::awaitable<void> stop() {
        server->stop();
        co_await task->join();
    }
};

RunningServer start_server(const Executor& executor, HttpServer::Handler handler,
                           HttpServerOptions options = loopback_options(),
                           HttpServer::UpgradeDecision decide_upgrade = {},
                           HttpServer::OnWebSocket on_websocket = {}) {
    auto server = std::make_unique<HttpServer>(executor, std::move(options), std::move(handler),
                                               std::move(decide_upgrade), std::move(on_websocket));
    auto task = Task::spawn(executor, server->run());
    return RunningServer{std::move(server), std::move(task)};
}

// Answers "<method> <target> <body>", with the client's address in X-Remote; counts its calls.
HttpServer::Handler echo_handler(int& calls) {
    return [&calls](HttpRequest request) -> asio::awaitable<HttpResponse> {
        ++calls;
        auto response =
            HttpResponse::text(200, request.method + " " + request.target + " " + request.body);
        response.set_header("X-Remote", request.remote_endpoint);
        co_return response;
    };
}

// A producer handing out `pieces` in turn, then the end; counts its calls.
BodyProducer pieces_producer(std::vector<std::string> pieces, int& calls) {
    auto next = std::make_shared<std::size_t>(0);
    return [pieces = std::move(pieces), next,
            &calls]() -> asio::awaitable<std::optional<std::string>> {
        ++calls;
        if (*next == pieces.size()) co_return std::nullopt;
        co_return pieces[(*next)++];
    };
}

// What a producer that waits forever after its first piece saw.
struct WaitingProducerState {
    explicit WaitingProducerState(const Executor& executor)
        : waiting(executor)
        , ended(executor) {}
    Event waiting;  // it waits for an event that never comes
    Event ended;    // its wait ended (cancelled)
    error_code wait_result;
};

BodyProducer waiting_producer(WaitingProducerState& state) {
    auto is_first = std::make_shared<bool>(true);
    return [&state, is_first]() -> asio::awaitable<std::optional<std::string>> {
        if (*is_first) {
            *is_first = false;
            co_return std::string("data: hello\n\n");
        }
        asio::steady_timer never{co_await asio::this_coro::executor,
                                 asio::steady_timer::time_point::max()};
        state.waiting.set();
        auto [ec] = co_await never.async_wait(use_tuple);
        state.wait_result = ec;
        state.ended.set();
        co_return std::nullopt;
    };
}

// ---------------------------------------------------------------------------------------------
// Keep-alive, pipelining, HEAD

TEST(HttpServer, answers_several_requests_on_one_kept_alive_connection) {
    run_bounded([](Executor executor) -> asio::awaitable<void> {
        int calls = 0;
        auto server = start_server(executor, echo_handler(calls));
        auto client = co_await RawClient::connect(server.port());
        std::vector<std::string> remotes;
        for (const std::string path : {"/one", "/two?x=1", "/three"}) {
            client.queue(get(path));
            co_await client.flush();
            auto response = co_await client.read_response();
            EXPECT_EQ(response.status, 200);
            EXPECT_EQ(response.body, "GET " + path + " ");
            EXPECT_FALSE(response.has("connection")) << response.header("connection");
            EXPECT_TRUE(response.has("date"));
            remotes.push_back(response.header("x-remote"));
        }
        EXPECT_EQ(calls, 3);
        EXPECT_EQ(server.server->open_connections(), 1u);
        EXPECT_TRUE(remotes[0].starts_with("127.0.0.1:")) << remotes[0];
        EXPECT_EQ(remotes, std::vector<std::string>(3, remotes[0]));
        co_await server.stop();
        EXPECT_EQ(server.server->open_connections(), 0u);
    });
}

TEST(HttpServer, closes_after_an_http_1_0_request_and_after_connection_close) {
    run_bounded([](Executor executor) -> asio::awaitable<void> {
        int calls = 0;
        auto server = start_server(executor, echo_handler(calls));
        auto old_client = co_await RawClient::connect(server.port());
        old_client.queue("GET /old HTTP/1.0\r\n\r\n");
        co_await old_client.flush();
        auto response = co_await old_client.read_response();
        EXPECT_EQ(response.status, 200);
        EXPECT_EQ(response.header("connection"), "close");
        auto ending = co_await old_client.read_to_end();
        EXPECT_TRUE(ending.is_closed()) << ending.ec.message();
        EXPECT_EQ(ending.bytes, "");

        auto client = co_await RawClient::connect(server.port());
        client.queue(get("/last", "Connection: close\r\n") + get("/ignored"));
        co_await client.flush();
        response = co_await client.read_response();
        EXPECT_EQ(response.body, "GET /last ");
        EXPECT_EQ(response.header("connection"), "close");
        ending = co_await client.read_to_end();
        EXPECT_TRUE(ending.is_closed()) << ending.ec.message();
        EXPECT_EQ(ending.bytes, "");
        EXPECT_EQ(calls, 2);
        co_await server.stop();
    });
}

TEST(HttpServer, answers_pipelined_requests_in_order) {
    run_bounded([](Executor executor) -> asio::awaitable<void> {
        int calls = 0;
        auto server = start_server(executor, echo_handler(calls));
        auto client = co_await RawClient::connect(server.port());
        const std::string post =
            "POST /2 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 4\r\n\r\nbody";
        client.queue(get("/1") + post + get("/3"));
        co_await client.flush();
        auto first = co_await client.read_response();
        auto second = co_await client.read_response();
        auto third = co_await client.read_response();
        EXPECT_EQ(first.body, "GET /1 ");
        EXPECT_EQ(second.body, "POST /2 body");
        EXPECT_EQ(third.body, "GET /3 ");
        EXPECT_EQ(calls, 3);
        co_await server.stop();
    });
}

TEST(HttpServer, answers_head_with_the_length_but_without_the_body) {
    run_bounded([](Executor executor) -> asio::awaitable<void> {
        int producer_calls = 0;
        auto server = start_server(
            executor, [&producer_calls](HttpRequest request) -> asio::awaitable<HttpResponse> {
                if (request.path() == "/streamed") {
                    HttpResponse response;
                    response.content_length = 42;
                    response.stream = pieces_producer({"never sent"}, producer_calls);
                    co_return response;
                }
                if (request.path() == "/announced") {
                    HttpResponse response;
                    response.content_length = 1234;
                    co_return response;
                }
                co_return HttpResponse::text(200, "hello world");
            });
        auto client = co_await RawClient::connect(server.port());
        // The GET right behind shows that no body bytes followed the HEAD answer's head.
        client.queue("HEAD /doc HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" + get("/doc"));
        co_await client.flush();
        auto head = co_await client.read_response(true);
        EXPECT_EQ(head.status, 200);
        EXPECT_EQ(head.header("content-length"), "11");
        auto full = co_await client.read_response();
        EXPECT_EQ(full.status, 200);
        EXPECT_EQ(full.body, "hello world");

        client.queue("HEAD /streamed HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                     "HEAD /announced HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" +
                     get("/doc"));
        co_await client.flush();
        head = co_await client.read_response(true);
        EXPECT_EQ(head.header("content-length"), "42");
        EXPECT_EQ(producer_calls, 0);
        head = co_await client.read_response(true);
        EXPECT_EQ(head.header("content-length"), "1234");
        full = co_await client.read_response();
        EXPECT_EQ(full.body, "hello world");
        co_await server.stop();
    });
}

// ---------------------------------------------------------------------------------------------
// Streamed bodies

TEST(HttpServer, streams_a_body_of_unknown_length_in_chunks) {
    run_bounded([](Executor executor) -> asio::awaitable<void> {
        int producer_calls = 0;
        auto server = start_server(
            executor, [&producer_calls](HttpRequest request) -> asio::awaitable<HttpResponse> {
                if (request.path() != "/stream") co_return HttpResponse::text(200, "plain");
                HttpResponse response;
                response.set_header("Content-Type", "text/event-stream");
                response.stream = pieces_producer({"one", "", "two", "three"}, producer_calls);
                co_return response;
            });
        auto client = co_await RawClient::connect(server.port());
        client.queue(get("/stream"));
        co_await client.flush();
        auto response = co_await client.read_response();
        EXPECT_EQ(response.status, 200);
        EXPECT_EQ(response.header("transfer-encoding"), "chunked");
        EXPECT_FALSE(response.has("content-length"));
        EXPECT_EQ(response.header("content-type"), "text/event-stream");
        EXPECT_EQ(response.body, "onetwothree");
        EXPECT_EQ(response.chunks, 3u);
        EXPECT_EQ(producer_calls, 5);
        // The body ended cleanly: the connection carries another request.
        client.queue(get("/after"));
        co_await client.flush();
        auto after = co_await client.read_response();
        EXPECT_EQ(after.body, "plain");
        co_await server.stop();
    });
}

TEST(HttpServer, streams_a_body_of_known_length_without_chunks) {
    run_bounded([](Executor executor) -> asio::awaitable<void> {
        int producer_calls = 0;
        auto server = start_server(
            executor, [&producer_calls](HttpRequest request) -> asio::awaitable<HttpResponse> {
                if (request.path() != "/file") co_return HttpResponse::text(200, "plain");
                HttpResponse response;
                response.content_length = 11;
                response.stream = pieces_producer({"hello", " ", "world"}, producer_calls);
                co_return response;
            });
        auto client = co_await RawClient::connect(server.port());
        client.queue(get("/file"));
        co_await client.flush();
        auto response = co_await client.read_response();
        EXPECT_EQ(response.header("content-length"), "11");
        EXPECT_FALSE(response.has("transfer-encoding"));
        EXPECT_EQ(response.body, "hello world");
        client.queue(get("/after"));
        co_await client.flush();
        auto after = co_await client.read_response();
        EXPECT_EQ(after.body, "plain");
        co_await server.stop();
    });
}

TEST(HttpServer, cancels_a_waiting_producer_when_the_client_disconnects) {
    run_bounded([](Executor executor) -> asio::awaitable<void> {
        WaitingProducerState state{executor};
        auto server =
            start_server(executor, [&state](HttpRequest) -> asio::awaitable<HttpResponse> {
                HttpResponse response;
                response.stream = waiting_producer(state);
                co_return response;
            });
        auto client = co_await RawClient::connect(server.port());
        client.queue(get("/events"));
        co_await client.flush();
        auto head = co_await client.read_head();
        EXPECT_EQ(head.header("transfer-encoding"), "chunked");
        auto first = co_await client.read_chunk();
        EXPECT_EQ(first, std::optional<std::string>("data: hello\n\n"));
        co_await state.waiting.wait();
        client.socket().close();

        co_await state.ended.wait();
        EXPECT_EQ(state.wait_result, asio::error::operation_aborted);
        auto other = co_await RawClient::connect(server.port());
        other.queue(get("/events", "Connection: close\r\n"));
        co_await other.flush();
        auto answer = co_await other.read_head();
        EXPECT_EQ(answer.status, 200);
        co_await server.stop();
    });
}

TEST(HttpServer, stop_ends_a_stream_whose_producer_waits) {
    run_bounded([](Executor executor) -> asio::awaitable<void> {
        WaitingProducerState state{executor};
        auto server =
            start_server(executor, [&state](HttpRequest) -> asio::awaitable<HttpResponse> {
                HttpResponse response;
                response.stream = waiting_producer(state);
                co_return response;
            });
        auto client = co_await RawClient::connect(server.port());
        client.queue(get("/events"));
        co_await client.flush();
        auto head = co_await client.read_head();
        auto first = co_await client.read_chunk();
        EXPECT_EQ(first, std::optional<std::string>("data: hello\n\n"));
        co_await state.waiting.wait();

        co_await server.stop();  // returns once every connection task ended
        EXPECT_TRUE(state.ended.is_set());
        EXPECT_EQ(state.wait_result, asio::error::operation_aborted);
        EXPECT_EQ(server.server->open_connections(), 0u);
        auto ending = co_await client.read_to_end();
        EXPECT_TRUE(ending.is_closed()) << ending.ec.message();
        EXPECT_EQ(ending.bytes, "") << "the body must not look complete";
    });
}

// ---------------------------------------------------------------------------------------------
// Limits

TEST(HttpServer, refuses_a_declared_body_over_the_limit_before_reading_it) {
    run_bounded([](Executor executor) -> asio::awaitable<void> {
        int calls = 0;
        auto options = loopback_options();
        options.max_body_bytes = 1000;
        auto server = start_server(executor, echo_handler(calls), options);
        auto client = co_await RawClient::connect(server.port());
        client.queue("POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5000\r\n\r\n");
        co_await client.flush();
        auto response = co_await client.read_response();
        EXPECT_EQ(response.status, 413);
        EXPECT_EQ(response.header("connection"), "close");
        auto ending = co_await client.read_to_end();
        EXPECT_TRUE(ending.is_closed()) << ending.ec.message();

        // With Expect: 100-continue the refusal comes instead of the 100.
        auto hopeful = co_await RawClient::connect(server.port());
        hopeful.queue("PUT /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5000\r\n"
                      "Expect: 100-continue\r\n\r\n");
        co_await hopeful.flush();
        auto first_head = co_await hopeful.read_head();
        EXPECT_EQ(first_head.status, 413);

        // A body at the limit is fine.
        auto fitting = co_await RawClient::connect(server.port());
        fitting.queue("POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n" +
                      std::string(1000, 'x'));
        co_await fitting.flush();
        response = co_await fitting.read_response();
        EXPECT_EQ(response.status, 200);
        EXPECT_EQ(calls, 1);
        co_await server.stop();
    });
}

TEST(HttpServer, lets_a_path_prefix_have_its_own_body_limit) {
    run_bounded([](Executor executor) -> asio::awaitable<void> {
        int calls = 0;
        auto options = loopback_options();
        options.max_body_bytes = 1000;
        options.body_limits.push_back({"/hooks", 5000});
        auto server = start_server(executor, echo_handler(calls), options);
        auto large = [](std::string path, std::size_t size) {
            return "POST " + path +
                   " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " + std::to_string(size) +
                   "\r\n\r\n" + std::string(size, 'x');
        };
        auto hook = co_await RawClient::connect(server.port());
        hook.queue(large("/hooks/github?x=1", 5000));
        co_await hook.flush();
        auto response = co_await hook.read_response();
        EXPECT_EQ(response.status, 200);

        auto elsewhere = co_await RawClient::connect(server.port());
        elsewhere.queue(large("/upload", 5000));
        co_await elsewhere.flush();
        response = co_await elsewhere.read_response();
        EXPECT_EQ(response.status, 413) << "other paths keep max_body_bytes";

        auto too_large = co_await RawClient::connect(server.port());
        too_large.queue(large("/hooks/github", 5001));
        co_await too_large.flush();
        response = co_await too_large.read_response();
        EXPECT_EQ(response.status, 413);

        auto chunked = co_await RawClient::connect(server.port());
        const std::string chunk = "258\r\n" + std::string(600, 'x') + "\r\n";  // 600 bytes
        chunked.queue(
            "POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n" +
            chunk + chunk + "0\r\n\r\n");
        co_await chunked.flush();
        response = co_await chunked.read_response();
        EXPECT_EQ(response.status, 413) << "a chunked body is held to its path's limit";
        EXPECT_EQ(calls, 1);
        co_await server.stop();
    });
}

TEST(HttpServer, refuses_a_chunked_body_that_grows_over_the_limit) {
    run_bounded([](Executor executor) -> asio::awaitable<void> {
        int calls = 0;
        auto options = loopback_options();
        options.max_body_bytes = 1000;
        auto server = start_server(executor, echo_handler(calls), options);
        auto client = co_await RawClient::connect(server.port());
        const std::string chunk = "258\r\n" + std::string(600, 'x') + "\r\n";  // 0x258 = 600
        client.queue(
            "POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n" +
            chunk + chunk + "0\r\n\r\n");
        co_await client.flush();
        auto response = co_await client.read_response();
        EXPECT_EQ(response.status, 413);
        auto ending = co_await client.read_to_end();
        EXPECT_TRUE(ending.is_closed()) << ending.ec.message();
        EXPECT_EQ(calls, 0);
        co_await server.stop();
    });
}

TEST(HttpServer, refuses_a_head_over_the_limit_with_431) {
    run_bounded([](Executor executor) -> asio::awaitable<void> {
        int calls = 0;
        auto options = loopback_options();
        options.max_header_bytes = 1024;
        auto server = start_server(executor, echo_handler(calls), options);
        auto client = co_await RawClient::connect(server.port());
        client.queue(get("/", "X-Filler: " + std::string(4000, 'f') + "\r\n"));
        co_await client.flush();
        auto response = co_await client.read_response();
        EXPECT_EQ(response.status, 431);
        auto ending = co_await client.read_to_end();
        EXPECT_TRUE(ending.is_closed()) << ending.ec.message();
        EXPECT_EQ(calls, 0);
        co_await server.stop();
    });
}

TEST(HttpServer, disconnects_a_client_that_sends_its_head_too_slowly) {
    run_bounded([](Executor executor) -> asio::awaitable<void> {
        int calls = 0;
        auto options = loopback_options();
        options.request_timeout = 200ms;
        auto server = start_server(executor, echo_handler(calls), options);
        auto client = co_await RawClient::connect(server.port());
        // The whole head would take 20 s at one byte every 50 ms.
        const std::string head = get("/", "X-Slow: " + std::string(400, 's') + "\r\n");
        Ending ending;
        auto watcher =
            Task::spawn(executor, [](RawClient& connection, Ending& seen) -> asio::awaitable<void> {
                seen = co_await connection.read_to_end();
            }(client, ending));
        std::size_t sent = 0;
        for (; sent < head.size() && !watcher->is_done(); ++sent) {
            auto [ec, size] = co_await asio::async_write(
                client.socket(), asio::buffer(head.data() + sent, 1), use_tuple);
            if (ec) break;
            co_await sleep_for(50ms);  // the attack's pace, not synchronisation
        }
        co_await watcher->join();
        EXPECT_TRUE(ending.is_closed()) << ending.ec.message();
        EXPECT_TRUE(ending.bytes.empty() || ending.bytes.starts_with("HTTP/1.1 408"))
            << ending.bytes;
        EXPECT_LT(sent, head.size()) << "the server waited for the whole head";
        EXPECT_EQ(calls, 0);
        co_await server.stop();
    });
}

TEST(HttpServer, closes_a_kept_alive_connection_after_the_idle_timeout) {
    run_bounded([](Executor executor) -> asio::awaitable<void> {
        int calls = 0;
        auto options = loopback_options();
        options.idle_timeout = 200ms;
        auto server = start_server(executor, echo_handler(calls), options);
        auto client = co_await RawClient::connect(server.port());
        client.queue(get("/"));
        co_await client.flush();
        auto response = co_await client.read_response();
        EXPECT_EQ(response.status, 200);
        EXPECT_FALSE(response.has("connection"));
        auto ending = co_await client.read_to_end();
        EXPECT_TRUE(ending.is_closed()) << ending.ec.message();
        EXPECT_EQ(ending.bytes, "");
        co_await server.stop();
    });
}

TEST(HttpServer, answers_503_to_connections_beyond_the_maximum) {
    run_bounded([](Executor executor) -> asio::awaitable<void> {
        int calls = 0;
        auto options = loopback_options();
        options.max_connections = 1;
        auto server = start_server(executor, echo_handler(calls), options);
        auto first = co_await RawClient::connect(server.port());
        first.queue(get("/"));
        co_await first.flush();
        auto response = co_await first.read_response();
        EXPECT_EQ(response.status, 200);
        EXPECT_EQ(server.server->open_connections(), 1u);

        auto second = co_await RawClient::connect(server.port());
        auto refusal = co_await second.read_response();
        EXPECT_EQ(refusal.status, 503);
        EXPECT_EQ(refusal.header("connection"), "close");
        auto ending = co_await second.read_to_end();
        EXPECT_TRUE(ending.is_closed()) << ending.ec.message();

        // The first connection still works.
        first.queue(get("/again"));
        co_await first.flush();
        response = co_await first.read_response();
        EXPECT_EQ(response.body, "GET /again ");
        EXPECT_EQ(calls, 2);
        co_await server.stop();
    });
}

TEST(HttpServer, answers_expect_100_continue_before_the_body_arrives) {
    run_bounded([](Executor executor) -> asio::awaitable<void> {
        int calls = 0;
        auto server = start_server(executor, echo_handler(calls));
        auto client = co_await RawClient::connect(server.port());
        client.queue("PUT /file HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n"
                     "Expect: 100-continue\r\n\r\n");
        co_await client.flush();
        auto interim = co_await client.read_head();
        EXPECT_EQ(interim.status, 100);
        EXPECT_EQ(calls, 0);
        client.queue("hello");
        co_await client.flush();
        auto response = co_await client.read_response();
        EXPECT_EQ(response.status, 200);
        EXPECT_EQ(response.body, "PUT /file hello");
        co_await server.stop();
    });
}

// ---------------------------------------------------------------------------------------------
// Failures

TEST(HttpServer, answers_500_when_the_handler_throws_and_keeps_serving) {
    run_bounded([](Executor executor) -> asio::awaitable<void> {
        auto server =
            start_server(executor, [](HttpRequest request) -> asio::awaitable<HttpResponse> {
                if (request.path() == "/boom") throw std::runtime_error("the handler broke");
                co_return HttpResponse::text(200, "fine");
            });
        auto client = co_await RawClient::connect(server.port());
        client.queue(get("/boom"));
        co_await client.flush();
        auto response = co_await client.read_response();
        EXPECT_EQ(response.status, 500);
        auto ending = co_await client.read_to_end();
        EXPECT_TRUE(ending.is_closed()) << ending.ec.message();

        auto next = co_await RawClient::connect(server.port());
        next.queue(get("/ok"));
        co_await next.flush();
        response = co_await next.read_response();
        EXPECT_EQ(response.status, 200);
        EXPECT_EQ(response.body, "fine");
        co_await server.stop();
    });
}

TEST(HttpServer, cuts_a_stream_short_when_its_producer_throws) {
    run_bounded([](Executor executor) -> asio::awaitable<void> {
        auto server = start_server(executor, [](HttpRequest) -> asio::awaitable<HttpResponse> {
            auto calls = std::make_shared<int>(0);
            HttpResponse response;
            response.stream = [calls]() -> asio::awaitable<std::optional<std::string>> {
                if ((*calls)++ == 0) co_return std::string("first");
                throw std::runtime_error("the producer broke");
            };
            co_return response;
        });
        auto client = co_await RawClient::connect(server.port());
        client.queue(get("/events"));
        co_await client.flush();
        auto head = co_await client.read_head();
        EXPECT_EQ(head.status, 200);
        auto first = co_await client.read_chunk();
        EXPECT_EQ(first, std::optional<std::string>("first"));
        auto ending = co_await client.read_to_end();
        EXPECT_TRUE(ending.is_closed()) << ending.ec.message();
        EXPECT_EQ(ending.bytes, "") << "no last chunk: the body must not look complete";

        auto next = co_await RawClient::connect(server.port());
        next.queue(get("/events", "Connection: close\r\n"));
        co_await next.flush();
        auto answer = co_await next.read_head();
        EXPECT_EQ(answer.status, 200);
        co_await server.stop();
    });
}

TEST(HttpServer, answers_500_when_a_response_header_would_break_the_head) {
    run_bounded([](Executor executor) -> asio::awaitable<void> {
        auto server = start_server(executor, [](HttpRequest) -> asio::awaitable<HttpResponse> {
            auto response = HttpResponse::text(200, "fine");
            response.set_header("X-Injected", "a\r\nSet-Cookie: b");
            co_return response;
        });
        auto client = co_await RawClient::connect(server.port());
        client.queue(get("/"));
        co_await client.flush();
        auto response = co_await client.read_response();
        EXPECT_EQ(response.status, 500);
        EXPECT_FALSE(response.has("set-cookie"));
        co_await server.stop();
    });
}

// ---------------------------------------------------------------------------------------------
// WebSocket upgrades

std::string accept_key(std::string_view key) {
    const std::string text = std::string(key) + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    std::array<unsigned char, SHA_DIGEST_LENGTH> digest{};
    SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest.data());
    return kiln::core::base64_encode(
        std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

// A client-to-server text frame (masked), for payloads under 126 bytes.
std::string masked_text_frame(std::string_view payload) {
    const std::array<unsigned char, 4> mask{0x12, 0x34, 0x56, 0x78};
    std::string frame;
    frame += static_cast<char>(0x81);
    frame += static_cast<char>(0x80 | payload.size());
    for (const auto byte : mask)
        frame += static_cast<char>(byte);
    for (std::size_t i = 0; i < payload.size(); ++i)
        frame += static_cast<char>(static_cast<unsigned char>(payload[i]) ^ mask[i % 4]);
    return frame;
}

HttpServer::UpgradeDecision allow_on(std::string path) {
    return [path](const HttpRequest& request) -> asio::awaitable<HttpResponse> {
        if (request.path() != path) co_return HttpResponse::text(403, "forbidden\n");
        HttpResponse accepted;
        accepted.status = 101;
        if (auto protocol = request.header("Sec-WebSocket-Protocol"))
            accepted.set_header("Sec-WebSocket-Protocol", std::string(*protocol));
        co_return accepted;
    };
}

// Answers each text message with "echo:" + message, as text, until the connection ends.
HttpServer::OnWebSocket echo_text(std::vector<std::string>& targets) {
    return [&targets](std::unique_ptr<WebSocketConnection> connection,
                      HttpRequest request) -> asio::awaitable<void> {
        targets.push_back(request.target);
        while (auto message = co_await connection->read()) {
            if (!message->is_text) continue;
            auto answer = "echo:" + message->data;
            co_await connection->send_text(std::move(answer));
        }
    };
}

HttpServer::Handler no_plain_requests() {
    return [](HttpRequest) -> asio::awaitable<HttpResponse> {
        co_return HttpResponse::text(404, "not here\n");
    };
}

kiln::io::WebSocketClientOptions websocket_client(std::uint16_t port, std::string target) {
    kiln::io::WebSocketClientOptions options;
    options.host = "127.0.0.1";
    options.port = port;
    options.target = std::move(target);
    options.connect_timeout = 5s;
    options.handshake_timeout = 5s;
    return options;
}

TEST(HttpServer, upgrades_to_a_websocket_carrying_text_both_ways) {
    run_bounded([](Executor executor) -> asio::awaitable<void> {
        std::vector<std::string> targets;
        auto server = start_server(executor, no_plain_requests(), loopback_options(),
                                   allow_on("/ws"), echo_text(targets));
        auto client_options = websocket_client(server.port(), "/ws?v=1");
        auto client = co_await kiln::io::connect_websocket(std::move(client_options));
        EXPECT_EQ(server.server->open_connections(), 1u);
        std::string hello = "hello";
        co_await client->send_text(std::move(hello));
        auto answer = co_await client->read();
        EXPECT_TRUE(answer.has_value());
        if (answer) {
            EXPECT_EQ(answer->data, "echo:hello");
            EXPECT_TRUE(answer->is_text);
        }
        EXPECT_EQ(targets, std::vector<std::string>{"/ws?v=1"});

        // Plain requests still reach the handler.
        auto plain = co_await RawClient::connect(server.port());
        plain.queue(get("/ws"));
        co_await plain.flush();
        auto response = co_await plain.read_response();
        EXPECT_EQ(response.status, 404);
        co_await client->close();
        co_await server.stop();
    });
}

TEST(HttpServer, keeps_frames_sent_right_behind_the_upgrade_request) {
    run_bounded([](Executor executor) -> asio::awaitable<void> {
        std::vector<std::string> targets;
        auto server = start_server(executor, no_plain_requests(), loopback_options(),
                                   allow_on("/ws"), echo_text(targets));
        auto client = co_await RawClient::connect(server.port());
        const std::string key = "dGhlIHNhbXBsZSBub25jZQ==";
        // One write: the upgrade request and a first frame.
        client.queue(get("/ws", "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                                "Sec-WebSocket-Key: " +
                                    key +
                                    "\r\n"
                                    "Sec-WebSocket-Version: 13\r\n"
                                    "Sec-WebSocket-Protocol: kiln\r\n") +
                     masked_text_frame("early"));
        co_await client.flush();
        auto head = co_await client.read_head();
        EXPECT_EQ(head.status, 101);
        EXPECT_EQ(head.header("sec-websocket-accept"), accept_key(key));
        EXPECT_EQ(head.header("sec-websocket-protocol"), "kiln");
        const auto frame_head = co_await client.read_exactly(2);
        EXPECT_EQ(static_cast<unsigned char>(frame_head[0]), 0x81);  // FIN, text
        const auto size = static_cast<std::size_t>(static_cast<unsigned char>(frame_head[1]));
        EXPECT_LT(size, 126u);
        const auto payload = co_await client.read_exactly(size);
        EXPECT_EQ(payload, "echo:early");
        co_await server.stop();
    });
}

TEST(HttpServer, sends_the_refusal_of_an_upgrade_and_closes) {
    run_bounded([](Executor executor) -> asio::awaitable<void> {
        std::vector<std::string> targets;
        auto server = start_server(executor, no_plain_requests(), loopback_options(),
                                   allow_on("/ws"), echo_text(targets));
        std::optional<int> refused_with;
        try {
            auto client_options = websocket_client(server.port(), "/elsewhere");
            co_await kiln::io::connect_websocket(std::move(client_options));
        } catch (const kiln::io::HandshakeRefused& refusal) {
            refused_with = refusal.status();
        }
        EXPECT_EQ(refused_with, 403);
        EXPECT_TRUE(targets.empty());
        co_await server.stop();
    });
}

TEST(HttpServer, stop_closes_open_websockets_and_run_returns) {
    run_bounded([](Executor executor) -> asio::awaitable<void> {
        std::vector<std::string> targets;
        auto server = start_server(executor, no_plain_requests(), loopback_options(),
                                   allow_on("/ws"), echo_text(targets));
        auto client_options = websocket_client(server.port(), "/ws");
        auto client = co_await kiln::io::connect_websocket(std::move(client_options));
        std::string ping = "ping";
        co_await client->send_text(std::move(ping));
        auto answer = co_await client->read();
        EXPECT_TRUE(answer && answer->data == "echo:ping");

        co_await server.stop();
        EXPECT_EQ(server.server->open_connections(), 0u);
        auto after_stop = co_await client->read();
        EXPECT_FALSE(after_stop.has_value());
    });
}

// ---------------------------------------------------------------------------------------------
// The client

TEST(HttpClient, sends_a_request_and_reads_the_answer) {
    run_bounded([](Executor executor) -> asio::awaitable<void> {
        int calls = 0;
        auto server = start_server(executor, echo_handler(calls));
        kiln::io::HttpClientRequest request;
        request.method = "POST";
        request.host = "127.0.0.1";
        request.port = server.port();
        request.target = "/change_hook/base?x=1";
        request.headers.push_back({"Content-Type", "application/x-www-form-urlencoded"});
        request.body = "author=a";
        auto response = co_await kiln::io::http_request(request);
        EXPECT_EQ(response.status, 200);
        EXPECT_EQ(response.reason, "OK");
        EXPECT_EQ(response.body, "POST /change_hook/base?x=1 author=a");
        EXPECT_EQ(calls, 1);

        request.max_response_bytes = 10;
        bool refused = false;
        try {
            (void)co_await kiln::io::http_request(request);
        } catch (const boost::system::system_error&) {
            refused = true;  // the answer is larger than allowed
        }
        EXPECT_TRUE(refused);
        co_await server.stop();

        bool unreachable = false;
        request.max_response_bytes = 1000;
        try {
            (void)co_await kiln::io::http_request(request);
        } catch (const boost::system::system_error&) {
            unreachable = true;  // nobody listens any more
        }
        EXPECT_TRUE(unreachable);
    });
}

}  // namespace
