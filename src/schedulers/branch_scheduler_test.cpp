// SPDX-License-Identifier: Apache-2.0
// k.single_branch and k.any_branch on a real database with a manual clock: tree-stable
// timers, important and unimportant changes, filters, one build per branch, and what
// survives a restart.
#include "schedulers/scheduler_test_support.hpp"

namespace kiln::schedulers {
namespace {

using testing::NewTestChange;
using testing::SchedulerTest;

constexpr std::string_view kMain =
    R"lua(k.single_branch{ name = "main", builders = {"a", "b"}, branch = "main",
                       tree_stable_timer = 60, properties = { p = "x" } },)lua";

TEST_F(SchedulerTest, a_burst_of_changes_within_the_tree_stable_timer_gives_one_buildset) {
    start(kMain);
    add_change();
    advance(30);
    add_change();
    advance(50);  // 80 s after the first change, 50 after the second: still waiting
    NewTestChange last;
    last.properties = {{"ticket", "BUG-7"}};
    const auto last_id = add_change(last);
    EXPECT_TRUE(all_buildsets().empty());
    EXPECT_EQ(classified("main").size(), 3u);
    advance(59);
    EXPECT_TRUE(all_buildsets().empty());
    advance(1);
    auto buildsets = all_buildsets();
    ASSERT_EQ(buildsets.size(), 1u);
    const auto& buildset = buildsets[0];
    EXPECT_EQ(buildset.reason,
              "The SingleBranchScheduler scheduler named 'main' triggered this build");
    EXPECT_EQ(revision_of(buildset), "rev3");
    ASSERT_EQ(buildset.sourcestamps.size(), 1u);
    EXPECT_EQ(buildset.sourcestamps[0].branch, "main");
    EXPECT_EQ(requests_of(buildset.bsid).size(), 2u);
    auto properties = properties_of(buildset.bsid);
    EXPECT_EQ(properties.find("scheduler")->value, boost::json::value("main"));
    EXPECT_EQ(properties.find("scheduler")->source, "Scheduler");
    EXPECT_EQ(properties.find("p")->value, boost::json::value("x"));
    EXPECT_EQ(properties.find("ticket")->value, boost::json::value("BUG-7"));
    EXPECT_EQ(properties.find("ticket")->source, "Change");
    EXPECT_TRUE(classified("main").empty()) << "built changes are forgotten";
    (void)last_id;
}

TEST_F(SchedulerTest, without_a_timer_each_important_change_is_built_at_once) {
    start(R"lua(k.single_branch{ name = "main", builders = {"a"}, branch = "main",
      file_is_important = function(change)
        for _, f in ipairs(change.files) do if f:match("%.c$") then return true end end
        return false
      end },)lua");
    add_change();
    NewTestChange docs;
    docs.files = {"README.md"};
    add_change(docs);
    add_change();
    auto buildsets = all_buildsets();
    ASSERT_EQ(buildsets.size(), 2u);
    EXPECT_EQ(revision_of(buildsets[0]), "rev1");
    EXPECT_EQ(revision_of(buildsets[1]), "rev3");
    EXPECT_TRUE(classified("main").empty());
}

TEST_F(SchedulerTest, changes_on_other_branches_and_codebases_are_ignored) {
    start(kMain);
    NewTestChange other;
    other.branch = "feature";
    add_change(other);
    NewTestChange no_branch;
    no_branch.branch = std::nullopt;
    add_change(no_branch);
    NewTestChange lib;
    lib.codebase = "lib";
    add_change(lib);
    advance(120);
    EXPECT_TRUE(all_buildsets().empty());
    EXPECT_TRUE(classified("main").empty());
}

TEST_F(SchedulerTest, an_unimportant_change_starts_no_timer_but_joins_a_running_one) {
    start(R"lua(k.single_branch{ name = "main", builders = {"a"}, branch = "main",
      tree_stable_timer = 60,
      file_is_important = function(change) return change.files[1] ~= "README" end },)lua");
    NewTestChange docs;
    docs.files = {"README"};
    add_change(docs);
    advance(600);
    EXPECT_TRUE(all_buildsets().empty()) << "only unimportant changes: no build";
    EXPECT_EQ(classified("main").size(), 1u);
    add_change();  // important: starts the timer
    advance(50);
    add_change(docs);  // unimportant: restarts the running timer
    advance(59);
    EXPECT_TRUE(all_buildsets().empty());
    advance(1);
    auto buildsets = all_buildsets();
    ASSERT_EQ(buildsets.size(), 1u);
    EXPECT_EQ(revision_of(buildsets[0]), "rev3") << "the latest change, unimportant or not";
    EXPECT_TRUE(classified("main").empty());
}

TEST_F(SchedulerTest, only_important_drops_unimportant_changes) {
    start(R"lua(k.single_branch{ name = "main", builders = {"a"}, branch = "main",
      tree_stable_timer = 10, only_important = true,
      file_is_important = function(change) return change.files[1] ~= "README" end },)lua");
    add_change();
    NewTestChange docs;
    docs.files = {"README"};
    add_change(docs);
    EXPECT_EQ(classified("main").size(), 1u);
    advance(10);
    auto buildsets = all_buildsets();
    ASSERT_EQ(buildsets.size(), 1u);
    EXPECT_EQ(revision_of(buildsets[0]), "rev1");
}

