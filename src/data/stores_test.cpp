// SPDX-License-Identifier: Apache-2.0
// data/'s stores on a real (in-memory) SQLite database: what they store and what they
// announce, in Buildbot's shapes.
#include "core/results.hpp"
#include "data/builders.hpp"
#include "data/builds.hpp"
#include "data/buildsets.hpp"
#include "data/masters.hpp"
#include "data/store_test_support.hpp"
#include "data/workers.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <gtest/gtest.h>

namespace kiln::data {
namespace {

namespace asio = boost::asio;

class Stores : public testing::StoreTest {
protected:
    Stores() {
        subscription = bus.subscribe(bus::parse_key("*/*/*"), [this](const bus::Message& m) {
            events.push_back(bus::format_key(m.key));
            payloads.push_back(*m.payload);
        });
    }

    bool saw(const std::string& key) const {
        return std::find(events.begin(), events.end(), key) != events.end();
    }

    // A master with builder "app" and worker "w" configured for it.
    struct App {
        Id masterid = 0;
        Id builderid = 0;
        Id workerid = 0;
    };
    App configure_app() {
        App app;
        app.masterid = run(masters.find_or_create("host:/m"));
        app.builderid = run(builders.configure(app.masterid, {{"app", {}, {}}})).at("app");
        app.workerid = run(workers.configure(app.masterid, {{"w", {app.builderid}}})).at("w");
        return app;
    }
    // A buildset with one request, for builderid; returns the request's id.
    Id request_for(Id builderid) {
        NewBuildset spec;
        spec.builderids = {builderid};
        return run(buildsets.add(spec)).request_by_builder.at(builderid);
    }
    // A new request of app's builder and its build on "w", state "building".
    Build start_build(const App& app) {
        return run(builds.add(app.builderid, request_for(app.builderid), app.workerid, app.masterid,
                              {}, "building"));
    }

