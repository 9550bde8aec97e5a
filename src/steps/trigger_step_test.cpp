// SPDX-License-Identifier: Apache-2.0
// k.trigger against in-memory twins of its build (StepContext) and of the master's
// TriggerServices: what each triggered scheduler is asked for (sourcestamps with
// got_revision, properties, parent), the links, the worst result of the children when
// waiting, errors, and a stop that cancels the children.
#include "process/trigger_services.hpp"
#include "steps/trigger_step.hpp"

#include <map>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <gtest/gtest.h>

namespace kiln::steps {
namespace {

namespace asio = boost::asio;
using core::Results;

class FakeServices final : public process::TriggerServices {
public:
    asio::awaitable<core::Expected<data::AddedBuildset>>
    trigger(std::string scheduler, process::TriggerRequest request) override {
        if (scheduler == "missing")
            co_return core::fail(core::ErrorKind::not_found,
                                 "no triggerable scheduler named 'missing'");
        requests.emplace_back(scheduler, std::move(request));
        data::AddedBuildset added;
        added.bsid = next_bsid++;
        added.request_by_builder = {{1, next_brid}, {2, next_brid + 1}};
        next_brid += 2;
        co_return added;
    }
    asio::awaitable<data::Buildset> wait_complete(data::Id bsid) override {
        data::Buildset buildset;
        buildset.bsid = bsid;
        buildset.complete = true;
        buildset.results = static_cast<int>(results_by_bsid[bsid]);
        co_return buildset;
    }
    asio::awaitable<void> cancel_request(data::Id brid, std::string reason) override {
        cancelled.emplace_back(brid, std::move(reason));
        co_return;
    }
    asio::awaitable<std::vector<data::Build>> builds_of_request(data::Id brid) override {
        data::Build build;
        build.buildid = 100 + brid;
        build.builderid = brid % 2 == 0 ? 2 : 1;  // the fake's brids alternate builders 1, 2
        build.number = static_cast<int>(brid);
        build.results = static_cast<int>(brid % 2 == 0 ? Results::failure : Results::success);
        co_return std::vector<data::Build>{build};
    }
    std::string builder_name(data::Id builderid) const override {
        return builderid == 1 ? "unit" : "lint";
    }
    std::string url() const override { return "http://ci/"; }

    std::vector<std::pair<std::string, process::TriggerRequest>> requests;
    std::vector<std::pair<data::Id, std::string>> cancelled;
    std::map<data::Id, Results> results_by_bsid;
    data::Id next_bsid = 10;
    data::Id next_brid = 1;
};

class FakeBuild final : public process::StepContext {
public:
    const core::Properties& properties() const override { return properties_; }
    asio::awaitable<void> set_property(std::string name, boost::json::value value,
                                       std::string source) override {
        properties_.set(name, std::move(value), source);
        co_return;
    }
    process::WorkerConnection& worker() override { throw std::logic_error("no worker"); }
    const std::string& builder_name() const override { return name_; }
    std::string worker_builddir() const override { return "/w"; }
    std::string worker_path(std::string_view base, std::string_view relative) const override {
        return std::string(base) + "/" + std::string(relative);
    }
    const std::filesystem::path& master_dir() const override { return dir_; }
    bool allow_master_paths_outside() const override { return false; }
    asio::awaitable<process::CommandResult> run_command(process::RemoteCommand) override {
        throw std::logic_error("no commands");
    }
    asio::awaitable<data::Log> add_log(std::string name, std::string) override {
        data::Log log;
        log.logid = 1;
        log.name = std::move(name);
        co_return log;
    }
    asio::awaitable<void> append_log(data::Id, std::string lines) override {
        log_text += lines;
        co_return;
    }
    asio::awaitable<void> finish_log(data::Id, std::string lines) override {
        log_text += lines;
        co_return;
    }
    asio::awaitable<void> set_state_string(std::string text) override {
        state = std::move(text);
        co_return;
    }
    asio::awaitable<void> add_url(std::string name, std::string url) override {
        urls.push_back({std::move(name), std::move(url)});
        co_return;
    }
    bool is_stopping() const override { return false; }
    data::Id build_id() const override { return 7; }
    asio::awaitable<std::vector<data::SourceStamp>> sourcestamps() override {
        data::SourceStamp app;
        app.codebase = "";
        app.branch = "main";
        app.revision = std::nullopt;
        app.repository = "https://git.example/app.git";
        co_return std::vector<data::SourceStamp>{app};
    }
    process::TriggerServices* triggers() override { return &services; }

