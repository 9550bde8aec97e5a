// SPDX-License-Identifier: Apache-2.0
// /ws end to end over loopback: io::WebSocketServer hands each connection to LiveUpdates,
// io::connect_websocket plays the browser, events come from a real bus::Bus. Includes a client
// that stops reading: it is dropped while the server's queued bytes stay within the bound.
#include "bus/bus.hpp"
#include "io/websocket.hpp"
#include "www/live_updates.hpp"

#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>

#include <gtest/gtest.h>

// GCC 12 reports a false -Wmismatched-new-delete for Asio's coroutine frames (GCC bug 109224).
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;
using kiln::bus::Bus;
using kiln::io::UpgradeRequest;
using kiln::io::WebSocketConnection;
using kiln::io::WebSocketServer;
using kiln::www::LiveOptions;
using kiln::www::LiveUpdates;
using Executor = asio::any_io_executor;
using Clock = std::chrono::steady_clock;

constexpr auto kTestTimeLimit = 60s;

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
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

// Waits until `condition` holds; throws after `limit`.
asio::awaitable<void> wait_until(std::function<bool()> condition, const char* what,
                                 std::chrono::milliseconds limit = 10s) {
    const auto deadline = Clock::now() + limit;
    while (!condition()) {
        if (Clock::now() > deadline) throw std::runtime_error(std::string("timed out: ") + what);
        co_await sleep_for(1ms);
    }
}

// The server side: a WebSocketServer on 127.0.0.1:0 whose /ws connections LiveUpdates serves.
struct LiveServer {
    LiveServer(const Executor& executor, Bus& bus, LiveOptions options)
        : live(executor, bus, options)
        , server(
              executor, kiln::io::WebSocketServerOptions{},
              [](const UpgradeRequest& request) { return request.target == "/ws" ? 101 : 404; },
              [this](std::unique_ptr<WebSocketConnection> connection, UpgradeRequest) {
                  return live.serve_websocket(std::move(connection));
              }) {
        asio::co_spawn(executor, server.run(), [this](std::exception_ptr) { is_stopped = true; });
    }

    asio::awaitable<std::unique_ptr<WebSocketConnection>> connect() {
        kiln::io::WebSocketClientOptions options;
        options.host = "127.0.0.1";
        options.port = server.port();
        options.target = "/ws";
        co_return co_await kiln::io::connect_websocket(options);
    }

    asio::awaitable<void> stop() {
        server.stop();
        co_await wait_until([this] { return is_stopped; }, "server stop");
    }

    LiveUpdates live;
    WebSocketServer server;
    bool is_stopped = false;
};

// Sends a command and returns the reply's text.
asio::awaitable<std::string> command(WebSocketConnection& client, std::string frame) {
    co_await client.send_text(std::move(frame));
    auto reply = co_await client.read();
    if (!reply) throw std::runtime_error("connection ended before the reply");
    co_return reply->data;
}

// Reads events until the connection ends, counting them and checking their "i" runs 0, 1, 2...
struct EventCounter {
    std::size_t received = 0;
    bool is_in_order = true;
    bool has_ended = false;
};

asio::awaitable<void> count_events(WebSocketConnection& client, EventCounter& counter) {
    while (auto message = co_await client.read()) {
        const auto event = json::parse(message->data).as_object();
        if (event.at("m").at("i").to_number<std::size_t>() != counter.received)
            counter.is_in_order = false;
        ++counter.received;
    }
    counter.has_ended = true;
}

