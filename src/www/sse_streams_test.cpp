// SPDX-License-Identifier: Apache-2.0
// The /sse channel (rest-api.md §11.6): routes, the stream's framing checked byte for byte
// against Buildbot's recorded stream, add/remove replies, bounds and visibility.
#include "bus/bus.hpp"
#include "www/live_updates.hpp"

#include <fstream>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>

#include <gtest/gtest.h>

namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using kiln::bus::Bus;
using kiln::bus::Message;
using kiln::io::HttpResponse;
using kiln::www::LiveOptions;
using kiln::www::LiveUpdates;

void publish(Bus& bus, std::string_view key, std::string_view payload) {
    bus.publish(kiln::bus::parse_key(key),
                std::make_shared<const json::object>(json::parse(payload).as_object()));
}

std::string header(const HttpResponse& response, std::string_view name) {
    for (const auto& field : response.headers)
        if (field.name == name) return field.value;
    return "(none)";
}

// Reads a streamed body piece by piece, as the HTTP server would.
class BodyReader {
public:
    BodyReader(asio::io_context& io, HttpResponse response)
        : io_(io)
        , response_(std::move(response)) {}

    // The next piece, or "(waiting)" when the producer is still waiting for events, or
    // "(end)" when the body ended.
    std::string next() {
        if (!pending_) {
            pending_ = std::make_shared<Pending>();
            asio::co_spawn(
                io_, response_.stream(),
                [pending = pending_](std::exception_ptr error, std::optional<std::string> piece) {
                    pending->is_done = true;
                    pending->error = error;
                    pending->piece = std::move(piece);
                });
        }
        io_.restart();
        io_.poll();
        if (!pending_->is_done) return "(waiting)";
        auto done = std::move(pending_);
        if (done->error) return "(error)";
        return done->piece ? *done->piece : "(end)";
    }

    const HttpResponse& response() const { return response_; }
    void release() { response_.stream = nullptr; }

private:
    struct Pending {
        bool is_done = false;
        std::exception_ptr error;
        std::optional<std::string> piece;
    };
    asio::io_context& io_;
    HttpResponse response_;
    std::shared_ptr<Pending> pending_;
};

class SseHarness {
public:
    explicit SseHarness(LiveOptions options = {})
        : live(io.get_executor(), bus, options) {}

    HttpResponse get(std::string target, kiln::www::EventVisibility visibility = {}) {
        kiln::io::HttpRequest request;
        request.method = "GET";
        request.target = std::move(target);
        return live.serve_sse(request, std::move(visibility));
    }

    // Opens a stream and reads its handshake; returns the reader and the uuid.
    std::pair<std::unique_ptr<BodyReader>, std::string>
    listen(std::string target, kiln::www::EventVisibility visibility = {}) {
        auto reader =
            std::make_unique<BodyReader>(io, get(std::move(target), std::move(visibility)));
        const auto handshake = reader->next();
        std::smatch match;
        static const std::regex kHandshake("event: handshake\ndata: ([0-9a-f-]{36})\n\n");
        EXPECT_TRUE(std::regex_match(handshake, match, kHandshake)) << handshake;
        return {std::move(reader), match.size() > 1 ? match[1].str() : std::string()};
    }

    asio::io_context io;
    Bus bus;
    LiveUpdates live;
};

const char* const kBuild1New = R"({"buildid": 1, "number": 1, "complete": false, "results": null})";

TEST(SseStreams, listen_opens_an_event_stream_that_starts_with_a_uuid4_handshake) {
    SseHarness harness;
    auto response = harness.get("/sse/listen/builds/*/*");
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(header(response, "Content-Type"), "text/event-stream");
    ASSERT_TRUE(response.stream);
    BodyReader reader(harness.io, std::move(response));
    const auto handshake = reader.next();
    EXPECT_TRUE(std::regex_match(
        handshake,
        std::regex("event: handshake\ndata: "
                   "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\n\n")))
        << handshake;
    EXPECT_EQ(reader.next(), "(waiting)");
    publish(harness.bus, "builds/1/new", kBuild1New);
    EXPECT_EQ(reader.next(),
              "event: event\ndata: {\"key\": [\"builds\", \"1\", \"new\"], \"message\": "
              "{\"buildid\": 1, \"number\": 1, \"complete\": false, \"results\": null}}\n\n");
}

