// SPDX-License-Identifier: Apache-2.0
// The /ws protocol (rest-api.md §11.5) against an in-memory twin of the WebSocket connection:
// replies and error texts, subscriptions, delivery order, slow clients and visibility.
#include "bus/bus.hpp"
#include "www/live_json.hpp"
#include "www/live_updates.hpp"
#include "www/websocket_twin_test_support.hpp"

#include <fstream>
#include <memory>
#include <sstream>
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
using kiln::www::LiveOptions;
using kiln::www::LiveUpdates;
using kiln::www::testing::TwinConnection;
using kiln::www::testing::TwinPeer;

json::object object_of(std::string_view text) { return json::parse(text).as_object(); }

void publish(Bus& bus, std::string_view key, std::string_view payload) {
    bus.publish(kiln::bus::parse_key(key),
                std::make_shared<const json::object>(object_of(payload)));
}

class WsHarness {
public:
    explicit WsHarness(LiveOptions options = {})
        : live(io.get_executor(), bus, options) {}

    std::shared_ptr<TwinPeer> connect(kiln::www::EventVisibility visibility = {}) {
        auto peer = std::make_shared<TwinPeer>(io.get_executor());
        asio::co_spawn(
            io, live.serve_websocket(std::make_unique<TwinConnection>(peer), std::move(visibility)),
            [peer](std::exception_ptr error) {
                peer->has_session_ended = true;
                peer->session_error = error;
            });
        settle();
        return peer;
    }

    // Runs every handler that is ready, until none is (no waiting on time).
    void settle() {
        io.restart();
        io.poll();
    }

    // Sends frames, lets the server answer, returns what it sent since the last call.
    std::vector<std::string> exchange_all(TwinPeer& peer, const std::vector<std::string>& frames) {
        for (const auto& frame : frames)
            peer.send(frame);
        settle();
        return take_sent(peer);
    }
    std::string exchange(TwinPeer& peer, const std::string& frame) {
        auto replies = exchange_all(peer, {frame});
        EXPECT_EQ(replies.size(), 1u) << "frame: " << frame;
        return replies.empty() ? std::string() : replies.front();
    }

    static std::vector<std::string> take_sent(TwinPeer& peer) {
        auto sent = std::move(peer.sent);
        peer.sent.clear();
        return sent;
    }

    asio::io_context io;
    Bus bus;
    LiveUpdates live;
};

// ---------------------------------------------------------------------------------------------
// Replies

TEST(WsSession, answers_ping_with_pong_echoing_any_id) {
    WsHarness harness;
    auto peer = harness.connect();
    EXPECT_EQ(harness.exchange(*peer, R"({"cmd":"ping","_id":0})"),
              R"({"msg":"pong","code":200,"_id":0})");
    EXPECT_EQ(harness.exchange(*peer, R"({"_id":"a\u00e9","cmd":"ping"})"),
              R"({"msg":"pong","code":200,"_id":"a\u00e9"})");
    EXPECT_EQ(harness.exchange(*peer, R"({"cmd":"ping","_id":{"x":[1,false]}})"),
              R"({"msg":"pong","code":200,"_id":{"x":[1,false]}})");
}

TEST(WsSession, acknowledges_start_and_stop_consuming) {
    WsHarness harness;
    auto peer = harness.connect();
    EXPECT_EQ(harness.exchange(*peer, R"({"cmd":"startConsuming","path":"builds/*/*","_id":1})"),
              R"({"msg":"OK","code":200,"_id":1})");
    EXPECT_EQ(harness.bus.subscriber_count(), 1u);
    EXPECT_EQ(harness.exchange(*peer, R"({"cmd":"stopConsuming","path":"builds/*/*","_id":2})"),
              R"({"msg":"OK","code":200,"_id":2})");
    EXPECT_EQ(harness.bus.subscriber_count(), 0u);
}

