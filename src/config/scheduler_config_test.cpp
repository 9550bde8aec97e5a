// SPDX-License-Identifier: Apache-2.0
// The typed schedulers of master.lua (k.single_branch, k.any_branch, k.periodic, k.nightly,
// k.triggerable, k.dependent, k.change_filter) and k.trigger: values, defaults, every error
// with its file:line, and reconfig equality.
#include "config/config_test_support.hpp"

#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kiln::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

using testing::messages;

// A config with workers w1, builders a and b (b's steps given), and these schedulers.
class MasterDir : public testing::MasterDir {
public:
    LoadResult load(std::string_view schedulers, std::string_view steps = "") const {
        return testing::MasterDir::load(
            std::string("local k = require \"kiln\"\nreturn {\n"
                        "  workers = { k.worker{ name = \"w1\", password = \"pw\" } },\n"
                        "  builders = { k.builder{ name = \"a\", workers = {\"w1\"} },\n"
                        "               k.builder{ name = \"b\", workers = {\"w1\"}, steps = {\n") +
            std::string(steps) + "\n  } } },\n  schedulers = {\n" + std::string(schedulers) +
            "\n  },\n}\n");
    }
};

// The schedulers start at line 9 of the generated file (without steps).
constexpr int kFirst = 9;
std::string at(int offset) { return "master.lua:" + std::to_string(kFirst + offset) + ": "; }

TEST(SchedulerConfig, single_branch_reads_every_option) {
    MasterDir dir;
    auto result =
        dir.load(R"(    k.single_branch{ name = "main", builders = {"a", "b"}, branch = "main",
      tree_stable_timer = 30, only_important = true, priority = 5,
      file_is_important = function(change) return #change.files > 0 end,
      properties = { p = 1 }, codebases = { app = { repository = "r", branch = "dev" }, lib = {} } },)");
    ASSERT_TRUE(result.config) << ::testing::PrintToString(messages(result));
    const auto& s = result.config->schedulers.at(0);
    EXPECT_EQ(s.type, "single_branch");
    EXPECT_EQ(s.branch, "main");
    EXPECT_EQ(s.tree_stable_timer, 30);
    EXPECT_TRUE(s.only_important);
    EXPECT_EQ(s.priority, 5);
    EXPECT_TRUE(s.file_is_important.has_value());
    EXPECT_EQ(s.properties.find("p")->value, boost::json::value(1));
    ASSERT_EQ(s.codebases.size(), 2u);
    EXPECT_EQ(s.codebases[0].name, "app");
    EXPECT_EQ(s.codebases[0].repository, "r");
    EXPECT_EQ(s.codebases[0].branch, "dev");
    EXPECT_EQ(s.codebases[1].name, "lib");
    EXPECT_EQ(s.reason_string,
              "The SingleBranchScheduler scheduler named 'main' triggered this build");
    EXPECT_TRUE(s.listens_to_changes());
}

TEST(SchedulerConfig, defaults_are_buildbots) {
    MasterDir dir;
    auto result = dir.load(R"(    k.any_branch{ name = "all", builders = {"a"} },
    k.periodic{ name = "p", builders = {"a"}, period = 60 },
    k.nightly{ name = "n", builders = {"a"} },
    k.triggerable{ name = "t", builders = {"a"} },
    k.dependent{ name = "d", builders = {"a"}, upstream = "all" },)");
    ASSERT_TRUE(result.config) << ::testing::PrintToString(messages(result));
    const auto& config = *result.config;
    const auto* all = config.find_scheduler("all");
    EXPECT_FALSE(all->tree_stable_timer.has_value());
    ASSERT_EQ(all->codebases.size(), 1u);
    EXPECT_EQ(all->codebases[0].name, "");
    EXPECT_EQ(all->reason_string,
              "The AnyBranchScheduler scheduler named 'all' triggered this build");
    EXPECT_EQ(config.find_scheduler("p")->period, 60);
    EXPECT_FALSE(config.find_scheduler("p")->listens_to_changes());
    const auto* nightly = config.find_scheduler("n");
    EXPECT_EQ(nightly->minute, (CronField{{0}, false}));
    EXPECT_TRUE(nightly->hour.is_any);
    EXPECT_TRUE(nightly->day_of_week.is_any);
    EXPECT_EQ(nightly->reason_string, "The Nightly scheduler named 'n' triggered this build");
    EXPECT_EQ(config.find_scheduler("t")->reason_string,
              "The Triggerable scheduler named 't' triggered this build");
    EXPECT_EQ(config.find_scheduler("d")->reason_string, "downstream");
    EXPECT_EQ(config.find_scheduler("d")->upstream, "all");
}

