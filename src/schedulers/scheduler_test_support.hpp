// SPDX-License-Identifier: Apache-2.0
// Test support for the schedulers' unit tests: a real (in-memory) SQLite database with a
// master and builders "a" and "b", the data stores, a ManualClock, schedulers loaded from a
// real master.lua, and helpers to add changes (stored, then announced as a change source
// does) and read back buildsets. Tests advance the clock and settle() the executor.
#pragma once

#include "config/master_config.hpp"
#include "data/builders.hpp"
#include "data/buildsets.hpp"
#include "data/detail/sql.hpp"
#include "data/masters.hpp"
#include "data/object_state.hpp"
#include "data/queries.hpp"
#include "data/schedulers.hpp"
#include "schedulers/scheduler_service.hpp"

#include <atomic>
#include <cmath>
#include <fstream>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/array.hpp>

#include <gtest/gtest.h>
#include <unistd.h>

namespace kiln::schedulers::testing {

namespace asio = boost::asio;

struct NewTestChange {
    std::optional<std::string> branch = "main";
    std::vector<std::string> files = {"src/a.c"};
    std::string revision = "";  // "": a generated one
    std::string repository = "https://git.example/app.git";
    std::string codebase = "";
    std::string project = "app";
    std::optional<std::string> category;
    std::string author = "Ada <ada@example.org>";
    std::vector<std::pair<std::string, boost::json::value>> properties;
};

class SchedulerTest : public ::testing::Test {
protected:
    SchedulerTest() {
        static std::atomic<int> counter{0};
        dir_ =
            std::filesystem::temp_directory_path() /
            ("kiln-scheduler-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        std::filesystem::create_directories(dir_);
        masterid = run(masters.find_or_create("host:/m"));
        run(masters.mark_started(masterid));
        auto ids =
            run(builders.configure(masterid, {{"a", std::nullopt, {}}, {"b", std::nullopt, {}}}));
        builder_ids = {ids.begin(), ids.end()};
    }
    ~SchedulerTest() override {
        if (service) run(service->stop());
        std::filesystem::remove_all(dir_);
    }

    static std::unique_ptr<db::Database> open_empty() {
        auto opened = db::open_database("sqlite::memory:", ".");
        if (!opened) throw std::runtime_error(opened.error().message);
        db::upgrade_schema(**opened);
        return std::move(*opened);
    }

    template <typename T>
    T run(asio::awaitable<T> task) {
        auto future = asio::co_spawn(io, std::move(task), asio::use_future);
        io.restart();
        io.run();
        return future.get();
    }
    // Expected has no default value, which use_future needs.
    template <typename T>
    core::Expected<T> run(asio::awaitable<core::Expected<T>> task) {
        auto wrapped = [](asio::awaitable<core::Expected<T>> inner)
            -> asio::awaitable<std::optional<core::Expected<T>>> {
            co_return co_await std::move(inner);
        };
        return *run(wrapped(std::move(task)));
    }
    void run(asio::awaitable<void> task) {
        auto future = asio::co_spawn(io, std::move(task), asio::use_future);
        io.restart();
        io.run();
        future.get();
    }
    // Runs every job the schedulers have queued, to the end.
    void settle() {
        io.restart();
        io.run();
    }
    void advance(double seconds) {
        clock.advance(seconds);
        settle();
    }

    // Loads a master.lua with builders a and b and these schedulers (Lua table entries).
    config::MasterConfig load(std::string_view schedulers) {
        std::ofstream{dir_ / "master.lua", std::ios::binary}
            << "local k = require \"kiln\"\nreturn {\n"
               "  workers = { k.worker{ name = \"w1\", password = \"pw\" } },\n"
               "  builders = { k.builder{ name = \"a\", workers = {\"w1\"} },\n"
               "               k.builder{ name = \"b\", workers = {\"w1\"} } },\n"
               "  schedulers = {\n"
            << schedulers << "\n  },\n}\n";
        auto loaded = config::load_master_config(dir_);
        std::string errors;
        for (const auto& error : loaded.errors)
            errors += error.to_string() + "\n";
        if (!loaded.config) throw std::runtime_error("config: " + errors);
        return std::move(*loaded.config);
    }

    // A new service (as after a master restart) configured with these schedulers.
    void start(std::string_view schedulers) {
        if (service) run(service->stop());
        service.reset();
        config = load(schedulers);
        service = std::make_unique<SchedulerService>(environment());
        run(service->configure(config));
    }
    void reconfigure(std::string_view schedulers) {
        config = load(schedulers);
        run(service->configure(config));
    }

    SchedulerEnvironment environment() {
        return SchedulerEnvironment{io.get_executor(),
                                    bus,
                                    scheduler_rows,
                                    buildset_store,
                                    object_state,
                                    clock,
                                    masterid,
                                    [this](std::string_view name) -> std::optional<data::Id> {
                                        auto found = builder_ids.find(std::string(name));
                                        if (found == builder_ids.end()) return std::nullopt;
                                        return found->second;
                                    }};
    }

    // Stores a change as a change source would, then announces it.
    data::Id add_change(NewTestChange change = {}, bool announce = true) {
        using data::detail::params;
        const auto now = static_cast<data::Epoch>(clock.now());
        const auto number = ++change_counter_;
        if (change.revision.empty()) change.revision = "rev" + std::to_string(number);
        data::SourceStampSpec stamp{change.branch, change.revision, change.repository,
                                    change.project, change.codebase};
        const auto hash = data::sourcestamp_hash(stamp, std::nullopt);
        auto changeid = database->write_sync([&](db::Connection& c) {
            c.execute("INSERT INTO sourcestamps (ss_hash, branch, revision, patchid, repository, "
                      "codebase, project, created_at) VALUES (?, ?, ?, NULL, ?, ?, ?, ?) ON "
                      "CONFLICT DO NOTHING",
                      params(hash, change.branch, std::optional(change.revision), change.repository,
                             change.codebase, change.project, now));
            const auto ssid =
                c.query_one("SELECT id FROM sourcestamps WHERE ss_hash = ?", params(hash))
                    ->integer(0);
            const auto id = c.insert(
                "INSERT INTO changes (author, comments, branch, revision, when_timestamp, "
                "category, repository, codebase, project, sourcestampid) VALUES (?, ?, ?, ?, ?, "
                "?, ?, ?, ?, ?) RETURNING changeid",
                params(change.author, std::string("change ") + std::to_string(number),
                       change.branch, std::optional(change.revision), now, change.category,
                       change.repository, change.codebase, change.project, ssid));
            for (const auto& file : change.files)
                c.execute("INSERT INTO change_files (changeid, filename) VALUES (?, ?)",
                          params(id, file));
            for (const auto& [name, value] : change.properties) {
                boost::json::array pair{value, "Change"};
                c.execute("INSERT INTO change_properties (changeid, property_name, "
                          "property_value) VALUES (?, ?, ?)",
                          params(id, name, data::detail::to_json_text(pair)));
            }
            return id;
        });
        if (announce) {
            auto entity = run(scheduler_rows.change(changeid));
            bus.publish({{"changes", std::to_string(changeid), "new"}}, std::move(*entity));
            settle();
        }
        return changeid;
    }

    // Every buildset, oldest first.
    std::vector<data::Buildset> all_buildsets() {
        data::Queries queries{context};
        auto result = run(queries.buildsets(data::Query{}));
        auto items = std::move(result.items);
        std::sort(items.begin(), items.end(),
                  [](const auto& a, const auto& b) { return a.bsid < b.bsid; });
        return items;
    }
    std::vector<data::BuildRequest> requests_of(data::Id bsid) {
        data::Queries queries{context};
        data::Query query;
        query.filters.push_back({"buildsetid", data::FilterOp::eq, {boost::json::value(bsid)}});
        return run(queries.buildrequests(std::move(query))).items;
    }
    core::Properties properties_of(data::Id bsid) { return run(buildset_store.properties(bsid)); }
    std::map<data::Id, bool> classified(std::string_view name) {
        return run(scheduler_rows.classifications(*service->scheduler_id(name)));
    }
    std::string revision_of(const data::Buildset& buildset, std::string_view codebase = "") {
        for (const auto& stamp : buildset.sourcestamps)
            if (stamp.codebase == codebase) return stamp.revision.value_or("<null>");
        return "<none>";
    }

    asio::io_context io;
    std::unique_ptr<db::Database> database = open_empty();
    bus::Bus bus;
    ManualClock clock;
    data::Context context{*database, bus,
                          [this] { return static_cast<data::Epoch>(std::floor(clock.now())); }};
    data::Masters masters{context};
    data::Builders builders{context};
    data::Buildsets buildset_store{context};
    data::ObjectState object_state{context};
    data::Schedulers scheduler_rows{context};
    data::Id masterid = 0;
    std::map<std::string, data::Id> builder_ids;
    config::MasterConfig config;
    std::unique_ptr<SchedulerService> service;

private:
    std::filesystem::path dir_;
    int change_counter_ = 0;
};

}  // namespace kiln::schedulers::testing