    core::Properties properties_;
    FakeServices services;
    std::vector<data::StepUrl> urls;
    std::string log_text;
    std::string state;

private:
    std::string name_ = "parent";
    std::filesystem::path dir_ = "/m";
};

config::Renderable constant(boost::json::value value) {
    return config::Renderable::constant(std::move(value));
}

process::StepOutcome run_step(TriggerStep& step, FakeBuild& build) {
    asio::io_context io;
    auto future = asio::co_spawn(io, step.run(build), asio::use_future);
    io.run();
    return future.get();
}

process::StepOptions options() {
    process::StepOptions o;
    o.name = "trigger";
    return o;
}

TEST(TriggerStep, asks_each_scheduler_with_the_builds_sources_and_properties) {
    FakeBuild build;
    build.properties_.set("got_revision", "abc123", "Git");
    build.properties_.set("owner", "alice", "Force Build Form");
    StepArgs::Map args;
    args.emplace("scheduler_names", constant(boost::json::array{"tests", "docs"}));
    args.emplace("set_properties", constant(boost::json::object{{"level", 3}}));
    args.emplace("copy_properties", constant(boost::json::array{"owner", "unset"}));
    TriggerStep step(options(), std::move(args));
    auto outcome = run_step(step, build);
    EXPECT_EQ(outcome.results, Results::success);
    EXPECT_EQ(outcome.summary, "triggered tests, docs");
    ASSERT_EQ(build.services.requests.size(), 2u);
    const auto& [name, request] = build.services.requests[0];
    EXPECT_EQ(name, "tests");
    EXPECT_FALSE(request.waited_for);
    EXPECT_EQ(request.parent_buildid, 7);
    EXPECT_EQ(request.parent_relationship, "Triggered from");
    ASSERT_EQ(request.sourcestamps.size(), 1u);
    EXPECT_EQ(request.sourcestamps[0].revision, "abc123") << "got_revision replaces the revision";
    EXPECT_EQ(request.sourcestamps[0].branch, "main");
    EXPECT_EQ(request.properties.find("level")->value, boost::json::value(3));
    EXPECT_EQ(request.properties.find("level")->source, "Trigger");
    EXPECT_EQ(request.properties.find("owner")->value, boost::json::value("alice"));
    EXPECT_FALSE(request.properties.has("unset"));
    ASSERT_EQ(build.urls.size(), 4u);
    EXPECT_EQ(build.urls[0].name, "tests #1");
    EXPECT_EQ(build.urls[0].url, "http://ci/#/buildrequests/1");
}

TEST(TriggerStep, always_use_latest_sends_no_sourcestamps) {
    FakeBuild build;
    StepArgs::Map args;
    args.emplace("scheduler_names", constant(boost::json::array{"tests"}));
    args.emplace("always_use_latest", constant(true));
    TriggerStep step(options(), std::move(args));
    run_step(step, build);
    EXPECT_TRUE(build.services.requests.at(0).second.sourcestamps.empty());
}

TEST(TriggerStep, waiting_takes_the_worst_result_and_links_every_child_build) {
    FakeBuild build;
    build.services.results_by_bsid = {{10, Results::failure}};
    StepArgs::Map args;
    args.emplace("scheduler_names", constant(boost::json::array{"tests"}));
    args.emplace("wait_for_finish", constant(true));
    TriggerStep step(options(), std::move(args));
    auto outcome = run_step(step, build);
    EXPECT_EQ(outcome.results, Results::failure);
    EXPECT_EQ(outcome.summary, "triggered tests, 1 success, 1 failure");
    EXPECT_TRUE(build.services.requests.at(0).second.waited_for);
    ASSERT_EQ(build.urls.size(), 4u);
    EXPECT_EQ(build.urls[2].name, "success: unit #1");
    EXPECT_EQ(build.urls[2].url, "http://ci/#/builders/1/builds/1");
    EXPECT_EQ(build.urls[3].name, "failure: lint #2");
}

TEST(TriggerStep, an_unknown_scheduler_is_an_exception_logged_in_the_step) {
    FakeBuild build;
    StepArgs::Map args;
    args.emplace("scheduler_names", constant(boost::json::array{"missing", "tests"}));
    TriggerStep step(options(), std::move(args));
    auto outcome = run_step(step, build);
    EXPECT_EQ(outcome.results, Results::exception);
    EXPECT_EQ(outcome.summary, "triggered tests");
    EXPECT_NE(build.log_text.find("no triggerable scheduler named 'missing'"), std::string::npos);
}

TEST(TriggerStep, an_interrupt_cancels_the_triggered_requests) {
    FakeBuild build;
    StepArgs::Map args;
    args.emplace("scheduler_names", constant(boost::json::array{"tests"}));
    TriggerStep step(options(), std::move(args));
    run_step(step, build);
    asio::io_context io;
    auto future = asio::co_spawn(io, step.interrupt(build, "stopped"), asio::use_future);
    io.run();
    future.get();
    ASSERT_EQ(build.services.cancelled.size(), 2u);
    EXPECT_EQ(build.services.cancelled[0].second, "parent build was interrupted");
}

TEST(TriggerSummary, counts_results_in_buildbots_order_and_plurals) {
    EXPECT_EQ(trigger_summary({"a"}, {}), "triggered a");
    EXPECT_EQ(trigger_summary({"a", "b"}, {Results::failure, Results::success, Results::success,
                                           Results::exception}),
              "triggered a, b, 2 successes, 1 failure, 1 exception");
}

}  // namespace
}  // namespace kiln::steps