TEST(SchedulerConfig, change_filter_takes_values_lists_regexes_and_a_function) {
    MasterDir dir;
    auto result = dir.load(
        R"(    k.any_branch{ name = "all", builders = {"a"}, change_filter = k.change_filter{
      project = "p", repository = {"r1", "r2"}, branch_re = "^release/", category = "push",
      fn = function(change) return change.author ~= "bot" end } },)");
    ASSERT_TRUE(result.config) << ::testing::PrintToString(messages(result));
    const auto& filter = *result.config->schedulers.at(0).change_filter;
    EXPECT_THAT(filter.project, ElementsAre("p"));
    EXPECT_THAT(filter.repository, ElementsAre("r1", "r2"));
    EXPECT_THAT(filter.branch_re, ElementsAre("^release/"));
    EXPECT_THAT(filter.category, ElementsAre("push"));
    EXPECT_TRUE(filter.fn.has_value());
}

TEST(SchedulerConfig, nightly_fields_take_numbers_lists_and_cron_strings) {
    MasterDir dir;
    auto result =
        dir.load(R"(    k.nightly{ name = "n", builders = {"a"}, minute = "*/15", hour = {3, 1},
      day_of_month = "1-3", month = "jan,dec", day_of_week = "mon-wed" },)");
    ASSERT_TRUE(result.config) << ::testing::PrintToString(messages(result));
    const auto& s = result.config->schedulers.at(0);
    EXPECT_EQ(s.minute.values, (std::vector<int>{0, 15, 30, 45}));
    EXPECT_EQ(s.hour.values, (std::vector<int>{1, 3}));
    EXPECT_EQ(s.day_of_month.values, (std::vector<int>{1, 2, 3}));
    EXPECT_EQ(s.month.values, (std::vector<int>{1, 12}));
    EXPECT_EQ(s.day_of_week.values, (std::vector<int>{0, 1, 2}));
    EXPECT_FALSE(s.day_of_week.is_any);
}

TEST(SchedulerConfig, every_error_is_reported_at_its_line) {
    MasterDir dir;
    auto result = dir.load(R"(    k.single_branch{ name = "s1", builders = {"a"} },
    k.single_branch{ name = "s2", builders = {"a"}, branch = "x", change_filter = k.change_filter{ branch = "y" } },
    k.any_branch{ name = "a1", builders = {"a"}, branch = "main" },
    k.periodic{ name = "p1", builders = {"a"} },
    k.periodic{ name = "p2", builders = {"a"}, period = 0 },
    k.nightly{ name = "n1", builders = {"a"}, hour = 24, minute = "x" },
    k.nightly{ name = "n2", builders = {"a"}, day_of_month = 31, month = 2 },
    k.dependent{ name = "d1", builders = {"a"}, upstream = "nope" },
    k.any_branch{ name = "a2", builders = {"a"}, change_filter = k.change_filter{ branch_re = "(" } },
    k.any_branch{ name = "a3", builders = {"a"}, change_filter = "main", tree_stable_timer = -1 },
    k.triggerable{ name = "t1", builders = {"a"}, codebases = 3 },)");
    EXPECT_THAT(
        messages(result),
        ElementsAre(
            at(0) + "'branch' in k.single_branch is required unless a change_filter is given",
            at(1) + "'change_filter' in k.single_branch cannot be given with 'branch' (put the "
                    "branch into the filter)",
            at(2) + "unknown key 'branch' in k.any_branch (did you mean 'branches'?)",
            at(3) + "k.periodic: 'period' is required",
            at(4) + "'period' in k.periodic must be between 1 and 31622400, got 0",
            at(5) + "'minute' in k.nightly has 'x', not a number",
            at(5) + "'hour' in k.nightly has '24' outside 0..23",
            at(6) + "'day_of_month' in k.nightly never falls in the months given",
            HasSubstr(at(8) + "'branch_re' in k.change_filter holds '(', not a valid regular "
                              "expression: "),
            at(9) + "'change_filter' in k.any_branch must be k.change_filter{...} or a "
                    "function(change), got string",
            at(9) + "'tree_stable_timer' in k.any_branch must be between 0 and 31622400, got -1",
            at(10) + "'codebases' in k.triggerable must be a list of codebase names or a table "
                     "of name = { repository = ..., branch = ..., revision = ... }, got number",
            at(7) + "scheduler 'd1': upstream 'nope' is not a scheduler"));
}