TEST(LiveUpdatesOverLoopback, serves_the_ws_protocol_end_to_end) {
    run_bounded([](Executor executor) -> asio::awaitable<void> {
        Bus bus;
        LiveServer server(executor, bus, LiveOptions{});
        auto client = co_await server.connect();

        // GCC 12: co_await results go to named locals (docs/decisions/0001).
        const auto pong = co_await command(*client, R"({"cmd":"ping","_id":0})");
        EXPECT_EQ(pong, R"({"msg":"pong","code":200,"_id":0})");
        const auto ok =
            co_await command(*client, R"({"cmd":"startConsuming","path":"builds/*/*","_id":1})");
        EXPECT_EQ(ok, R"({"msg":"OK","code":200,"_id":1})");
        const auto error = co_await command(*client, R"({"cmd":"bogus","_id":2})");
        EXPECT_EQ(error, R"({"error":"no such command type 'bogus'","code":404,"_id":2})");
        EXPECT_EQ(bus.subscriber_count(), 1u);

        bus.publish({{"builds", "1", "new"}, {"builders", "1", "builds", "1", "new"}},
                    json::parse(R"({"buildid":1,"state_string":"starting"})").as_object());
        bus.publish(
            {"builds", "1", "steps", "2", "new"},
            std::make_shared<const json::object>(json::parse(R"({"stepid":2})").as_object()));
        bus.publish({"builds", "1", "finished"}, std::make_shared<const json::object>(
                                                     json::parse(R"({"results":0})").as_object()));
        auto first = co_await client->read();
        auto second = co_await client->read();
        EXPECT_TRUE(first && second);
        if (first && second) {
            EXPECT_TRUE(first->is_text);
            EXPECT_EQ(first->data,
                      R"({"k":"builds/1/new","m":{"buildid":1,"state_string":"starting"}})");
            EXPECT_EQ(second->data, R"({"k":"builds/1/finished","m":{"results":0}})");
        }

        co_await client->close(1000);
        co_await wait_until([&] { return server.live.open_websockets() == 0; }, "session end");
        EXPECT_EQ(bus.subscriber_count(), 0u);
        co_await server.stop();
    });
}

TEST(LiveUpdatesOverLoopback, drops_a_client_that_stops_reading_while_memory_stays_bounded) {
    run_bounded([](Executor executor) -> asio::awaitable<void> {
        constexpr std::size_t kMaxQueuedBytes = 512 * 1024;
        LiveOptions options;
        options.queue.max_bytes = kMaxQueuedBytes;
        options.queue.max_frames = 1'000'000;
        options.close_timeout = 500ms;
        Bus bus;
        LiveServer server(executor, bus, options);

        auto slow = co_await server.connect();
        auto fast = co_await server.connect();
        for (auto* client : {slow.get(), fast.get()}) {
            const auto ok = co_await command(
                *client, R"({"cmd":"startConsuming","path":"builds/*/*","_id":1})");
            EXPECT_EQ(ok, R"({"msg":"OK","code":200,"_id":1})");
        }

        // The fast client reads everything and checks the order.
        EventCounter fast_events;
        asio::co_spawn(executor, count_events(*fast, fast_events), asio::detached);
        const auto& fast_received = fast_events.received;
        const auto& has_fast_ended = fast_events.has_ended;

        const std::string padding(8 * 1024, 'x');
        std::size_t published = 0;
        std::size_t largest_queue = 0;
        auto publish_batch = [&] {
            for (int i = 0; i < 16; ++i) {
                json::object payload;
                payload["i"] = published++;
                payload["text"] = padding;
                bus.publish({{"builds", std::to_string(published), "update"}}, std::move(payload));
            }
            largest_queue = std::max(largest_queue, server.live.queued_websocket_bytes());
        };
        // Publish until the slow client is dropped: its socket buffers fill first (a few MB on
        // loopback), then its queue.
        while (server.live.dropped_websockets() == 0 && published < 20'000) {
            publish_batch();
            co_await wait_until([&] { return fast_received == published || has_fast_ended; },
                                "the fast client keeping up");
        }
        EXPECT_EQ(server.live.dropped_websockets(), 1u);
        const std::size_t frame_bytes = padding.size() + 64;
        EXPECT_LE(largest_queue, 2 * (kMaxQueuedBytes + frame_bytes))
            << "each client's queue stays within its bound";

        // The fast client goes on receiving.
        for (int i = 0; i < 10; ++i) {
            publish_batch();
            co_await wait_until([&] { return fast_received == published || has_fast_ended; },
                                "the fast client receiving after the drop");
        }
        EXPECT_EQ(fast_received, published);
        EXPECT_TRUE(fast_events.is_in_order);
        EXPECT_FALSE(has_fast_ended);
        EXPECT_EQ(server.live.open_websockets(), 1u);
        EXPECT_EQ(bus.subscriber_count(), 1u);

        // The slow client finds what its socket held, in order, then the end of the connection.
        EventCounter slow_events;
        co_await count_events(*slow, slow_events);
        EXPECT_TRUE(slow_events.is_in_order);
        EXPECT_GT(slow_events.received, 0u);
        EXPECT_LT(slow_events.received, published);

        co_await fast->close(1000);
        co_await wait_until([&] { return server.live.open_websockets() == 0 && has_fast_ended; },
                            "session end");
        co_await server.stop();
    });
}

}  // namespace