TEST(SseStreams, every_uuid_is_new) {
    SseHarness harness;
    auto [first, first_uuid] = harness.listen("/sse");
    auto [second, second_uuid] = harness.listen("/sse");
    EXPECT_NE(first_uuid, second_uuid);
    EXPECT_EQ(harness.live.open_sse_streams(), 2u);
}

// Buildbot's recorded /sse/listen/builds/*/* stream, reproduced byte for byte.
TEST(SseStreams, reproduces_the_recorded_buildbot_stream) {
    std::ifstream in(KILN_SHARED_DIR "/specs/samples/sse_listen_builds_star_star.txt");
    ASSERT_TRUE(in) << "sample not found under " KILN_SHARED_DIR;
    std::vector<std::string> data_lines;
    for (std::string line; std::getline(in, line);)
        if (line.starts_with("data: {")) data_lines.push_back(line.substr(6));
    ASSERT_EQ(data_lines.size(), 43u);

    SseHarness harness;
    auto [reader, uuid] = harness.listen("/sse/listen/builds/*/*");
    for (const auto& data : data_lines) {
        const auto event = json::parse(data).as_object();
        kiln::bus::RoutingKey key;
        for (const auto& segment : event.at("key").as_array())
            key.emplace_back(segment.as_string());
        harness.bus.publish(key,
                            std::make_shared<const json::object>(event.at("message").as_object()));
        EXPECT_EQ(reader->next(), "event: event\ndata: " + data + "\n\n");
    }
}

TEST(SseStreams, sse_alone_or_with_a_trailing_slash_listens_to_nothing) {
    SseHarness harness;
    for (const auto* target : {"/sse", "/sse/", "/sse/listen", "/sse/listen/"}) {
        auto [reader, uuid] = harness.listen(target);
        EXPECT_EQ(harness.bus.subscriber_count(), 0u) << target;
    }
}

TEST(SseStreams, a_path_without_listen_is_subscribed_like_listen) {
    SseHarness harness;
    auto [reader, uuid] = harness.listen("/sse/builds/*/*");
    publish(harness.bus, "builds/1/new", kBuild1New);
    EXPECT_TRUE(reader->next().starts_with("event: event\n"));
}

TEST(SseStreams, path_segments_are_percent_decoded_and_the_query_ignored) {
    SseHarness harness;
    auto [reader, uuid] = harness.listen("/sse/listen/builds/%2A/%2a?x=1");
    publish(harness.bus, "builds/1/new", kBuild1New);
    EXPECT_TRUE(reader->next().starts_with("event: event\n"));
}

TEST(SseStreams, add_and_remove_change_what_an_open_stream_receives) {
    SseHarness harness;
    auto [reader, uuid] = harness.listen("/sse/listen");
    auto added = harness.get("/sse/add/" + uuid + "/workers/*/*");
    EXPECT_EQ(added.status, 200);
    EXPECT_EQ(added.body, "ok");
    EXPECT_EQ(header(added, "Content-Type"), "text/plain; charset=utf-8");
    EXPECT_FALSE(added.stream);

    publish(harness.bus, "workers/1/connected", R"({"workerid": 1})");
    EXPECT_EQ(reader->next(), "event: event\ndata: {\"key\": [\"workers\", \"1\", \"connected\"], "
                              "\"message\": {\"workerid\": 1}}\n\n");

    // Adding the same path again keeps one subscription (Buildbot would deliver twice).
    EXPECT_EQ(harness.get("/sse/add/" + uuid + "/workers/*/*").body, "ok");
    EXPECT_EQ(harness.bus.subscriber_count(), 1u);

    auto removed = harness.get("/sse/remove/" + uuid + "/workers/*/*");
    EXPECT_EQ(removed.status, 200);
    EXPECT_EQ(removed.body, "ok");
    EXPECT_EQ(harness.get("/sse/remove/" + uuid + "/workers/*/*").body, "ok");
    EXPECT_EQ(harness.get("/sse/remove/" + uuid + "/never/added").body, "ok");
    publish(harness.bus, "workers/1/disconnected", R"({"workerid": 1})");
    EXPECT_EQ(reader->next(), "(waiting)");
    EXPECT_EQ(harness.bus.subscriber_count(), 0u);
}

