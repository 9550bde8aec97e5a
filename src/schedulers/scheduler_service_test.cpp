// SPDX-License-Identifier: Apache-2.0
// SchedulerService: scheduler rows and claims, reconfig (unchanged schedulers keep running
// with their state, changed ones restart, removed ones stop), schedulers another master
// runs; k.triggerable (what a Trigger step gets) and k.dependent.
#include "core/results.hpp"
#include "schedulers/scheduler_test_support.hpp"

namespace kiln::schedulers {
namespace {

using testing::NewTestChange;
using testing::SchedulerTest;

constexpr std::string_view kThree = R"lua(
    k.force{ name = "force", builders = {"a"} },
    k.single_branch{ name = "main", builders = {"a"}, branch = "main", tree_stable_timer = 60 },
    k.triggerable{ name = "tests", builders = {"b"}, properties = { suite = "unit" } },)lua";

TEST_F(SchedulerTest, every_configured_scheduler_gets_a_row_claimed_by_this_master) {
    start(kThree);
    auto rows = run(scheduler_rows.list());
    ASSERT_EQ(rows.size(), 3u);
    EXPECT_EQ(rows[0].name, "force");
    EXPECT_EQ(rows[1].name, "main");
    EXPECT_EQ(rows[2].name, "tests");
    for (const auto& row : rows) {
        EXPECT_TRUE(row.enabled);
        ASSERT_TRUE(row.master.has_value());
        EXPECT_EQ(row.master->masterid, masterid);
    }
    auto json = rows[1].to_json();
    EXPECT_EQ(json.at("schedulerid"), boost::json::value(rows[1].schedulerid));
    EXPECT_EQ(json.at("name"), boost::json::value("main"));
    EXPECT_EQ(json.at("enabled"), boost::json::value(true));
    EXPECT_EQ(json.at("master").as_object().at("masterid"), boost::json::value(masterid));
    EXPECT_EQ(service->scheduler_id("main"), rows[1].schedulerid);
}

TEST_F(SchedulerTest, enabling_and_disabling_is_announced_with_the_entity) {
    start(kThree);
    std::vector<boost::json::object> seen;
    auto subscription = bus.subscribe(bus::parse_key("schedulers/*/updated"),
                                      [&](const bus::Message& m) { seen.push_back(*m.payload); });
    const auto id = *service->scheduler_id("tests");
    run(scheduler_rows.set_enabled(id, false));
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].at("enabled"), boost::json::value(false));
    EXPECT_EQ(seen[0].at("name"), boost::json::value("tests"));
    EXPECT_FALSE(run(scheduler_rows.set_enabled(9999, true)).has_value());
}

TEST_F(SchedulerTest, reconfig_keeps_unchanged_schedulers_and_their_pending_timers) {
    start(kThree);
    auto main_before = service->find("main");
    add_change();
    advance(30);
    reconfigure(std::string(kThree) +
                R"lua(k.periodic{ name = "new", builders = {"a"}, period = 3600 },)lua");
    EXPECT_EQ(service->find("main"), main_before) << "the same running scheduler";
    advance(30);  // main's timer fires on time
    auto buildsets = all_buildsets();
    ASSERT_GE(buildsets.size(), 1u);
    EXPECT_TRUE(std::any_of(buildsets.begin(), buildsets.end(), [](const auto& b) {
        return b.reason.find("'main'") != std::string::npos;
    }));
    EXPECT_EQ(run(scheduler_rows.list()).size(), 4u);
}

TEST_F(SchedulerTest, reconfig_restarts_changed_schedulers_and_releases_removed_ones) {
    start(kThree);
    auto main_before = service->find("main");
    add_change();  // main's timer: t=60
    reconfigure(R"lua(
    k.force{ name = "force", builders = {"a"} },
    k.single_branch{ name = "main", builders = {"a"}, branch = "main", tree_stable_timer = 90 },)lua");
    EXPECT_NE(service->find("main"), main_before);
    EXPECT_EQ(service->find("tests"), nullptr);
    auto rows = run(scheduler_rows.list());
    ASSERT_EQ(rows.size(), 3u) << "rows are never deleted";
    EXPECT_FALSE(rows[2].master.has_value()) << "'tests' runs nowhere now";
    // The changed scheduler resumed the stored timer (still due at t=60).
    advance(60);
    EXPECT_EQ(all_buildsets().size(), 1u);
    auto gone = run(service->trigger("tests", {}));
    EXPECT_FALSE(gone);
}

TEST_F(SchedulerTest, a_scheduler_another_active_master_runs_is_not_started_here) {
    data::Masters other_masters{context};
    const auto other = run(other_masters.find_or_create("other:/m"));
    run(other_masters.mark_started(other));
    std::vector<std::string> names{"main"};
    run(scheduler_rows.configure(other, names));
    start(R"lua(k.single_branch{ name = "main", builders = {"a"}, branch = "main" },)lua");
    add_change();
    EXPECT_TRUE(all_buildsets().empty()) << "the other master builds its changes";
    // The other master stops: after the retry period, this one takes over.
    run(other_masters.mark_stopped(other));
    advance(300);
    add_change();
    EXPECT_EQ(all_buildsets().size(), 1u);
    auto rows = run(scheduler_rows.list());
    EXPECT_EQ(rows[0].master->masterid, masterid);
}