    Masters masters{context};
    Builders builders{context};
    Workers workers{context};
    Buildsets buildsets{context};
    Builds builds{context};
    bus::Subscription subscription;
    std::vector<std::string> events;
    std::vector<boost::json::object> payloads;
};

TEST_F(Stores, a_forced_build_goes_from_request_to_complete_buildset) {
    const auto masterid = run(masters.find_or_create("host:/m"));
    run(masters.mark_started(masterid));
    const auto ids = run(builders.configure(masterid, {{"app", "the app", {"b", "a"}}}));
    const auto builderid = ids.at("app");
    const auto worker_ids = run(workers.configure(masterid, {{"w1", {builderid}}}));

    core::Properties properties;
    properties.set("owner", "alice", "Force Build Form");
    NewBuildset spec;
    spec.reason = "forced";
    spec.properties = properties;
    spec.builderids = {builderid};
    spec.scheduler = "force";
    const auto added = run(buildsets.add(spec));
    EXPECT_TRUE(saw("buildsets/" + std::to_string(added.bsid) + "/new"));
    const auto brid = added.request_by_builder.at(builderid);
    EXPECT_EQ(run(buildsets.pending(builderid)).size(), 1u);
    EXPECT_TRUE(run(buildsets.claim({brid}, masterid)));
    EXPECT_FALSE(run(buildsets.claim({brid}, masterid))) << "a request is claimed once";
    EXPECT_TRUE(run(buildsets.pending(builderid)).empty());

    auto build = run(builds.add(builderid, brid, worker_ids.at("w1"), masterid, {}, "starting"));
    EXPECT_EQ(build.number, 1);
    auto step = run(builds.add_step(build.buildid, "compile"));
    auto again = run(builds.add_step(build.buildid, "compile"));
    EXPECT_EQ(step.number, 0);
    EXPECT_EQ(again.name, "compile_2");
    run(builds.start_step(step.stepid));
    auto log = run(builds.add_log(step.stepid, "report.html", "h"));
    EXPECT_EQ(log.slug, "report_html");
    run(builds.append_log(log.logid, "one\ntwo\n"));
    log = run(builds.append_log(log.logid, "three\n"));
    EXPECT_EQ(log.num_lines, 3);
    run(builds.finish_log(log.logid));
    EXPECT_EQ(run(builds.log_lines(log.logid, 1, 2)), "two\nthree\n");
    run(builds.finish_step(step.stepid, 0, false));
    run(builds.set_state_string(build.buildid, "build successful"));
    build = run(builds.finish(build.buildid, 0));
    EXPECT_TRUE(build.complete_at.has_value());
    run(buildsets.complete({brid}, 0));
    auto buildset = run(buildsets.get(added.bsid));
    ASSERT_TRUE(buildset);
    EXPECT_TRUE(buildset->complete);
    EXPECT_EQ(buildset->results, 0);
    EXPECT_TRUE(saw("buildsets/" + std::to_string(added.bsid) + "/complete"));
    EXPECT_TRUE(saw("builds/" + std::to_string(build.buildid) + "/finished"));
    EXPECT_EQ(run(builds.properties(build.buildid)).value_or_null("buildnumber"),
              boost::json::value(1));

    auto builder = run(builders.get(builderid));
    ASSERT_TRUE(builder);
    EXPECT_EQ(builder->tags, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(builder->masterids, (std::vector<Id>{masterid}));
}

TEST_F(Stores, builds_are_numbered_per_builder) {
    const auto masterid = run(masters.find_or_create("host:/m"));
    const auto ids = run(builders.configure(masterid, {{"a", {}, {}}, {"b", {}, {}}}));
    const auto workerid = run(workers.configure(masterid, {{"w", {}}})).at("w");
    NewBuildset spec;
    spec.builderids = {ids.at("a"), ids.at("b")};
    const auto added = run(buildsets.add(spec));
    const auto a1 = run(builds.add(ids.at("a"), added.request_by_builder.at(ids.at("a")), workerid,
                                   masterid, {}, "s"));
    const auto b1 = run(builds.add(ids.at("b"), added.request_by_builder.at(ids.at("b")), workerid,
                                   masterid, {}, "s"));
    const auto a2 = run(builds.add(ids.at("a"), added.request_by_builder.at(ids.at("a")), workerid,
                                   masterid, {}, "s"));
    EXPECT_EQ(a1.number, 1);
    EXPECT_EQ(b1.number, 1);
    EXPECT_EQ(a2.number, 2);
}

TEST_F(Stores, combined_step_calls_store_and_announce_what_the_separate_calls_do) {
    auto build = start_build(configure_app());

    auto event_names = [this](std::size_t from, std::size_t to) {
        std::vector<std::string> names;
        for (std::size_t i = from; i < to; ++i)
            names.push_back(events[i].substr(events[i].rfind('/') + 1));
        return names;
    };
    auto without_identity = [this](std::size_t i) {
        auto payload = payloads[i];
        payload.erase("stepid");
        payload.erase("number");
        payload.erase("name");
        return payload;
    };

    const auto first = events.size();
    auto a = run(builds.add_step(build.buildid, "separate"));
    run(builds.start_step(a.stepid));
    run(builds.set_step_state_string(a.stepid, "running"));
    run(builds.set_step_state_string(a.stepid, "done"));
    const auto a_done = run(builds.finish_step(a.stepid, 2, true));
    const auto middle = events.size();
    auto b = run(builds.add_started_step(build.buildid, "combined", std::string("running")));
    EXPECT_EQ(b.state_string, "running");
    EXPECT_TRUE(b.started_at.has_value());
    const auto b_done = run(builds.finish_step(b.stepid, "done", 2, true));
    const auto last = events.size();

    ASSERT_EQ(last - middle, middle - first);
    EXPECT_EQ(event_names(middle, last), event_names(first, middle));
    EXPECT_EQ(event_names(first, middle),
              (std::vector<std::string>{"new", "started", "updated", "updated", "finished"}));
    for (std::size_t i = 0; i < middle - first; ++i)
        EXPECT_EQ(without_identity(middle + i), without_identity(first + i)) << events[middle + i];

    const auto stored = run(builds.get_step(b.stepid));
    ASSERT_TRUE(stored);
    EXPECT_EQ(stored->state_string, "done");
    EXPECT_EQ(stored->results, 2);
    EXPECT_TRUE(stored->hidden);
    EXPECT_EQ(stored->started_at, a_done.started_at);
    EXPECT_EQ(b_done.complete_at, a_done.complete_at);

    // Without a state string the step stays "pending" as add_step + start_step leave it.
    auto c = run(builds.add_started_step(build.buildid, "quiet", std::nullopt));
    EXPECT_EQ(c.state_string, "pending");
    EXPECT_EQ(event_names(last, events.size()), (std::vector<std::string>{"new", "started"}));
}

TEST_F(Stores, finishing_a_build_with_its_state_string_announces_what_the_separate_calls_do) {
    const auto app = configure_app();
    auto separate = start_build(app);
    auto combined = start_build(app);

    const auto first = events.size();
    run(builds.set_state_string(separate.buildid, "failed compile"));
    const auto separate_done = run(builds.finish(separate.buildid, 2));
    const auto middle = events.size();
    const auto combined_done = run(builds.finish(combined.buildid, "failed compile", 2));
    const auto last = events.size();

    ASSERT_EQ(middle - first, 2U);
    ASSERT_EQ(last - middle, 2U);
    for (std::size_t i = 0; i < 2; ++i) {
        const auto& key = events[middle + i];
        EXPECT_EQ(key.substr(key.rfind('/')),
                  events[first + i].substr(events[first + i].rfind('/')));
        auto a = payloads[first + i];
        auto b = payloads[middle + i];
        for (auto* payload : {&a, &b}) {
            payload->erase("buildid");
            payload->erase("number");
            payload->erase("buildrequestid");
        }
        EXPECT_EQ(b, a) << key;
    }
    EXPECT_EQ(combined_done.state_string, "failed compile");
    EXPECT_EQ(combined_done.results, 2);
    EXPECT_EQ(combined_done.complete_at, separate_done.complete_at);
    const auto stored = run(builds.get(combined.buildid));
    ASSERT_TRUE(stored);
    EXPECT_EQ(stored->state_string, "failed compile");
    EXPECT_EQ(stored->results, 2);
}

TEST_F(Stores, finishing_a_log_with_its_last_lines_stores_and_announces_append_then_finished) {
    auto build = start_build(configure_app());
    auto step = run(builds.add_started_step(build.buildid, "compile", std::nullopt));
    auto log = run(builds.add_log(step.stepid, "stdio", "s"));
    run(builds.append_log(log.logid, "ofirst\n"));

    const auto first = events.size();
    const auto done = run(builds.finish_log(log.logid, std::string("osecond\nethird\n")));
    ASSERT_EQ(events.size() - first, 2U);
    const auto key = "logs/" + std::to_string(log.logid) + "/";
    EXPECT_EQ(events[first], key + "append");
    EXPECT_EQ(events[first + 1], key + "finished");
    EXPECT_EQ(payloads[first].at("complete"), false);
    EXPECT_EQ(payloads[first].at("num_lines"), 3);
    EXPECT_TRUE(done.complete);
    EXPECT_EQ(done.num_lines, 3);
    EXPECT_EQ(run(builds.log_lines(log.logid, 0, 2)), "ofirst\nosecond\nethird\n");

    // Nothing left to append: only "finished".
    auto empty = run(builds.add_log(step.stepid, "empty", "t"));
    const auto before = events.size();
    EXPECT_TRUE(run(builds.finish_log(empty.logid, std::string())).complete);
    ASSERT_EQ(events.size() - before, 1U);
    EXPECT_EQ(events[before], "logs/" + std::to_string(empty.logid) + "/finished");
}

TEST_F(Stores, stopping_a_master_ends_its_builds_retry_and_requeues_their_requests) {
    const auto [masterid, builderid, workerid] = configure_app();
    const auto brid = request_for(builderid);
    ASSERT_TRUE(run(buildsets.claim({brid}, masterid)));
    auto build = run(builds.add(builderid, brid, workerid, masterid, {}, "building"));
    auto step = run(builds.add_step(build.buildid, "test"));
    run(builds.start_step(step.stepid));
    auto log = run(builds.add_log(step.stepid, "stdio", "s"));
    run(builds.append_log(log.logid, "ohello\n"));

    run(masters.mark_stopped(masterid));  // what a restart after SIGKILL does first

    build = *run(builds.get(build.buildid));
    EXPECT_EQ(build.results, static_cast<int>(core::Results::retry));
    EXPECT_EQ(run(builds.get_step(step.stepid))->results, static_cast<int>(core::Results::retry));
    EXPECT_TRUE(run(builds.get_log(log.logid))->complete);
    EXPECT_EQ(run(builds.log_lines(log.logid, 0, 0)), "ohello\n") << "stored output survives";
    const auto pending = run(buildsets.pending(builderid));
    ASSERT_EQ(pending.size(), 1u);
    EXPECT_EQ(pending[0].buildrequestid, brid);
    EXPECT_FALSE(run(masters.get(masterid))->active);
    EXPECT_TRUE(saw("buildrequests/" + std::to_string(brid) + "/unclaimed"));
}

TEST_F(Stores, cancelling_a_pending_request_completes_it_cancelled) {
    const auto masterid = run(masters.find_or_create("host:/m"));
    const auto builderid = run(builders.configure(masterid, {{"app", {}, {}}})).at("app");
    NewBuildset spec;
    spec.builderids = {builderid};
    const auto added = run(buildsets.add(spec));
    const auto brid = added.request_by_builder.at(builderid);
    EXPECT_TRUE(run(buildsets.cancel(brid, masterid)));
    EXPECT_FALSE(run(buildsets.cancel(brid, masterid)));
    auto request = run(buildsets.get_request(brid));
    EXPECT_TRUE(request->complete);
    EXPECT_EQ(request->results, static_cast<int>(core::Results::cancelled));
    EXPECT_EQ(run(buildsets.get(added.bsid))->results, static_cast<int>(core::Results::cancelled));
}

TEST_F(Stores, the_queue_lists_builders_with_incomplete_requests_and_serves_them_in_order) {
    const auto masterid = run(masters.find_or_create("host:/m"));
    const auto ids =
        run(builders.configure(masterid, {{"a", {}, {}}, {"b", {}, {}}, {"c", {}, {}}}));
    const auto a = ids.at("a"), b = ids.at("b"), c = ids.at("c");
    auto request = [&](Id builderid, int priority) {
        NewBuildset spec;
        spec.builderids = {builderid};
        spec.priority = priority;
        return run(buildsets.add(spec)).request_by_builder.at(builderid);
    };
    EXPECT_TRUE(run(buildsets.builders_with_pending()).empty());
    const auto c1 = request(c, 0);
    const auto a1 = request(a, 0);
    const auto a2 = request(a, 5);
    const auto a3 = request(a, 0);
    const auto b1 = request(b, 0);
    EXPECT_EQ(run(buildsets.builders_with_pending()), (std::vector<Id>{a, b, c}));

    // Highest priority first, then oldest; claimed requests are not pending.
    auto brids = [](const std::vector<BuildRequest>& requests) {
        std::vector<Id> out;
        for (const auto& one : requests)
            out.push_back(one.buildrequestid);
        return out;
    };
    EXPECT_EQ(brids(run(buildsets.pending(a))), (std::vector<Id>{a2, a1, a3}));
    EXPECT_TRUE(run(buildsets.claim({a2}, masterid)));
    EXPECT_EQ(brids(run(buildsets.pending(a, 1))), (std::vector<Id>{a1}));

    // Completed requests leave the queue; a builder with none left is not listed.
    run(buildsets.complete({b1, c1}, 0));
    EXPECT_EQ(run(buildsets.builders_with_pending()), (std::vector<Id>{a}));
    run(buildsets.complete({a1, a2, a3}, 0));
    EXPECT_TRUE(run(buildsets.builders_with_pending()).empty());
}

TEST_F(Stores, a_config_stores_builders_and_workers_in_one_step_and_a_reconfig_replaces_them) {
    const auto masterid = run(masters.find_or_create("host:/m"));
    auto first = run(builders.configure(masterid, {{"a", {}, {}}, {"b", {}, {}}},
                                        {{"w1", {"a", "b"}}, {"w2", {"b"}}}));
    auto w1 = *run(workers.get(first.worker_ids.at("w1")));
    EXPECT_EQ(w1.configured_on.size(), 2u);
    auto second = run(builders.configure(masterid, {{"b", {}, {}}}, {{"w2", {"b"}}}));
    EXPECT_EQ(second.builder_ids.at("b"), first.builder_ids.at("b")) << "ids are kept";
    EXPECT_TRUE(run(builders.get(first.builder_ids.at("a")))->masterids.empty())
        << "a removed builder keeps its row and history but leaves the master";
    EXPECT_TRUE(run(workers.get(first.worker_ids.at("w1")))->configured_on.empty());
    EXPECT_EQ(run(workers.get(first.worker_ids.at("w2")))->configured_on.size(), 1u);
    EXPECT_TRUE(saw("builders/" + std::to_string(first.builder_ids.at("a")) + "/stopped"));
}

TEST_F(Stores, a_collapsed_request_completes_skipped_and_names_the_build_that_covered_it) {
    const auto masterid = run(masters.find_or_create("host:/m"));
    const auto builderid = run(builders.configure(masterid, {{"app", {}, {}}})).at("app");
    const auto workerid = run(workers.configure(masterid, {{"w", {builderid}}})).at("w");
    NewBuildset spec;
    spec.builderids = {builderid};
    spec.sourcestamps = {SourceStampSpec{"main", "abc", "repo", "", ""}};
    spec.properties.set("suite", "unit", "Scheduler");
    const auto older = run(buildsets.add(spec));
    const auto newer = run(buildsets.add(spec));
    const auto old_brid = older.request_by_builder.at(builderid);
    const auto new_brid = newer.request_by_builder.at(builderid);
    auto infos = run(buildsets.collapse_info({older.bsid, newer.bsid}));
    ASSERT_EQ(infos.size(), 2u);
    EXPECT_EQ(infos.at(older.bsid).sourcestamps.at(0).revision, "abc");
    EXPECT_TRUE(infos.at(older.bsid).ssids_with_changes.empty());
    EXPECT_EQ(infos.at(older.bsid).properties.find("suite")->source, "Scheduler");

    ASSERT_TRUE(run(buildsets.claim({new_brid, old_brid}, masterid)));
    auto build = run(builds.add(builderid, new_brid, workerid, masterid, {}, "starting"));
    run(buildsets.complete_collapsed({old_brid}, build.buildid));
    auto request = *run(buildsets.get_request(old_brid));
    EXPECT_TRUE(request.complete);
    EXPECT_EQ(request.results, static_cast<int>(core::Results::skipped));
    EXPECT_EQ(run(buildsets.covering_build(old_brid)), build.buildid);
    EXPECT_EQ(run(buildsets.covering_build(new_brid)), std::nullopt);
    EXPECT_TRUE(run(buildsets.get(older.bsid))->complete) << "its only request is done";
    EXPECT_TRUE(saw("buildsets/" + std::to_string(older.bsid) + "/complete"));
}

TEST_F(Stores, wait_complete_returns_when_the_buildset_completes) {
    const auto masterid = run(masters.find_or_create("host:/m"));
    const auto builderid = run(builders.configure(masterid, {{"app", {}, {}}})).at("app");
    NewBuildset spec;
    spec.builderids = {builderid};
    const auto added = run(buildsets.add(spec));
    const auto brid = added.request_by_builder.at(builderid);
    auto waiting = asio::co_spawn(io, buildsets.wait_complete(added.bsid), asio::use_future);
    io.restart();
    io.run_for(std::chrono::milliseconds(50));
    EXPECT_EQ(waiting.wait_for(std::chrono::seconds(0)), std::future_status::timeout);
    // Completed while the waiter waits (one io.run() for both: the waiter holds the loop).
    auto finish = [](Buildsets& store, Id request, Id master) -> asio::awaitable<void> {
        std::vector<Id> brids{request};
        co_await store.claim(brids, master);
        co_await store.complete(brids, static_cast<int>(core::Results::failure));
    };
    run(finish(buildsets, brid, masterid));
    auto buildset = waiting.get();
    EXPECT_TRUE(buildset.complete);
    EXPECT_EQ(buildset.results, static_cast<int>(core::Results::failure));
    EXPECT_EQ(run(buildsets.wait_complete(added.bsid)).bsid, added.bsid) << "already complete";
}

TEST_F(Stores, identical_sourcestamps_share_one_row) {
    SourceStampSpec a{"main", "abc", "repo", "", ""};
    EXPECT_EQ(sourcestamp_hash(a, std::nullopt), sourcestamp_hash(a, std::nullopt));
    SourceStampSpec b = a;
    b.revision = std::nullopt;
    EXPECT_NE(sourcestamp_hash(a, std::nullopt), sourcestamp_hash(b, std::nullopt));
}

}  // namespace
}  // namespace kiln::data