TEST(SseStreams, add_and_remove_need_a_known_uuid) {
    SseHarness harness;
    auto [reader, uuid] = harness.listen("/sse");
    for (const auto* target : {"/sse/add", "/sse/add/", "/sse/remove"}) {
        auto response = harness.get(target);
        EXPECT_EQ(response.status, 400) << target;
        EXPECT_EQ(response.body, "need uuid") << target;
    }
    for (const auto* target : {"/sse/add/nope/workers/*/*", "/sse/remove/nope/workers/*/*"}) {
        auto response = harness.get(target);
        EXPECT_EQ(response.status, 400) << target;
        EXPECT_EQ(response.body, "unknown uuid") << target;
    }
}

TEST(SseStreams, a_finished_request_forgets_its_stream_and_subscriptions) {
    SseHarness harness;
    std::string uuid;
    {
        auto [reader, stream_uuid] = harness.listen("/sse/listen/builds/*/*");
        uuid = stream_uuid;
        EXPECT_EQ(harness.bus.subscriber_count(), 1u);
    }  // the server drops the response when the client goes away
    EXPECT_EQ(harness.bus.subscriber_count(), 0u);
    EXPECT_EQ(harness.live.open_sse_streams(), 0u);
    EXPECT_EQ(harness.get("/sse/add/" + uuid + "/builds/*/*").body, "unknown uuid");
}

TEST(SseStreams, gathers_waiting_events_into_one_piece) {
    SseHarness harness;
    auto [reader, uuid] = harness.listen("/sse/listen/builds/*/*");
    publish(harness.bus, "builds/1/new", R"({"n": 1})");
    publish(harness.bus, "builds/1/update", R"({"n": 2})");
    EXPECT_EQ(
        reader->next(),
        "event: event\ndata: {\"key\": [\"builds\", \"1\", \"new\"], \"message\": {\"n\": 1}}\n\n"
        "event: event\ndata: {\"key\": [\"builds\", \"1\", \"update\"], \"message\": {\"n\": "
        "2}}\n\n");
}

TEST(SseStreams, a_stream_past_its_bound_ends_and_lets_go_of_its_events) {
    LiveOptions options;
    options.queue.max_frames = 5;
    SseHarness harness(options);
    auto [slow, slow_uuid] = harness.listen("/sse/listen/builds/*/*");
    auto [fast, fast_uuid] = harness.listen("/sse/listen/builds/*/*");
    for (int i = 0; i < 10; ++i) {
        publish(harness.bus, "builds/" + std::to_string(i) + "/new", R"({})");
        if (i % 2 == 1) {
            EXPECT_NE(fast->next(), "(end)");
        }
    }
    EXPECT_EQ(slow->next(), "(end)");
    EXPECT_EQ(harness.live.dropped_sse_streams(), 1u);
    EXPECT_EQ(harness.bus.subscriber_count(), 1u);
    EXPECT_EQ(harness.get("/sse/add/" + slow_uuid + "/x").body, "unknown uuid");
    publish(harness.bus, "builds/10/new", R"({})");
    EXPECT_TRUE(fast->next().starts_with("event: event\n"));
}

TEST(SseStreams, a_stream_sees_only_what_its_visibility_predicate_allows) {
    SseHarness harness;
    auto [reader, uuid] = harness.listen("/sse/listen/builds/*/*", [](const Message& message) {
        return message.payload->at("builderid") == 1;
    });
    publish(harness.bus, "builds/1/new", R"({"builderid": 2})");
    publish(harness.bus, "builds/2/new", R"({"builderid": 1})");
    EXPECT_EQ(reader->next(), "event: event\ndata: {\"key\": [\"builds\", \"2\", \"new\"], "
                              "\"message\": {\"builderid\": 1}}\n\n");
}

TEST(SseStreams, close_all_ends_open_streams_and_refuses_new_ones) {
    SseHarness harness;
    auto [reader, uuid] = harness.listen("/sse/listen/builds/*/*");
    publish(harness.bus, "builds/1/new", R"({})");
    harness.live.close_all();
    EXPECT_TRUE(reader->next().starts_with("event: event\n"));
    EXPECT_EQ(reader->next(), "(end)");
    EXPECT_EQ(harness.get("/sse").status, 503);
}

TEST(SseStreams, other_paths_are_not_found) {
    SseHarness harness;
    EXPECT_EQ(harness.get("/ssex").status, 404);
    EXPECT_EQ(harness.get("/api/v2/builds").status, 404);
}

}  // namespace
