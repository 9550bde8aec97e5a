// SPDX-License-Identifier: Apache-2.0
#include "bus/bus.hpp"

#include <gtest/gtest.h>

namespace kiln::bus {
namespace {

std::shared_ptr<const boost::json::object> payload(int n) {
    return std::make_shared<const boost::json::object>(boost::json::object{{"n", n}});
}

TEST(Bus, parses_and_formats_routing_keys) {
    EXPECT_EQ(parse_key("builds/7/finished"), (RoutingKey{"builds", "7", "finished"}));
    EXPECT_EQ(format_key({"builds", "7", "finished"}), "builds/7/finished");
}

TEST(Bus, wildcards_match_exactly_one_segment_and_lengths_must_agree) {
    EXPECT_TRUE(matches(parse_key("builds/*/*"), parse_key("builds/5/new")));
    EXPECT_FALSE(matches(parse_key("builds/*/*"), parse_key("builds/5/steps/9/new")));
    EXPECT_FALSE(matches(parse_key("builds/*/*"), parse_key("builds/5")));
    EXPECT_FALSE(matches(parse_key("builds/6/*"), parse_key("builds/5/new")));
}

TEST(Bus, delivers_to_matching_subscribers_in_order) {
    Bus bus;
    std::vector<std::string> seen;
    auto a = bus.subscribe(parse_key("builds/*/new"), [&](const Message& m) {
        seen.push_back("a:" + format_key(m.key) + ":" +
                       std::to_string(m.payload->at("n").as_int64()));
    });
    auto b = bus.subscribe(parse_key("builds/*/*"),
                           [&](const Message& m) { seen.push_back("b:" + format_key(m.key)); });
    bus.publish(parse_key("builds/1/new"), payload(1));
    bus.publish(parse_key("builds/1/finished"), payload(2));
    bus.publish(parse_key("steps/1/new"), payload(3));
    EXPECT_EQ(seen, (std::vector<std::string>{"a:builds/1/new:1", "b:builds/1/new",
                                              "b:builds/1/finished"}));
}

TEST(Bus, a_released_subscription_receives_nothing) {
    Bus bus;
    int count = 0;
    auto subscription = bus.subscribe(parse_key("*"), [&](const Message&) { ++count; });
    bus.publish(parse_key("x"), payload(1));
    subscription.reset();
    bus.publish(parse_key("x"), payload(2));
    EXPECT_EQ(count, 1);
    EXPECT_EQ(bus.subscriber_count(), 0u);
}

TEST(Bus, a_handler_may_unsubscribe_another_during_delivery) {
    Bus bus;
    int second_calls = 0;
    Subscription second;
    auto first = bus.subscribe(parse_key("x"), [&](const Message&) { second.reset(); });
    second = bus.subscribe(parse_key("x"), [&](const Message&) { ++second_calls; });
    bus.publish(parse_key("x"), payload(1));
    EXPECT_EQ(second_calls, 0);
}

TEST(Bus, one_event_under_several_keys_shares_its_payload) {
    Bus bus;
    std::vector<const boost::json::object*> seen;
    auto s = bus.subscribe(parse_key("*/*/*"),
                           [&](const Message& m) { seen.push_back(m.payload.get()); });
    bus.publish({parse_key("builds/1/new"), parse_key("workers/2/builds")},
                boost::json::object{{"n", 1}});
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0], seen[1]);
}

TEST(Bus, subscriptions_outliving_the_bus_release_safely) {
    Subscription subscription;
    {
        Bus bus;
        subscription = bus.subscribe(parse_key("x"), [](const Message&) {});
    }
    subscription.reset();
    EXPECT_FALSE(subscription.is_active());
}

}  // namespace
}  // namespace kiln::bus
