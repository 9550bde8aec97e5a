// SPDX-License-Identifier: Apache-2.0
// k.try_scheduler (Buildbot's Try_Userpass) and the k.allow.try authorization rule.
#include "config/config_test_support.hpp"

#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kiln::config {
namespace {

using ::testing::HasSubstr;

using testing::all_messages;

// A config with workers w1, builders a and b, these schedulers and `www` (a top-level key).
class MasterDir : public testing::MasterDir {
public:
    LoadResult load(std::string_view schedulers, std::string_view www = "") const {
        return testing::MasterDir::load(
            std::string("local k = require \"kiln\"\nreturn {\n"
                        "  workers = { k.worker{ name = \"w1\", password = \"pw\" } },\n"
                        "  builders = { k.builder{ name = \"a\", workers = {\"w1\"} },\n"
                        "               k.builder{ name = \"b\", workers = {\"w1\"} } },\n"
                        "  schedulers = {\n") +
            std::string(schedulers) + "\n  },\n" + std::string(www) + "\n}\n");
    }
};

TEST(TryScheduler, reads_name_builders_and_properties) {
    MasterDir dir;
    auto result = dir.load(R"(    k.try_scheduler{ name = "try", builders = {"a", "b"},
                         properties = { purpose = "try" } },)");
    ASSERT_TRUE(result.config) << all_messages(result);
    ASSERT_EQ(result.config->schedulers.size(), 1u);
    const auto& s = result.config->schedulers[0];
    EXPECT_EQ(s.type, "try_scheduler");
    EXPECT_EQ(s.name, "try");
    EXPECT_EQ(s.builders, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(s.properties.value_or_null("purpose"), boost::json::value("try"));
    EXPECT_EQ(s.reason_string, "'try' job");
}

TEST(TryScheduler, refuses_unknown_options_and_unknown_builders) {
    MasterDir dir;
    auto result =
        dir.load(R"(    k.try_scheduler{ name = "try", builders = {"a"}, branch = "main" },
    k.try_scheduler{ name = "try2", builders = {"nope"} },)");
    EXPECT_FALSE(result.config);
    const auto text = all_messages(result);
    EXPECT_THAT(text, HasSubstr("branch"));
    EXPECT_THAT(text, HasSubstr("nope"));
}

TEST(TryScheduler, needs_builders) {
    MasterDir dir;
    auto result = dir.load(R"(    k.try_scheduler{ name = "try" },)");
    EXPECT_FALSE(result.config);
    EXPECT_THAT(all_messages(result), HasSubstr("builders"));
}

TEST(TryScheduler, allow_try_rule_takes_a_builder_glob) {
    MasterDir dir;
    auto result = dir.load(R"(    k.try_scheduler{ name = "try", builders = {"a"} },)",
                           R"(  www = { authz = { roles = { k.roles.from_groups{ prefix = "" } },
    rules = { k.allow.try{ role = "testers", builder = "a*" } } } },)");
    ASSERT_TRUE(result.config) << all_messages(result);
    const auto& rules = result.config->www_auth.authz.rules;
    ASSERT_EQ(rules.size(), 1u);
    EXPECT_EQ(rules[0].type, "try");
    EXPECT_EQ(rules[0].role, "testers");
    EXPECT_EQ(rules[0].builder, std::optional<std::string>("a*"));
}

}  // namespace
}  // namespace kiln::config
