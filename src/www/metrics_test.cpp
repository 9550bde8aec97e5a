// SPDX-License-Identifier: Apache-2.0
// Metrics: the exposition format (HELP/TYPE, labels, histograms), the counters kept from bus
// events, and the whole path on a real bus and SQLite database filled through data/'s stores.
#include "data/builders.hpp"
#include "data/builds.hpp"
#include "data/buildsets.hpp"
#include "data/masters.hpp"
#include "data/queries.hpp"
#include "data/store_test_support.hpp"
#include "data/workers.hpp"
#include "www/metrics.hpp"

#include <set>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kiln::www {
namespace {

using ::testing::HasSubstr;

// The value of the sample whose name and labels are exactly `series` (e.g. `a{b="c"}`).
std::optional<double> sample_value(const std::string& text, std::string_view series) {
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        if (line.starts_with("#") || !line.starts_with(series)) continue;
        if (line.size() <= series.size() || line[series.size()] != ' ') continue;
        return std::stod(line.substr(series.size() + 1));
    }
    return std::nullopt;
}

// Every sample line's metric name (before '{' or ' ') has a TYPE line before it, and HELP and
// TYPE come once per metric.
void expect_well_formed(const std::string& text) {
    std::istringstream lines(text);
    std::set<std::string> typed, helped;
    std::string current;
    for (std::string line; std::getline(lines, line);) {
        ASSERT_FALSE(line.empty()) << "no empty lines";
        if (line.starts_with("# HELP ")) {
            auto name = line.substr(7, line.find(' ', 7) - 7);
            EXPECT_TRUE(helped.insert(name).second) << "HELP twice for " << name;
            continue;
        }
        if (line.starts_with("# TYPE ")) {
            auto name = line.substr(7, line.find(' ', 7) - 7);
            EXPECT_TRUE(typed.insert(name).second) << "TYPE twice for " << name;
            current = name;
            continue;
        }
        const auto name = line.substr(0, line.find_first_of("{ "));
        EXPECT_TRUE(name.starts_with(current)) << line << " outside its family " << current;
    }
    EXPECT_EQ(text.back(), '\n');
}

boost::json::object payload(std::initializer_list<std::pair<std::string, boost::json::value>> kv) {
    boost::json::object object;
    for (const auto& [key, value] : kv)
        object[key] = value;
    return object;
}

TEST(Histogram, counts_each_value_in_the_first_bucket_whose_bound_is_not_below_it) {
    static constexpr std::array<double, 3> kBounds{1, 5, 15};
    Histogram histogram(kBounds);
    for (double value : {0.0, 1.0, 1.5, 5.0, 100.0})
        histogram.observe(value);
    EXPECT_THAT(histogram.counts(), ::testing::ElementsAre(2u, 2u, 0u, 1u));
    EXPECT_EQ(histogram.count(), 5u);
    EXPECT_DOUBLE_EQ(histogram.sum(), 107.5);
}

