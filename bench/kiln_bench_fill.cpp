// SPDX-License-Identifier: Apache-2.0
// kiln-bench-fill: fills a stopped Kiln master's database with finished builds and one large
// stdio log, through kiln::data's stores (what the master itself writes with), for
// bench/api_bench.py. Not installed and not a user command.
//
//   kiln-bench-fill DIR --builds N --builders M --log-bytes B
//
// (bench/ui_bench.mjs uses 2,000 builders; names past bench-99 are bench-100, bench-101, ...)
// DIR is the master directory (its database is opened with db.url, default
// "sqlite:state.sqlite"). The master row is the one `kiln start DIR` uses, the builders are
// bench-01..bench-M and the worker bench-worker, so a master.lua naming them finds their
// history. The builds come in buildsets of one request per builder (claimed, then completed
// once their builds end); each build runs one step "make" with a 3-line stdio log and ends
// SUCCESS. Several rounds are filled concurrently (--lanes) to keep the database busy.
// The last build gets a second step "output" whose stdio log holds B bytes of 100-byte lines,
// appended in about 1 MB appends. Prints one JSON object with ids and timings on stdout.
#include "bus/bus.hpp"
#include "data/builders.hpp"
#include "data/builds.hpp"
#include "data/buildsets.hpp"
#include "data/context.hpp"
#include "data/masters.hpp"
#include "db/database.hpp"
#include "master/master.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <iostream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