TEST(SchedulerConfig, trigger_steps_name_triggerable_schedulers) {
    MasterDir dir;
    auto good = dir.load(R"(    k.triggerable{ name = "t", builders = {"a"} },)",
                         R"(    k.trigger{ scheduler_names = {"t"}, wait_for_finish = true,
      set_properties = { x = k.property("y") }, copy_properties = {"z"} },)");
    ASSERT_TRUE(good.config) << ::testing::PrintToString(messages(good));
    const auto& step = good.config->find_builder("b")->steps.at(0);
    EXPECT_EQ(step.type, "trigger");
    EXPECT_EQ(step.name, "trigger");
    EXPECT_EQ(*step.args.at("wait_for_finish").constant_value(), boost::json::value(true));
    EXPECT_FALSE(step.args.at("set_properties").is_constant());

    auto bad_names = dir.load(R"(    k.triggerable{ name = "t", builders = {"a"} },
    k.force{ name = "f", builders = {"a"} },)",
                              R"(    k.trigger{ scheduler_names = {"t", "f", "nope"} },)");
    EXPECT_THAT(messages(bad_names),
                ElementsAre("master.lua:6: k.trigger: scheduler 'f' is not a k.triggerable "
                            "scheduler",
                            "master.lua:6: k.trigger: scheduler 'nope' is not a k.triggerable "
                            "scheduler"));
    auto bad_args = dir.load(R"(    k.triggerable{ name = "t", builders = {"a"} },)",
                             R"(    k.trigger{ scheduler_names = {} },
    k.trigger{ scheduler_names = {"t"}, always_use_latest = true, update_source_stamp = true },)");
    EXPECT_THAT(messages(bad_args),
                ElementsAre("master.lua:6: 'scheduler_names' in k.trigger must be a non-empty "
                            "list of strings",
                            "master.lua:7: k.trigger: give at most one of 'always_use_latest' "
                            "and 'update_source_stamp'"));
}

TEST(SchedulerConfig, reconfig_equality_covers_the_typed_options) {
    MasterDir dir;
    const std::string base = R"(    k.single_branch{ name = "s", builders = {"a"}, branch = "main",
      tree_stable_timer = 10, file_is_important = function(c) return true end },
    k.nightly{ name = "n", builders = {"a"}, hour = 3 },)";
    auto first = dir.load(base);
    auto same = dir.load(base);
    ASSERT_TRUE(first.config && same.config) << ::testing::PrintToString(messages(first));
    EXPECT_TRUE(first.config->schedulers[0] == same.config->schedulers[0]);
    EXPECT_TRUE(first.config->schedulers[1] == same.config->schedulers[1]);
    auto changed = [&](const std::string& from, const std::string& to, std::size_t index) {
        auto text = base;
        text.replace(text.find(from), from.size(), to);
        auto other = dir.load(text);
        EXPECT_TRUE(other.config) << ::testing::PrintToString(messages(other));
        return other.config &&
               !(first.config->schedulers[index] == other.config->schedulers[index]);
    };
    EXPECT_TRUE(changed("tree_stable_timer = 10", "tree_stable_timer = 11", 0));
    EXPECT_TRUE(changed("return true", "return false", 0));
    EXPECT_TRUE(changed("branch = \"main\"", "branch = \"dev\"", 0));
    EXPECT_TRUE(changed("hour = 3", "hour = 4", 1));
    EXPECT_TRUE(changed("hour = 3", "hour = 3, day_of_week = 6", 1));
}

}  // namespace
}  // namespace kiln::config