// Every row of the error table of §11.5 that a client can cause.
TEST(WsSession, answers_each_malformed_command_with_buildbots_error) {
    WsHarness harness;
    auto peer = harness.connect();
    const std::vector<std::pair<std::string, std::string>> cases = {
        {R"({"cmd":"ping"})",
         R"({"error":"no '_id' or 'type' in websocket frame","code":400,"_id":null})"},
        {R"({"cmd":"ping","_id":null})",
         R"({"error":"no '_id' or 'type' in websocket frame","code":400,"_id":null})"},
        {R"({"_id":3})", R"({"error":"no 'cmd' in websocket frame","code":400,"_id":null})"},
        {R"({"_id":3,"cmd":null})",
         R"({"error":"no 'cmd' in websocket frame","code":400,"_id":null})"},
        {R"({"cmd":"bogus","_id":15})",
         R"({"error":"no such command type 'bogus'","code":404,"_id":15})"},
        {R"({"cmd":"StartConsuming","_id":15})",
         R"({"error":"no such command type 'StartConsuming'","code":404,"_id":15})"},
        {R"({"cmd":"startConsuming","_id":16})",
         R"({"error":"Invalid method argument 'WsProtocol.cmd_startConsuming() missing 1 required positional argument: 'path''","code":400,"_id":16})"},
        {R"({"cmd":"stopConsuming","_id":16})",
         R"({"error":"Invalid method argument 'WsProtocol.cmd_stopConsuming() missing 1 required positional argument: 'path''","code":400,"_id":16})"},
        {R"({"cmd":"ping","_id":5,"path":"builds/*/*"})",
         R"({"error":"Invalid method argument 'WsProtocol.cmd_ping() got an unexpected keyword argument 'path''","code":400,"_id":5})"},
        {R"({"cmd":"startConsuming","pth":"x","_id":6})",
         R"({"error":"Invalid method argument 'WsProtocol.cmd_startConsuming() got an unexpected keyword argument 'pth''","code":400,"_id":6})"},
        {R"({"cmd":"startConsuming","path":42,"_id":17})",
         R"({"error":"invalid path format '42'","code":400,"_id":17})"},
        {R"({"cmd":"startConsuming","path":null,"_id":17})",
         R"({"error":"invalid path format 'None'","code":400,"_id":17})"},
        {R"({"cmd":"startConsuming","path":["a",1,true],"_id":17})",
         R"({"error":"invalid path format '['a', 1, True]'","code":400,"_id":17})"},
        {R"({"cmd":"stopConsuming","path":{"a":1.5},"_id":18})",
         R"({"error":"invalid path format '{'a': 1.5}'","code":400,"_id":18})"},
        {R"({"cmd":"stopConsuming","path":"not/subscribed","_id":14})",
         R"({"error":"path was not consumed 'not/subscribed'","code":400,"_id":14})"},
    };
    for (const auto& [frame, reply] : cases)
        EXPECT_EQ(harness.exchange(*peer, frame), reply) << frame;
    EXPECT_EQ(harness.bus.subscriber_count(), 0u);
    EXPECT_FALSE(peer->is_over()) << "errors never end the session";
}

TEST(WsSession, a_type_null_is_ignored_like_an_absent_one) {
    WsHarness harness;
    auto peer = harness.connect();
    EXPECT_EQ(harness.exchange(*peer, R"({"cmd":"ping","_id":1,"type":null})"),
              R"({"msg":"pong","code":200,"_id":1})");
}

TEST(WsSession, refuses_graphql_frames_after_buildbot_commands) {
    WsHarness harness;
    auto peer = harness.connect();
    harness.exchange(*peer, R"({"cmd":"ping","_id":1})");
    EXPECT_EQ(
        harness.exchange(*peer, R"({"type":"connection_init"})"),
        R"({"error":"using 'type' in websocket frame when already started using buildbot protocol","code":400,"_id":null})");
}

TEST(WsSession, refuses_buildbot_commands_after_graphql_frames_in_graphql_words) {
    WsHarness harness;
    auto peer = harness.connect();
    EXPECT_EQ(harness.exchange(*peer, R"({"type":"connection_init","payload":{}})"),
              R"({"type":"connection_ack"})");
    EXPECT_EQ(
        harness.exchange(*peer, R"({"cmd":"ping","_id":1})"),
        R"({"message":"missing 'type' in websocket frame when already started using graphql","type":"error","id":null})");
    EXPECT_EQ(harness.exchange(*peer, R"({"type":"start","id":"q1","payload":{}})"),
              R"({"message":"graphql is not supported by this server","type":"error","id":"q1"})");
}

TEST(WsSession, answers_frames_that_are_not_json_objects_with_an_error) {
    WsHarness harness;
    auto peer = harness.connect();
    EXPECT_EQ(harness.exchange(*peer, "[1,2]"),
              R"({"error":"websocket frame is not a JSON object","code":400,"_id":null})");
    const auto reply = json::parse(harness.exchange(*peer, "{nope")).as_object();
    EXPECT_EQ(reply.at("code"), 400);
    EXPECT_TRUE(reply.at("error").as_string().starts_with("invalid JSON in websocket frame"));
    EXPECT_EQ(harness.exchange(*peer, R"({"cmd":"ping","_id":2})"),
              R"({"msg":"pong","code":200,"_id":2})");
}

// The client frames of Buildbot's recorded session, answered with exactly the recorded replies.
TEST(WsSession, replays_the_recorded_buildbot_session_handshake) {
    std::ifstream in(KILN_SHARED_DIR "/specs/samples/ws_session_full.json");
    ASSERT_TRUE(in) << "sample not found under " KILN_SHARED_DIR;
    std::stringstream text;
    text << in.rdbuf();
    const auto frames = json::parse(text.str()).as_object().at("frames").as_array();

    std::vector<std::string> client_frames;
    std::vector<std::string> expected;
    for (const auto& entry : frames) {
        const auto& frame = entry.at("frame");
        if (frame.as_object().contains("k")) break;  // events come from a real build
        const auto line = kiln::www::live_json(frame, kiln::www::LiveJsonStyle::compact);
        if (entry.at("dir") == "client->server")
            client_frames.push_back(line);
        else
            expected.push_back(line);
    }
    ASSERT_EQ(client_frames.size(), 21u);

    WsHarness harness;
    auto peer = harness.connect();
    EXPECT_EQ(harness.exchange_all(*peer, client_frames), expected);
    EXPECT_EQ(harness.bus.subscriber_count(), 12u);  // builds/*/* once, tmp/* stopped again
}

// ---------------------------------------------------------------------------------------------
// Subscriptions and events

TEST(WsSession, sends_events_as_compact_frames_with_non_ascii_escaped) {
    WsHarness harness;
    auto peer = harness.connect();
    harness.exchange(*peer, R"({"cmd":"startConsuming","path":"builds/*/*","_id":1})");
    publish(
        harness.bus, "builds/1/new",
        R"({"buildid":1,"state_string":"caf\u00e9 \ud83d\ude00","results":null,"properties":{}})");
    harness.settle();
    EXPECT_EQ(
        WsHarness::take_sent(*peer),
        std::vector<std::string>{
            R"({"k":"builds/1/new","m":{"buildid":1,"state_string":"caf\u00e9 \ud83d\ude00","results":null,"properties":{}}})"});
}

TEST(WsSession, a_wildcard_matches_exactly_one_segment) {
    WsHarness harness;
    auto peer = harness.connect();
    harness.exchange(*peer, R"({"cmd":"startConsuming","path":"builds/*/*","_id":1})");
    publish(harness.bus, "builds/5/new", R"({"n":1})");
    publish(harness.bus, "builds/5/steps/9/new", R"({"n":2})");
    publish(harness.bus, "builds/5/properties/update", R"({"n":3})");
    publish(harness.bus, "builders/1/builds/5/new", R"({"n":4})");
    publish(harness.bus, "builds/6/finished", R"({"n":5})");
    harness.settle();
    EXPECT_EQ(WsHarness::take_sent(*peer),
              (std::vector<std::string>{R"({"k":"builds/5/new","m":{"n":1}})",
                                        R"({"k":"builds/6/finished","m":{"n":5}})"}));
}

TEST(WsSession, subscribing_twice_to_a_path_delivers_once_and_one_stop_ends_it) {
    WsHarness harness;
    auto peer = harness.connect();
    EXPECT_EQ(harness.exchange(*peer, R"({"cmd":"startConsuming","path":"builds/*/*","_id":1})"),
              R"({"msg":"OK","code":200,"_id":1})");
    EXPECT_EQ(harness.exchange(*peer, R"({"cmd":"startConsuming","path":"builds/*/*","_id":2})"),
              R"({"msg":"OK","code":200,"_id":2})");
    EXPECT_EQ(harness.bus.subscriber_count(), 1u);
    publish(harness.bus, "builds/1/new", R"({})");
    harness.settle();
    EXPECT_EQ(WsHarness::take_sent(*peer).size(), 1u);
    EXPECT_EQ(harness.exchange(*peer, R"({"cmd":"stopConsuming","path":"builds/*/*","_id":3})"),
              R"({"msg":"OK","code":200,"_id":3})");
    EXPECT_EQ(harness.exchange(*peer, R"({"cmd":"stopConsuming","path":"builds/*/*","_id":4})"),
              R"({"error":"path was not consumed 'builds/*/*'","code":400,"_id":4})");
}

TEST(WsSession, distinct_overlapping_paths_each_deliver) {
    WsHarness harness;
    auto peer = harness.connect();
    harness.exchange_all(*peer, {R"({"cmd":"startConsuming","path":"builds/*/*","_id":1})",
                                 R"({"cmd":"startConsuming","path":"builds/1/*","_id":2})"});
    publish(harness.bus, "builds/1/new", R"({})");
    harness.settle();
    EXPECT_EQ(WsHarness::take_sent(*peer).size(), 2u);
}

TEST(WsSession, delivers_events_and_replies_in_publication_order) {
    WsHarness harness;
    auto peer = harness.connect();
    harness.exchange_all(*peer, {R"({"cmd":"startConsuming","path":"builds/*/*","_id":1})",
                                 R"({"cmd":"startConsuming","path":"steps/*/*","_id":2})",
                                 R"({"cmd":"startConsuming","path":"logs/*/*","_id":3})"});
    std::vector<std::string> expected;
    const char* kinds[] = {"builds", "steps", "logs"};
    for (int i = 0; i < 300; ++i) {
        const std::string key = std::string(kinds[i % 3]) + "/" + std::to_string(i) + "/update";
        publish(harness.bus, key, "{\"i\":" + std::to_string(i) + "}");
        expected.push_back("{\"k\":\"" + key + "\",\"m\":{\"i\":" + std::to_string(i) + "}}");
        if (i == 150) {  // a reply queued between events keeps its place
            peer->send(R"({"cmd":"ping","_id":9})");
            harness.settle();
            expected.push_back(R"({"msg":"pong","code":200,"_id":9})");
        }
    }
    harness.settle();
    EXPECT_EQ(WsHarness::take_sent(*peer), expected);
}

TEST(WsSession, serialises_each_payload_once_for_every_client_and_key) {
    WsHarness harness;
    std::vector<std::shared_ptr<TwinPeer>> peers;
    for (int i = 0; i < 3; ++i) {
        peers.push_back(harness.connect());
        harness.exchange_all(
            *peers.back(), {R"({"cmd":"startConsuming","path":"builds/*/*","_id":1})",
                            R"({"cmd":"startConsuming","path":"builders/*/builds/*/*","_id":2})"});
    }
    const auto before = harness.live.payload_serialisations();
    harness.bus.publish({{"builds", "7", "new"}, {"builders", "2", "builds", "3", "new"}},
                        object_of(R"({"buildid":7,"number":3,"builderid":2})"));
    harness.settle();
    EXPECT_EQ(harness.live.payload_serialisations() - before, 1u);
    for (auto& peer : peers)
        EXPECT_EQ(
            WsHarness::take_sent(*peer),
            (std::vector<std::string>{
                R"({"k":"builds/7/new","m":{"buildid":7,"number":3,"builderid":2}})",
                R"({"k":"builders/2/builds/3/new","m":{"buildid":7,"number":3,"builderid":2}})"}));
}

TEST(WsSession, closing_the_socket_drops_every_subscription) {
    WsHarness harness;
    auto peer = harness.connect();
    harness.exchange_all(*peer, {R"({"cmd":"startConsuming","path":"builds/*/*","_id":1})",
                                 R"({"cmd":"startConsuming","path":"steps/*/*","_id":2})",
                                 R"({"cmd":"startConsuming","path":"logs/*/*","_id":3})"});
    EXPECT_EQ(harness.bus.subscriber_count(), 3u);
    EXPECT_EQ(harness.live.open_websockets(), 1u);
    peer->close();
    harness.settle();
    EXPECT_TRUE(peer->has_session_ended);
    EXPECT_FALSE(peer->session_error);
    EXPECT_EQ(harness.bus.subscriber_count(), 0u);
    EXPECT_EQ(harness.live.open_websockets(), 0u);
    publish(harness.bus, "builds/1/new", R"({})");  // nobody left to deliver to
    harness.settle();
}

TEST(WsSession, limits_the_number_of_subscription_paths) {
    LiveOptions options;
    options.max_subscriptions = 2;
    WsHarness harness(options);
    auto peer = harness.connect();
    harness.exchange_all(*peer, {R"({"cmd":"startConsuming","path":"a/*","_id":1})",
                                 R"({"cmd":"startConsuming","path":"b/*","_id":2})"});
    EXPECT_EQ(harness.exchange(*peer, R"({"cmd":"startConsuming","path":"a/*","_id":3})"),
              R"({"msg":"OK","code":200,"_id":3})");
    EXPECT_EQ(
        harness.exchange(*peer, R"({"cmd":"startConsuming","path":"c/*","_id":4})"),
        R"({"error":"too many subscriptions: at most 2 paths per connection","code":400,"_id":4})");
}

// ---------------------------------------------------------------------------------------------
// Slow clients

TEST(WsSession, drops_a_stalled_client_at_the_bound_while_a_fast_one_keeps_receiving) {
    LiveOptions options;
    options.queue.max_frames = 10;
    options.close_timeout = std::chrono::milliseconds(0);
    WsHarness harness(options);
    auto slow = harness.connect();
    auto fast = harness.connect();
    for (auto* peer : {slow.get(), fast.get()})
        harness.exchange(*peer, R"({"cmd":"startConsuming","path":"builds/*/*","_id":1})");
    slow->stall();

    for (int i = 0; i < 50; ++i) {
        publish(harness.bus, "builds/" + std::to_string(i) + "/new", R"({})");
        harness.settle();
        EXPECT_LE(harness.live.queued_websocket_bytes(), 10u * 32u);
    }
    EXPECT_EQ(WsHarness::take_sent(*fast).size(), 50u);
    EXPECT_FALSE(fast->is_over());
    // The slow one had one frame stuck in its socket and 10 queued; the 12th overflowed. It
    // never took its Close frame, so the connection was cut after close_timeout.
    EXPECT_TRUE(slow->is_aborted);
    EXPECT_TRUE(slow->has_session_ended);
    EXPECT_EQ(harness.live.dropped_websockets(), 1u);
    EXPECT_EQ(harness.live.open_websockets(), 1u);
    EXPECT_EQ(harness.bus.subscriber_count(), 1u);
}

TEST(WsSession, a_client_past_the_byte_bound_gets_close_code_4000_without_the_backlog) {
    LiveOptions options;
    options.queue.max_bytes = 1000;
    WsHarness harness(options);
    auto peer = harness.connect();
    harness.exchange(*peer, R"({"cmd":"startConsuming","path":"builds/*/*","_id":1})");
    const std::string payload = R"({"text":")" + std::string(90, 'x') + "\"}";
    for (int i = 0; i < 20; ++i)  // ~120 bytes each, faster than the writer gets to run
        publish(harness.bus, "builds/1/update", payload);
    EXPECT_EQ(harness.live.queued_websocket_bytes(), 0u) << "the overflowed queue let go";
    harness.settle();
    EXPECT_TRUE(WsHarness::take_sent(*peer).empty());
    EXPECT_EQ(peer->close_code, kiln::www::kResynchroniseCloseCode);
    EXPECT_TRUE(peer->has_session_ended);
    EXPECT_EQ(harness.live.dropped_websockets(), 1u);
    EXPECT_EQ(harness.bus.subscriber_count(), 0u);
}

TEST(WsSession, replies_count_against_the_bound_too) {
    LiveOptions options;
    options.queue.max_frames = 5;
    WsHarness harness(options);
    auto peer = harness.connect();
    peer->stall();
    for (int i = 0; i < 10; ++i)
        peer->send(R"({"cmd":"ping","_id":1})");
    harness.settle();
    EXPECT_EQ(harness.live.dropped_websockets(), 1u);
}

TEST(WsSession, close_all_sends_what_is_queued_then_close_1001) {
    WsHarness harness;
    auto peer = harness.connect();
    harness.exchange(*peer, R"({"cmd":"startConsuming","path":"builds/*/*","_id":1})");
    publish(harness.bus, "builds/1/new", R"({})");
    harness.live.close_all();
    harness.settle();
    EXPECT_EQ(WsHarness::take_sent(*peer).size(), 1u);
    EXPECT_EQ(peer->close_code, kiln::www::kGoingAwayCloseCode);
    EXPECT_TRUE(peer->has_session_ended);
    EXPECT_EQ(harness.bus.subscriber_count(), 0u);

    auto late = harness.connect();
    EXPECT_EQ(late->close_code, kiln::www::kGoingAwayCloseCode);
}

// ---------------------------------------------------------------------------------------------
// Visibility

TEST(WsSession, a_client_sees_only_the_events_its_visibility_predicate_allows) {
    WsHarness harness;
    auto hidden_builder_2 = [](const Message& message) {
        const auto* builder = message.payload->if_contains("builderid");
        return !builder || *builder != 2;
    };
    auto restricted = harness.connect(hidden_builder_2);
    auto everything = harness.connect();
    for (auto* peer : {restricted.get(), everything.get()})
        harness.exchange(*peer, R"({"cmd":"startConsuming","path":"builds/*/*","_id":1})");
    publish(harness.bus, "builds/1/new", R"({"buildid":1,"builderid":1})");
    publish(harness.bus, "builds/2/new", R"({"buildid":2,"builderid":2})");
    publish(harness.bus, "builds/3/new", R"({"buildid":3,"builderid":1})");
    harness.settle();
    EXPECT_EQ(
        WsHarness::take_sent(*restricted),
        (std::vector<std::string>{R"({"k":"builds/1/new","m":{"buildid":1,"builderid":1}})",
                                  R"({"k":"builds/3/new","m":{"buildid":3,"builderid":1}})"}));
    EXPECT_EQ(WsHarness::take_sent(*everything).size(), 3u);
}

TEST(WsSession, an_event_whose_visibility_check_throws_is_withheld) {
    WsHarness harness;
    auto peer = harness.connect([](const Message& message) -> bool {
        if (message.key[1] == "2") throw std::runtime_error("authorizer broke");
        return true;
    });
    harness.exchange(*peer, R"({"cmd":"startConsuming","path":"builds/*/*","_id":1})");
    publish(harness.bus, "builds/1/new", R"({})");
    publish(harness.bus, "builds/2/new", R"({})");
    publish(harness.bus, "builds/3/new", R"({})");
    harness.settle();
    EXPECT_EQ(WsHarness::take_sent(*peer).size(), 2u);
    EXPECT_FALSE(peer->is_over());
}

}  // namespace