namespace {

namespace asio = boost::asio;
using kiln::data::Id;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kLineBytes = 100;  // newline included, stream tag 'o' included
constexpr std::size_t kAppendBytes = 1 << 20;
// Text the big log's lines are cut from; api_bench.py writes the same lines for Buildbot.
constexpr std::string_view kFiller =
    "the quick brown fox jumps over the lazy dog 0123456789 THE QUICK BROWN FOX JUMPS OVER THE "
    "LAZY DOG 0123456789 the quick brown fox jumps over the lazy dog 0123456789 ";

struct Options {
    std::string dir;
    std::string db_url = "sqlite:state.sqlite";
    std::string master_name;
    long builds = 100000;
    int builders = 10;
    long long log_bytes = 1000000000;
    int lanes = 8;
};

struct Stores {
    kiln::data::Context& context;
    kiln::data::Masters masters{context};
    kiln::data::Builders builders{context};
    kiln::data::Buildsets buildsets{context};
    kiln::data::Builds builds{context};
};

struct Ids {
    Id masterid = 0;
    Id workerid = 0;
    std::vector<Id> builderids;  // index i: bench-(i+1)
};

struct Report {
    Ids ids;
    long builds_done = 0;
    Id last_buildid = 0;
    Id big_logid = 0;
    std::int64_t big_log_lines = 0;
    long long big_log_bytes = 0;
    double builds_s = 0;
    double log_s = 0;
};

std::string builder_name(int index) {
    char name[32];
    std::snprintf(name, sizeof name, "bench-%02d", index + 1);
    return name;
}

// Line n of the big log: "o" + 9-digit number + " " + 88 characters of filler + "\n".
void append_big_line(std::string& out, std::int64_t n) {
    char number[16];
    std::snprintf(number, sizeof number, "%09lld", static_cast<long long>(n % 1000000000));
    out += 'o';
    out += number;
    out += ' ';
    out += kFiller.substr(static_cast<std::size_t>((n * 7) % 64), 88);
    out += '\n';
}

asio::awaitable<Ids> set_up(Stores& s, const Options& options) {
    Ids ids;
    ids.masterid = co_await s.masters.find_or_create(options.master_name);
    std::vector<kiln::data::BuilderSpec> specs;
    std::vector<std::string> names;
    for (int i = 0; i < options.builders; ++i) {
        names.push_back(builder_name(i));
        specs.push_back({names.back(), std::nullopt, {}});
    }
    std::map<std::string, std::vector<std::string>> by_worker;
    by_worker["bench-worker"] = names;
    auto configured =
        co_await s.builders.configure(ids.masterid, std::move(specs), std::move(by_worker));
    for (const auto& name : names)
        ids.builderids.push_back(configured.builder_ids.at(name));
    ids.workerid = configured.worker_ids.at("bench-worker");
    co_return ids;
}

kiln::core::Properties build_properties(const std::string& builder, Id builderid) {
    kiln::core::Properties properties;
    properties.set("buildername", boost::json::string(builder), "Builder");
    properties.set("builderid", builderid, "Builder");
    properties.set("workername", "bench-worker", "Worker");
    properties.set("scheduler", "force", "Scheduler");
    return properties;
}

// One buildset with a request for each of the builders (as a scheduler makes for a change),
// claimed by the master. Returns the requests in the builders' order.
asio::awaitable<std::vector<Id>> request_builds(Stores& s, const Ids& ids,
                                                std::vector<int> builders) {
    kiln::data::NewBuildset spec;
    spec.reason = "The web-page 'force build' button was pressed by 'bench': bench";
    for (int b : builders)
        spec.builderids.push_back(ids.builderids[static_cast<std::size_t>(b)]);
    spec.scheduler = "force";
    auto added = co_await s.buildsets.add(std::move(spec));
    std::vector<Id> brids;
    for (int b : builders)
        brids.push_back(added.request_by_builder.at(ids.builderids[static_cast<std::size_t>(b)]));
    const bool is_claimed = co_await s.buildsets.claim(brids, ids.masterid);
    if (!is_claimed) throw std::runtime_error("a new build request was already claimed");
    co_return brids;
}

// The build of request brid on builder index b, from start to SUCCESS: one step "make" with
// a 3-line stdio log.
asio::awaitable<kiln::data::Build> run_build(Stores& s, const Ids& ids, int b, Id brid) {
    const Id builderid = ids.builderids[static_cast<std::size_t>(b)];
    auto properties = build_properties(builder_name(b), builderid);
    std::string starting = "starting";
    auto build = co_await s.builds.add(builderid, brid, ids.workerid, ids.masterid,
                                       std::move(properties), std::move(starting));
    std::string step_name = "make";
    auto step = co_await s.builds.add_step(build.buildid, std::move(step_name));
    co_await s.builds.start_step(step.stepid);
    std::string log_name = "stdio";
    std::string log_type = "s";
    auto log = co_await s.builds.add_log(step.stepid, std::move(log_name), std::move(log_type));
    std::string text = "hmake all\nobuild " + std::to_string(build.number) +
                       " ok\nhprogram finished with exit code 0\n";
    co_await s.builds.append_log(log.logid, std::move(text));
    co_await s.builds.finish_log(log.logid);
    co_await s.builds.finish_step(step.stepid, 0, false);
    std::string done = "finished";
    co_await s.builds.set_state_string(build.buildid, std::move(done));
    co_return co_await s.builds.finish(build.buildid, 0);
}

// Rounds lane, lane + lanes, ...: round r requests builds r * M .. r * M + M - 1 (build i is
// of builder i mod M) in one buildset, runs them one after the other, completes the requests.
asio::awaitable<void> fill_lane(Stores& s, const Ids& ids, const Options& options, int lane,
                                Report& report) {
    const long regular = options.builds - 1;  // the last build is fill_big_log's
    const long rounds = (regular + options.builders - 1) / options.builders;
    for (long round = lane; round < rounds; round += options.lanes) {
        std::vector<int> builders;
        for (long i = round * options.builders;
             i < std::min(regular, (round + 1) * options.builders); ++i)
            builders.push_back(static_cast<int>(i % options.builders));
        auto brids = co_await request_builds(s, ids, builders);
        for (std::size_t k = 0; k < builders.size(); ++k) {
            co_await run_build(s, ids, builders[k], brids[k]);
            if (++report.builds_done % 10000 == 0)
                std::cerr << "kiln-bench-fill: " << report.builds_done << " builds\n";
        }
        co_await s.buildsets.complete(brids, 0);
    }
}

// The last build, with a second step whose log holds the big output (the step is added
// after the build is stored finished: only what ends up in the database matters here).
asio::awaitable<void> fill_big_log(Stores& s, const Ids& ids, const Options& options,
                                   Report& report) {
    std::vector<int> first_builder{0};
    auto brids = co_await request_builds(s, ids, first_builder);
    auto build = co_await run_build(s, ids, 0, brids.front());
    ++report.builds_done;
    report.last_buildid = build.buildid;
    std::string step_name = "output";
    auto step = co_await s.builds.add_step(build.buildid, std::move(step_name));
    co_await s.builds.start_step(step.stepid);
    std::string log_name = "stdio";
    std::string log_type = "s";
    auto log = co_await s.builds.add_log(step.stepid, std::move(log_name), std::move(log_type));
    const auto total_lines =
        static_cast<std::int64_t>(options.log_bytes) / static_cast<std::int64_t>(kLineBytes);
    std::int64_t line = 0;
    while (line < total_lines) {
        std::string text;
        text.reserve(kAppendBytes + kLineBytes);
        while (line < total_lines && text.size() + kLineBytes <= kAppendBytes)
            append_big_line(text, line++);
        report.big_log_bytes += static_cast<long long>(text.size());
        co_await s.builds.append_log(log.logid, std::move(text));
    }
    auto finished = co_await s.builds.finish_log(log.logid);
    co_await s.builds.finish_step(step.stepid, 0, false);
    co_await s.buildsets.complete(brids, 0);
    report.big_logid = finished.logid;
    report.big_log_lines = finished.num_lines;
}

template <typename T>
T run(asio::io_context& io, asio::awaitable<T> task) {
    std::exception_ptr failure;
    std::optional<T> value;
    asio::co_spawn(io, std::move(task), [&](std::exception_ptr error, T result) {
        failure = error;
        if (!error) value.emplace(std::move(result));
    });
    io.restart();
    io.run();
    if (failure) std::rethrow_exception(failure);
    return std::move(*value);
}

void run_all(asio::io_context& io, std::vector<asio::awaitable<void>> tasks) {
    std::exception_ptr failure;
    for (auto& task : tasks)
        asio::co_spawn(io, std::move(task), [&failure](std::exception_ptr error) {
            if (error && !failure) failure = error;
        });
    io.restart();
    io.run();
    if (failure) std::rethrow_exception(failure);
}

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

int fill(const Options& options) {
    auto opened = kiln::db::open_database(options.db_url, options.dir);
    if (!opened) {
        std::cerr << "kiln-bench-fill: db.url '" << options.db_url
                  << "': " << opened.error().message << "\n";
        return 1;
    }
    auto database = std::move(*opened);
    kiln::db::upgrade_schema(*database);
    kiln::bus::Bus bus;  // no subscribers: the announcements go nowhere
    kiln::data::Context context{*database, bus};
    Stores stores{context};
    // co_spawn keeps io.run() going while a task waits for the database's threads.
    asio::io_context io(1);

    Report report;
    report.ids = run(io, set_up(stores, options));
    const auto start = Clock::now();
    std::vector<asio::awaitable<void>> lanes;
    for (int lane = 0; lane < options.lanes; ++lane)
        lanes.push_back(fill_lane(stores, report.ids, options, lane, report));
    run_all(io, std::move(lanes));
    report.builds_s = seconds_since(start);
    const auto log_start = Clock::now();
    std::vector<asio::awaitable<void>> big;
    big.push_back(fill_big_log(stores, report.ids, options, report));
    run_all(io, std::move(big));
    report.log_s = seconds_since(log_start);
    database->close();

    boost::json::object out;
    out["masterid"] = report.ids.masterid;
    out["workerid"] = report.ids.workerid;
    boost::json::array builderids;
    for (auto id : report.ids.builderids)
        builderids.push_back(id);
    out["builderids"] = std::move(builderids);
    out["builds"] = report.builds_done;
    out["last_buildid"] = report.last_buildid;
    out["big_logid"] = report.big_logid;
    out["big_log_lines"] = report.big_log_lines;
    out["big_log_bytes"] = report.big_log_bytes;
    out["builds_s"] = report.builds_s;
    out["log_s"] = report.log_s;
    std::cout << boost::json::serialize(out) << std::endl;
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    Options options;
    CLI::App app{"kiln-bench-fill: fill a stopped master's database for bench/api_bench.py"};
    app.add_option("DIR", options.dir, "Master directory")->required();
    app.add_option("--db-url", options.db_url, "Its db.url (default sqlite:state.sqlite)");
    app.add_option("--master-name", options.master_name,
                   "Master row name (default: the one `kiln start DIR` uses)");
    app.add_option("--builds", options.builds, "Finished builds to add (default 100000)")
        ->check(CLI::Range(1L, 100000000L));
    app.add_option("--builders", options.builders, "Builders bench-01.. (default 10)")
        ->check(CLI::Range(1, 10000));
    app.add_option("--log-bytes", options.log_bytes,
                   "Bytes of the last build's big stdio log (default 1e9)")
        ->check(CLI::Range(0LL, 1LL << 40));
    app.add_option("--lanes", options.lanes, "Builds added concurrently (default 8)")
        ->check(CLI::Range(1, 64));
    CLI11_PARSE(app, argc, argv);
    if (options.master_name.empty()) options.master_name = kiln::master::master_name(options.dir);
    try {
        return fill(options);
    } catch (const std::exception& failure) {
        std::cerr << "kiln-bench-fill: " << failure.what() << "\n";
        return 1;
    }
}