TEST(Metrics, renders_help_type_and_cumulative_histogram_buckets) {
    bus::Bus bus;
    Metrics metrics(bus);
    metrics.observe_http_request("GET", 200, 0.003);
    metrics.observe_http_request("GET", 200, 0.2);
    metrics.observe_http_request("BREW", 418, 30);
    ScrapeFigures figures;
    figures.pending_by_builder = {{"app", 3}, {"we\"ird\\name\n", 0}};
    figures.log_bytes_ingested = 12345;
    figures.http_open_connections = 2;
    figures.websockets_open = 1;
    figures.sse_streams_dropped = 4;
    figures.process.resident_memory_bytes = 1 << 20;
    figures.process.cpu_seconds = 1.25;
    const auto text = metrics.render(figures);
    expect_well_formed(text);

    EXPECT_THAT(text, HasSubstr("# HELP kiln_build_requests_pending "));
    EXPECT_THAT(text, HasSubstr("# TYPE kiln_build_requests_pending gauge\n"));
    EXPECT_EQ(sample_value(text, R"(kiln_build_requests_pending{builder="app"})"), 3);
    EXPECT_THAT(text, HasSubstr(R"(kiln_build_requests_pending{builder="we\"ird\\name\n"} 0)"));
    EXPECT_THAT(text, HasSubstr("# TYPE kiln_log_bytes_ingested_total counter\n"));
    EXPECT_EQ(sample_value(text, "kiln_log_bytes_ingested_total"), 12345);

    EXPECT_EQ(sample_value(text, R"(kiln_http_requests_total{method="GET",code="200"})"), 2);
    EXPECT_EQ(sample_value(text, R"(kiln_http_requests_total{method="other",code="418"})"), 1);
    EXPECT_THAT(text, HasSubstr("# TYPE kiln_http_request_duration_seconds histogram\n"));
    EXPECT_EQ(sample_value(text, R"(kiln_http_request_duration_seconds_bucket{le="0.005"})"), 1);
    EXPECT_EQ(sample_value(text, R"(kiln_http_request_duration_seconds_bucket{le="0.25"})"), 2);
    EXPECT_EQ(sample_value(text, R"(kiln_http_request_duration_seconds_bucket{le="10"})"), 2);
    EXPECT_EQ(sample_value(text, R"(kiln_http_request_duration_seconds_bucket{le="+Inf"})"), 3);
    EXPECT_EQ(sample_value(text, "kiln_http_request_duration_seconds_count"), 3);
    EXPECT_DOUBLE_EQ(*sample_value(text, "kiln_http_request_duration_seconds_sum"), 30.203);

    EXPECT_EQ(sample_value(text, "kiln_http_open_connections"), 2);
    EXPECT_EQ(sample_value(text, "kiln_live_websockets_open"), 1);
    EXPECT_EQ(sample_value(text, R"(kiln_live_clients_dropped_total{channel="sse"})"), 4);
    EXPECT_EQ(sample_value(text, "process_resident_memory_bytes"), 1 << 20);
    EXPECT_EQ(sample_value(text, "process_cpu_seconds_total"), 1.25);
    EXPECT_THAT(text, ::testing::Not(HasSubstr("process_start_time_seconds")))
        << "a figure that could not be read is left out";
    // Every result has its series from the start, at 0.
    EXPECT_EQ(sample_value(text, R"(kiln_builds_finished_total{result="cancelled"})"), 0);
    EXPECT_EQ(sample_value(text, R"(kiln_build_duration_seconds_bucket{le="3600"})"), 0);
}

TEST(Metrics, counts_builds_steps_and_workers_from_bus_events) {
    bus::Bus bus;
    Metrics metrics(bus);
    bus.publish({{"builds", "1", "new"}}, payload({{"buildid", 1}, {"started_at", 100}}));
    bus.publish({{"builds", "2", "new"}}, payload({{"buildid", 2}, {"started_at", 100}}));
    bus.publish({{"builds", "2", "update"}}, payload({{"buildid", 2}}));
    bus.publish({{"steps", "7", "finished"}},
                payload({{"stepid", 7}, {"started_at", 100}, {"complete_at", 103}}));
    bus.publish({{"steps", "8", "finished"}},
                payload({{"stepid", 8}, {"started_at", nullptr}, {"complete_at", 103}}));
    bus.publish(
        {{"builds", "1", "finished"}},
        payload({{"buildid", 1}, {"started_at", 100}, {"complete_at", 420}, {"results", 2}}));
    bus.publish({{"workers", "5", "connected"}}, payload({{"workerid", 5}}));
    bus.publish({{"workers", "6", "connected"}}, payload({{"workerid", 6}}));
    // Worker 6 reconnects: the new connection is announced before the old one's end.
    bus.publish({{"workers", "6", "connected"}}, payload({{"workerid", 6}}));
    bus.publish({{"workers", "6", "disconnected"}}, payload({{"workerid", 6}}));
    bus.publish({{"workers", "5", "disconnected"}}, payload({{"workerid", 5}}));
    bus.publish({{"workers", "9", "disconnected"}}, payload({{"workerid", 9}}));

    const auto text = metrics.render({});
    EXPECT_EQ(sample_value(text, "kiln_builds_running"), 1);
    EXPECT_EQ(sample_value(text, R"(kiln_builds_finished_total{result="failure"})"), 1);
    EXPECT_EQ(sample_value(text, R"(kiln_builds_finished_total{result="success"})"), 0);
    EXPECT_EQ(sample_value(text, R"(kiln_build_duration_seconds_bucket{le="300"})"), 0);
    EXPECT_EQ(sample_value(text, R"(kiln_build_duration_seconds_bucket{le="900"})"), 1);
    EXPECT_EQ(sample_value(text, "kiln_build_duration_seconds_sum"), 320);
    EXPECT_EQ(sample_value(text, R"(kiln_step_duration_seconds_bucket{le="5"})"), 1);
    EXPECT_EQ(sample_value(text, "kiln_step_duration_seconds_count"), 1)
        << "a step that never started has no duration";
    EXPECT_EQ(sample_value(text, "kiln_workers_connected"), 1);
}