TEST_F(SchedulerTest, a_triggerable_makes_a_buildset_with_the_steps_sourcestamps_and_properties) {
    start(
        R"lua(k.triggerable{ name = "tests", builders = {"a", "b"}, properties = { suite = "unit" },
      codebases = { app = {}, lib = { repository = "https://git.example/lib.git", branch = "dev" } } },)lua");
    TriggerRequest request;
    request.waited_for = true;
    request.sourcestamps.push_back({"main", "abc123", "https://git.example/app.git", "app", "app"});
    request.properties.set("suite", "integration", "Trigger");
    request.properties.set("from", 42, "Trigger");
    request.parent_relationship = "Triggered from";
    auto added = run(service->trigger("tests", std::move(request)));
    ASSERT_TRUE(added) << added.error().message;
    EXPECT_EQ(added->request_by_builder.size(), 2u);
    auto buildset = *run(buildset_store.get(added->bsid));
    EXPECT_EQ(buildset.reason, "The Triggerable scheduler named 'tests' triggered this build");
    EXPECT_EQ(buildset.parent_relationship, "Triggered from");
    EXPECT_EQ(revision_of(buildset, "app"), "abc123");
    EXPECT_EQ(revision_of(buildset, "lib"), "<null>");
    for (const auto& request_row : requests_of(added->bsid))
        EXPECT_TRUE(request_row.waited_for);
    auto properties = properties_of(added->bsid);
    EXPECT_EQ(properties.find("suite")->value, boost::json::value("integration"));
    EXPECT_EQ(properties.find("suite")->source, "Trigger");
    EXPECT_EQ(properties.find("scheduler")->value, boost::json::value("tests"));

    TriggerRequest with_reason;
    with_reason.properties.set("reason", "nightly tests", "Trigger");
    auto second = run(service->trigger("tests", std::move(with_reason)));
    ASSERT_TRUE(second);
    EXPECT_EQ(run(buildset_store.get(second->bsid))->reason, "nightly tests");

    run(scheduler_rows.set_enabled(*service->scheduler_id("tests"), false));
    settle();
    auto refused = run(service->trigger("tests", {}));
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().message, "scheduler 'tests' is disabled");
    auto unknown = run(service->trigger("main", {}));
    ASSERT_FALSE(unknown);
    EXPECT_EQ(unknown.error().kind, core::ErrorKind::not_found);
}

TEST_F(SchedulerTest, a_dependent_builds_after_its_upstream_succeeds_with_the_same_sources) {
    start(R"lua(
    k.single_branch{ name = "main", builders = {"a"}, branch = "main" },
    k.dependent{ name = "after", upstream = "main", builders = {"b"} },)lua");
    add_change();
    auto buildsets = all_buildsets();
    ASSERT_EQ(buildsets.size(), 1u);
    const auto upstream = buildsets[0];
    auto requests = requests_of(upstream.bsid);
    ASSERT_EQ(requests.size(), 1u);
    const std::vector<data::Id> brids{requests[0].buildrequestid};
    run(buildset_store.claim(brids, masterid));
    run(buildset_store.complete(brids, static_cast<int>(core::Results::warnings)));
    settle();
    buildsets = all_buildsets();
    ASSERT_EQ(buildsets.size(), 2u);
    EXPECT_EQ(buildsets[1].reason, "downstream");
    ASSERT_EQ(buildsets[1].sourcestamps.size(), 1u);
    EXPECT_EQ(buildsets[1].sourcestamps[0].ssid, upstream.sourcestamps[0].ssid);
    EXPECT_EQ(requests_of(buildsets[1].bsid).at(0).builderid, builder_ids.at("b"));

    // A failed upstream buildset starts nothing.
    add_change();
    auto failed = all_buildsets().back();
    const std::vector<data::Id> failed_brids{requests_of(failed.bsid).at(0).buildrequestid};
    run(buildset_store.claim(failed_brids, masterid));
    run(buildset_store.complete(failed_brids, static_cast<int>(core::Results::failure)));
    settle();
    EXPECT_EQ(all_buildsets().size(), 3u);
}

TEST_F(SchedulerTest, a_dependent_follows_upstream_buildsets_that_completed_while_it_was_down) {
    const std::string schedulers = R"lua(
    k.single_branch{ name = "main", builders = {"a"}, branch = "main" },
    k.dependent{ name = "after", upstream = "main", builders = {"b"} },)lua";
    start(schedulers);
    add_change();
    const auto upstream = all_buildsets().at(0);
    run(service->stop());
    service.reset();
    const std::vector<data::Id> brids{requests_of(upstream.bsid).at(0).buildrequestid};
    run(buildset_store.claim(brids, masterid));
    run(buildset_store.complete(brids, static_cast<int>(core::Results::success)));
    start(schedulers);
    settle();
    auto buildsets = all_buildsets();
    ASSERT_EQ(buildsets.size(), 2u);
    EXPECT_EQ(buildsets[1].reason, "downstream");
}

}  // namespace
}  // namespace kiln::schedulers
