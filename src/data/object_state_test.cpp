// SPDX-License-Identifier: Apache-2.0
// ObjectState on a real (in-memory) SQLite database: object ids, values set and replaced,
// and get_or_create keeping the first value.
#include "data/object_state.hpp"
#include "data/store_test_support.hpp"

#include <boost/json/parse.hpp>

#include <gtest/gtest.h>

namespace kiln::data {
namespace {

class ObjectStateTest : public testing::StoreTest {
protected:
    ObjectState state{context};
};

TEST_F(ObjectStateTest, an_object_keeps_its_id_and_another_gets_another) {
    const auto www = run(state.object_id("www", "buildbot.www.service.WWWService"));
    EXPECT_EQ(run(state.object_id("www", "buildbot.www.service.WWWService")), www);
    EXPECT_NE(run(state.object_id("www", "another.Class")), www);
}

TEST_F(ObjectStateTest, a_value_reads_back_and_a_second_set_replaces_it) {
    const auto objectid = run(state.object_id("poller", "kiln.GitPoller"));
    EXPECT_EQ(run(state.get(objectid, "last_rev")), std::nullopt);
    run(state.set(objectid, "last_rev", boost::json::parse(R"({"main":"abc"})")));
    EXPECT_EQ(run(state.get(objectid, "last_rev")), boost::json::parse(R"({"main":"abc"})"));
    run(state.set(objectid, "last_rev", boost::json::value("def")));
    EXPECT_EQ(run(state.get(objectid, "last_rev")), boost::json::value("def"));
    EXPECT_EQ(run(state.get(objectid, "other")), std::nullopt);
}

TEST_F(ObjectStateTest, get_or_create_stores_the_first_value_and_returns_it_ever_after) {
    const auto objectid = run(state.object_id("www", "buildbot.www.service.WWWService"));
    EXPECT_EQ(run(state.get_or_create(objectid, "session_secret", boost::json::value("first"))),
              boost::json::value("first"));
    EXPECT_EQ(run(state.get_or_create(objectid, "session_secret", boost::json::value("second"))),
              boost::json::value("first"));
    EXPECT_EQ(run(state.get(objectid, "session_secret")), boost::json::value("first"));
}

}  // namespace
}  // namespace kiln::data