TEST_F(SchedulerTest, any_branch_builds_each_branch_after_its_own_quiet_period) {
    start(R"lua(k.any_branch{ name = "all", builders = {"a"}, tree_stable_timer = 60,
      change_filter = k.change_filter{ branch_re = "^(main|release/)" } },)lua");
    add_change();  // main, t=0
    advance(30);
    NewTestChange release;
    release.branch = "release/1.0";
    add_change(release);  // t=30
    NewTestChange feature;
    feature.branch = "feature";
    add_change(feature);  // filtered out
    advance(20);
    add_change();  // main again, t=50: main's timer now ends at 110
    advance(40);   // t=90: release's timer (30+60) has fired
    auto buildsets = all_buildsets();
    ASSERT_EQ(buildsets.size(), 1u);
    EXPECT_EQ(buildsets[0].sourcestamps[0].branch, "release/1.0");
    EXPECT_EQ(classified("all").size(), 2u) << "main's changes still wait";
    advance(20);  // t=110
    buildsets = all_buildsets();
    ASSERT_EQ(buildsets.size(), 2u);
    EXPECT_EQ(buildsets[1].sourcestamps[0].branch, "main");
    EXPECT_EQ(revision_of(buildsets[1]), "rev4");
    EXPECT_TRUE(classified("all").empty());
    EXPECT_EQ(buildsets[1].reason,
              "The AnyBranchScheduler scheduler named 'all' triggered this build");
}

TEST_F(SchedulerTest, several_codebases_take_the_latest_change_of_each_and_defaults_for_others) {
    start(R"lua(k.any_branch{ name = "multi", builders = {"a"}, tree_stable_timer = 5,
      codebases = { app = { repository = "https://git.example/app.git" },
                    lib = { repository = "https://git.example/lib.git", branch = "stable" } } },)lua");
    NewTestChange app;
    app.codebase = "app";
    add_change(app);
    add_change(app);
    advance(5);
    auto buildsets = all_buildsets();
    ASSERT_EQ(buildsets.size(), 1u);
    ASSERT_EQ(buildsets[0].sourcestamps.size(), 2u);
    EXPECT_EQ(revision_of(buildsets[0], "app"), "rev2");
    EXPECT_EQ(revision_of(buildsets[0], "lib"), "<null>");
    for (const auto& stamp : buildsets[0].sourcestamps)
        if (stamp.codebase == "lib") {
            EXPECT_EQ(stamp.branch, "stable");
            EXPECT_EQ(stamp.repository, "https://git.example/lib.git");
        }
}

TEST_F(SchedulerTest, a_pending_tree_stable_timer_resumes_after_a_restart) {
    start(kMain);
    add_change();
    advance(20);
    add_change();  // the timer now ends at t=80
    start(kMain);  // a new service on the same database, as after a master restart
    advance(59);   // t=79
    EXPECT_TRUE(all_buildsets().empty());
    advance(1);
    auto buildsets = all_buildsets();
    ASSERT_EQ(buildsets.size(), 1u);
    EXPECT_EQ(revision_of(buildsets[0]), "rev2");
}

TEST_F(SchedulerTest, a_timer_that_passed_while_the_master_was_down_fires_at_start) {
    start(kMain);
    add_change();
    run(service->stop());
    service.reset();
    clock.advance(3600);  // down for an hour
    start(kMain);
    settle();
    clock.advance(0);
    settle();
    auto buildsets = all_buildsets();
    ASSERT_EQ(buildsets.size(), 1u);
    EXPECT_EQ(revision_of(buildsets[0]), "rev1");
}

TEST_F(SchedulerTest, changes_made_while_the_scheduler_was_stopped_are_caught_up) {
    start(R"lua(k.single_branch{ name = "main", builders = {"a"}, branch = "main" },)lua");
    add_change();
    ASSERT_EQ(all_buildsets().size(), 1u);
    run(service->stop());
    service.reset();
    add_change({}, false);  // stored while no scheduler listens (another master's source)
    start(R"lua(k.single_branch{ name = "main", builders = {"a"}, branch = "main" },)lua");
    auto buildsets = all_buildsets();
    ASSERT_EQ(buildsets.size(), 2u);
    EXPECT_EQ(revision_of(buildsets[1]), "rev2");
    add_change();  // and live changes after it
    EXPECT_EQ(all_buildsets().size(), 3u);
}

TEST_F(SchedulerTest, a_new_scheduler_does_not_build_the_changes_made_before_it_existed) {
    add_change({}, false);
    start(R"lua(k.single_branch{ name = "main", builders = {"a"}, branch = "main" },)lua");
    EXPECT_TRUE(all_buildsets().empty());
    add_change();
    EXPECT_EQ(all_buildsets().size(), 1u);
}

TEST_F(SchedulerTest, a_filter_function_that_raises_ignores_the_change) {
    start(R"lua(k.single_branch{ name = "main", builders = {"a"},
      change_filter = function(change) error("boom") end },)lua");
    add_change();
    EXPECT_TRUE(all_buildsets().empty());
}

}  // namespace
}  // namespace kiln::schedulers