// The whole path: data/'s stores write to SQLite and announce on the bus; Metrics counts the
// events; Queries reads the queues; Context keeps the log bytes.
class MetricsEndToEnd : public data::testing::StoreTest {
protected:
    data::Id request_for(data::Id builderid) {
        data::NewBuildset spec;
        spec.reason = "forced";
        spec.builderids = {builderid};
        return run(buildsets.add(spec)).request_by_builder.at(builderid);
    }

    std::string scrape() {
        ScrapeFigures figures;
        figures.pending_by_builder = run(queries.pending_requests_by_builder());
        figures.log_bytes_ingested = context.totals.log_bytes_appended;
        return metrics.render(figures);
    }

    data::Masters masters{context};
    data::Builders builders{context};
    data::Workers workers{context};
    data::Buildsets buildsets{context};
    data::Builds builds{context};
    data::Queries queries{context};
    Metrics metrics{bus};
};

TEST_F(MetricsEndToEnd, follows_requests_builds_steps_logs_and_workers_through_the_stores) {
    const auto masterid = run(masters.find_or_create("host:/m"));
    run(masters.mark_started(masterid));
    auto ids =
        run(builders.configure(masterid, {{"app", std::nullopt, {}}, {"docs", std::nullopt, {}}}));
    const auto app = ids.at("app");
    const auto workerid = run(workers.configure(masterid, {{"w1", {app}}})).at("w1");
    run(workers.connected(workerid, masterid, {}));
    const auto first = request_for(app);
    request_for(app);

    auto text = scrape();
    expect_well_formed(text);
    EXPECT_EQ(sample_value(text, R"(kiln_build_requests_pending{builder="app"})"), 2);
    EXPECT_EQ(sample_value(text, R"(kiln_build_requests_pending{builder="docs"})"), 0);
    EXPECT_EQ(sample_value(text, "kiln_workers_connected"), 1);

    // The distributor claims a request, then runs its build.
    const std::vector<data::Id> claimed{first};
    ASSERT_TRUE(run(buildsets.claim(claimed, masterid)));
    auto build = run(builds.add(app, first, workerid, masterid, {}, "building"));
    auto step = run(builds.add_step(build.buildid, "compile"));
    run(builds.start_step(step.stepid));
    auto log = run(builds.add_log(step.stepid, "stdio", "s"));
    run(builds.append_log(log.logid, "ohello\n"));
    run(builds.append_log(log.logid, "ohello\nothere\n", 0));  // a resend after a reconnect
    text = scrape();
    EXPECT_EQ(sample_value(text, R"(kiln_build_requests_pending{builder="app"})"), 1);
    EXPECT_EQ(sample_value(text, "kiln_builds_running"), 1);
    EXPECT_EQ(sample_value(text, "kiln_log_bytes_ingested_total"), 14);

    now += 42;
    run(builds.finish_step(step.stepid, 0, false));
    run(builds.finish(build.buildid, 0));
    run(workers.disconnected(workerid, masterid));
    text = scrape();
    EXPECT_EQ(sample_value(text, "kiln_builds_running"), 0);
    EXPECT_EQ(sample_value(text, R"(kiln_builds_finished_total{result="success"})"), 1);
    EXPECT_EQ(sample_value(text, R"(kiln_build_duration_seconds_bucket{le="15"})"), 0);
    EXPECT_EQ(sample_value(text, R"(kiln_build_duration_seconds_bucket{le="60"})"), 1);
    EXPECT_EQ(sample_value(text, "kiln_step_duration_seconds_sum"), 42);
    EXPECT_EQ(sample_value(text, "kiln_workers_connected"), 0);

    // After a restart the queue depth is read again from the database.
    Metrics restarted(bus);
    ScrapeFigures figures;
    figures.pending_by_builder = run(queries.pending_requests_by_builder());
    EXPECT_EQ(
        sample_value(restarted.render(figures), R"(kiln_build_requests_pending{builder="app"})"),
        1);
}

TEST(ProcessStats, reads_this_process_from_proc) {
    const auto stats = read_process_stats();
    ASSERT_TRUE(stats.resident_memory_bytes);
    EXPECT_GT(*stats.resident_memory_bytes, 0u);
    ASSERT_TRUE(stats.cpu_seconds);
    EXPECT_GE(*stats.cpu_seconds, 0);
    ASSERT_TRUE(stats.start_time_seconds);
    EXPECT_GT(*stats.start_time_seconds, 1.6e9);
    ASSERT_TRUE(stats.open_fds);
    EXPECT_GE(*stats.open_fds, 3u);
}

}  // namespace
}  // namespace kiln::www
