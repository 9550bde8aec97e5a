// SPDX-License-Identifier: Apache-2.0
#include "www/event_builders.hpp"

#include <memory>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kiln::www {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

bus::Message message(std::string_view key, boost::json::object payload) {
    return {bus::parse_key(key), std::make_shared<const boost::json::object>(std::move(payload))};
}

class EventBuildersTest : public ::testing::Test {
protected:
    void publish(std::string_view key, boost::json::object payload) {
        bus.publish(std::vector<bus::RoutingKey>{bus::parse_key(key)}, std::move(payload));
    }

    bus::Bus bus;
    EventBuilders events{bus};
};

TEST_F(EventBuildersTest, build_step_and_log_events_map_to_their_builder) {
    events.set_names({{1, "app"}, {2, "docs"}});
    publish("builds/10/new", {{"buildid", 10}, {"builderid", 1}});
    publish("builds/20/new", {{"buildid", 20}, {"builderid", 2}});
    publish("steps/100/new", {{"stepid", 100}, {"buildid", 10}});
    publish("steps/200/new", {{"stepid", 200}, {"buildid", 20}});
    publish("logs/1000/new", {{"logid", 1000}, {"stepid", 100}});
    publish("logs/2000/new", {{"logid", 2000}, {"stepid", 200}});

    EXPECT_EQ(events.builder_of(message("builds/10/finished", {{"buildid", 10}})), "app");
    EXPECT_EQ(events.builder_of(message("builds/20/finished", {{"results", 0}})), "docs")
        << "the build id comes from the routing key when the payload has none";
    EXPECT_EQ(events.builder_of(message("steps/100/finished", {{"stepid", 100}})), "app");
    EXPECT_EQ(events.builder_of(message("steps/200/finished", {{"stepid", 200}})), "docs");
    EXPECT_EQ(events.builder_of(message("logs/1000/append", {{"logid", 1000}})), "app");
    EXPECT_EQ(events.builder_of(message("logs/2000/finished", {{"logid", 2000}})), "docs");
    EXPECT_EQ(events.builder_of(message("buildrequests/5/new", {{"builderid", 2}})), "docs");
}

TEST_F(EventBuildersTest, builder_events_teach_names) {
    events.set_names({{1, "app"}});
    EXPECT_EQ(events.builder_of(message("builds/30/new", {{"builderid", 3}})), std::nullopt);
    publish("builders/3/started", {{"builderid", 3}, {"name", "late"}});
    EXPECT_EQ(events.builder_of(message("builds/30/new", {{"builderid", 3}})), "late");
}

TEST_F(EventBuildersTest, buildrequests_teach_which_builders_a_buildset_is_for) {
    events.set_names({{1, "app"}, {2, "docs"}, {3, "lint"}});
    publish("buildrequests/5/new", {{"buildrequestid", 5}, {"buildsetid", 7}, {"builderid", 1}});
    publish("buildrequests/6/new", {{"buildrequestid", 6}, {"buildsetid", 7}, {"builderid", 2}});
    publish("buildrequests/6/claimed",
            {{"buildrequestid", 6}, {"buildsetid", 7}, {"builderid", 2}});
    publish("buildrequests/8/new", {{"buildrequestid", 8}, {"buildsetid", 9}, {"builderid", 3}});

    EXPECT_THAT(events.builders_of_buildset(message("buildsets/7/new", {{"bsid", 7}})),
                ElementsAre("app", "docs"));
    EXPECT_THAT(events.builders_of_buildset(message("buildsets/7/complete", {{"bsid", 7}})),
                ElementsAre("app", "docs"));
    EXPECT_THAT(events.builders_of_buildset(message("buildsets/9/new", {{"bsid", 9}})),
                ElementsAre("lint"));
    EXPECT_THAT(events.builders_of_buildset(message("buildsets/11/new", {{"bsid", 11}})),
                IsEmpty());
    EXPECT_THAT(events.builders_of_buildset(message("builds/7/new", {{"buildid", 7}})), IsEmpty())
        << "only buildset events are looked up by buildset id";
}

TEST_F(EventBuildersTest, unknown_ids_map_to_nothing) {
    events.set_names({{1, "app"}});
    publish("builds/10/new", {{"buildid", 10}, {"builderid", 1}});
    publish("steps/100/new", {{"stepid", 100}, {"buildid", 10}});

    EXPECT_EQ(events.builder_of(message("builds/99/finished", {{"buildid", 99}})), std::nullopt);
    EXPECT_EQ(events.builder_of(message("steps/999/finished", {{"stepid", 999}})), std::nullopt);
    EXPECT_EQ(events.builder_of(message("logs/5000/append", {{"logid", 5000}})), std::nullopt);
    EXPECT_EQ(events.builder_of(message("builds/40/new", {{"buildid", 40}, {"builderid", 4}})),
              std::nullopt)
        << "a builder id without a known name";
    EXPECT_EQ(events.builder_of(message("changes/3/new", {{"changeid", 3}})), std::nullopt);
    EXPECT_EQ(events.builder_of(message("builds/abc/new", {{"results", 0}})), std::nullopt);
}

}  // namespace
}  // namespace kiln::www
