// SPDX-License-Identifier: Apache-2.0
#include "master/master.hpp"

#include "bus/bus.hpp"
#include "changes/change_sources.hpp"
#include "data/builders.hpp"
#include "data/builds.hpp"
#include "data/buildsets.hpp"
#include "data/masters.hpp"
#include "data/object_state.hpp"
#include "data/queries.hpp"
#include "data/schedulers.hpp"
#include "data/workers.hpp"
#include "io/task_group.hpp"
#include "master/master_control.hpp"
#include "master/scheduler_triggers.hpp"
#include "process/build_request_distributor.hpp"
#include "process/value_conversion.hpp"
#include "process/worker_listener.hpp"
#include "process/worker_pool.hpp"
#include "schedulers/clock.hpp"
#include "schedulers/scheduler_service.hpp"
#include "steps/step_factory.hpp"
#include "www/www_service.hpp"

#include <map>
#include <regex>
#include <set>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <openssl/crypto.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

namespace kiln::master {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

constexpr auto kHeartbeatInterval = 60s;

bool same_secret(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

boost::json::object to_json_object(const protocol::Map& map) {
    boost::json::object object;
    for (const auto& [key, value] : map)
        object[key] = process::to_json(value);
    return object;
}

// Renders the builder's computed properties at build start is left to the steps; constant
// ones are merged here with the global ones.
core::Properties builder_properties(const config::MasterConfig& config,
                                    const config::BuilderConfig& builder) {
    core::Properties properties = config.properties;
    properties.update(builder.properties);
    return properties;
}

// The builder's collapse_requests (else the global one) as the distributor's rule.
process::CollapseRule collapse_rule(const config::MasterConfig& config,
                                    const config::BuilderConfig& builder, data::Id builderid,
                                    data::Id masterid) {
    const auto& predicate =
        builder.collapse_requests ? *builder.collapse_requests : config.collapse_requests;
    if (predicate.is_constant()) {
        if (!predicate.value) return {};
        return
            [](const process::CollapseCandidate& newer, const process::CollapseCandidate& older) {
                return core::Expected<bool>(process::can_collapse_by_default(newer, older));
            };
    }
    auto table = [](const process::CollapseCandidate& candidate) {
        auto request = candidate.request.to_json();
        boost::json::array stamps;
        for (const auto& stamp : candidate.info.sourcestamps)
            stamps.push_back(stamp.to_json());
        request["sourcestamps"] = std::move(stamps);
        request["properties"] = candidate.info.properties.to_api();
        return request;
    };
    return [predicate, table, builderid, masterid, name = builder.name, runtime = config.runtime](
               const process::CollapseCandidate& newer, const process::CollapseCandidate& older) {
        const std::array<boost::json::value, 4> arguments{
            boost::json::object{{"masterid", masterid}},
            boost::json::object{{"builderid", builderid}, {"name", name}}, table(newer),
            table(older)};
        return predicate.evaluate(arguments);
    };
}

}  // namespace

std::string master_name(const std::filesystem::path& master_dir) {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "localhost");
    return std::string(host) + ":" +
           std::filesystem::absolute(master_dir).lexically_normal().string();
}

struct Master::State {
    State(asio::any_io_executor domain, config::MasterConfig initial,
          std::unique_ptr<db::Database> database)
        : executor(domain)
        , config(std::move(initial))
        , db(std::move(database))
        , context{*db, bus}
        , masters(context)
        , builders(context)
        , workers(context)
        , buildsets(context)
        , builds(context)
        , scheduler_rows(context)
        , object_state(context)
        , clock(domain)
        , services{builds, buildsets, 0, config.master_dir, config.allow_master_paths_outside}
        , pool([this] { distributor.wake(); })
        , distributor(domain, services, pool)
        , tasks(domain,
                [](std::exception_ptr error) {
                    try {
                        std::rethrow_exception(error);
                    } catch (const std::exception& failure) {
                        if (!io::is_cancellation(failure))
                            spdlog::error("master task failed: {}", failure.what());
                    }
                })
        , stop_event(domain) {}

    asio::any_io_executor executor;
    config::MasterConfig config;
    std::unique_ptr<db::Database> db;
    bus::Bus bus;
    data::Context context;
    data::Masters masters;
    data::Builders builders;
    data::Workers workers;
    data::Buildsets buildsets;
    data::Builds builds;
    data::Schedulers scheduler_rows;
    data::ObjectState object_state;
    schedulers::SystemClock clock;
    std::unique_ptr<schedulers::SchedulerService> schedulers;
    std::unique_ptr<SchedulerTriggers> triggers;
    process::BuildServices services;
    process::WorkerPool pool;
    process::BuildRequestDistributor distributor;
    io::TaskGroup tasks;
    std::unique_ptr<process::WorkerListener> listener;
    std::unique_ptr<www::Control> control;
    std::unique_ptr<www::WwwService> www;
    std::unique_ptr<changes::ChangeSources> change_sources;
    std::vector<bus::Subscription> subscriptions;
    std::map<std::string, data::Id, std::less<>> builder_ids;
    std::map<std::string, data::Id, std::less<>> worker_ids;
    data::Id masterid = 0;
    io::AsyncEvent stop_event;
    bool is_stop_requested = false;
    bool is_immediate = false;
    std::optional<std::chrono::seconds> stop_timeout;
    bool is_reconfiguring = false;

    asio::awaitable<void> apply(const config::MasterConfig& next);
    asio::awaitable<void> on_worker(std::shared_ptr<process::WorkerConnection> connection);
    asio::awaitable<void>
    prepare_builder_dirs(std::shared_ptr<process::WorkerConnection> connection);
    asio::awaitable<void> heartbeat();
    std::unique_ptr<process::WorkerListener> make_listener(int port);
};

std::unique_ptr<process::WorkerListener> Master::State::make_listener(int port) {
    process::WorkerListenerOptions options;
    options.port = static_cast<std::uint16_t>(port);
    if (const char* bind = std::getenv("KILN_WORKER_BIND")) options.bind_address = bind;
    return std::make_unique<process::WorkerListener>(
        executor, options,
        [this](std::string_view name, std::string_view password) {
            const auto* worker = config.find_worker(name);
            return worker && same_secret(worker->password, password);
        },
        [this](std::string_view name) -> std::shared_ptr<process::WorkerConnection> {
            auto* slot = pool.find(name);
            return slot ? slot->connection : nullptr;
        },
        [this](std::shared_ptr<process::WorkerConnection> connection) {
            tasks.spawn(on_worker(std::move(connection)));
        });
}

// Applies a loaded configuration: the database first (builders, workers), then memory.
asio::awaitable<void> Master::State::apply(const config::MasterConfig& next) {
    std::vector<data::BuilderSpec> specs;
    for (const auto& builder : next.builders)
        specs.push_back({builder.name, builder.description, builder.tags});
    std::map<std::string, std::vector<std::string>> builders_by_worker;
    for (const auto& worker : next.workers)
        builders_by_worker[worker.name];
    for (const auto& builder : next.builders)
        for (const auto& worker : builder.workers)
            builders_by_worker[worker].push_back(builder.name);
    // One transaction: the stored config changes as a whole or not at all.
    auto configured =
        co_await builders.configure(masterid, std::move(specs), std::move(builders_by_worker));
    auto& new_builder_ids = configured.builder_ids;
    auto& new_worker_ids = configured.worker_ids;

    builder_ids.clear();
    builder_ids.insert(new_builder_ids.begin(), new_builder_ids.end());
    worker_ids.clear();
    worker_ids.insert(new_worker_ids.begin(), new_worker_ids.end());

    std::vector<process::WorkerSettings> settings;
    for (const auto& worker : next.workers)
        settings.push_back(
            {worker.name, worker_ids.at(worker.name), worker.max_builds, worker.properties});
    // Workers removed from the config lose their connection once their builds end.
    std::vector<std::shared_ptr<process::WorkerConnection>> removed;
    for (const auto* slot : pool.slots())
        if (!next.find_worker(slot->name) && slot->connection) removed.push_back(slot->connection);
    pool.configure(std::move(settings));
    for (auto& connection : removed) {
        tasks.spawn([](State& state,
                       std::shared_ptr<process::WorkerConnection> worker) -> asio::awaitable<void> {
            asio::steady_timer timer(state.executor);
            // Its running builds finish first (a reconfig never interrupts a build).
            while (state.distributor.is_building_on(worker->name())) {
                timer.expires_after(1s);
                co_await timer.async_wait(asio::use_awaitable);
            }
            spdlog::info("worker {} removed from the config: disconnecting", worker->name());
            co_await worker->close();
        }(*this, connection));
    }

    std::vector<process::BuilderSetup> setups;
    for (const auto& builder : next.builders) {
        process::BuilderSetup setup;
        setup.builderid = builder_ids.at(builder.name);
        setup.name = builder.name;
        setup.workers = builder.workers;
        setup.workerbuilddir = builder.workerbuilddir;
        setup.properties = builder_properties(next, builder);
        setup.make_steps = [steps = builder.steps, runtime = next.runtime] {
            return steps::make_steps(steps);
        };
        if (builder.can_start_build) {
            setup.can_start_build = [function = *builder.can_start_build,
                                     runtime = next.runtime](const std::string& worker,
                                                             const data::BuildRequest& request) {
                const std::array<boost::json::value, 2> arguments{
                    boost::json::value(worker), boost::json::value(request.to_json())};
                auto result = function.call(arguments);
                if (!result) return core::Expected<bool>(result.error());
                // Lua truthiness: only nil and false say no.
                const bool allowed =
                    !(result->is_null() || (result->is_bool() && !result->get_bool()));
                return core::Expected<bool>(allowed);
            };
        }
        setup.collapse = collapse_rule(next, builder, setup.builderid, masterid);
        setups.push_back(std::move(setup));
    }
    services.allow_master_paths_outside = next.allow_master_paths_outside;
    distributor.set_builders(std::move(setups));
    if (schedulers) co_await schedulers->configure(next);
}

asio::awaitable<void>
Master::State::prepare_builder_dirs(std::shared_ptr<process::WorkerConnection> connection) {
    // The stock master's setup: make missing builder directories (and info/) on the worker.
    std::set<std::string> wanted{"info"};
    for (const auto& builder : config.builders)
        for (const auto& worker : builder.workers)
            if (worker == connection->name()) wanted.insert(builder.workerbuilddir);
    const auto base = connection->basedir();
    protocol::Map listdir_args;
    listdir_args.emplace_back("path", base);
    process::RemoteCommand listdir;
    listdir.name = "listdir";
    listdir.args = std::move(listdir_args);
    auto listing = co_await connection->run_command(std::move(listdir));
    std::set<std::string> present;
    if (auto found = listing.status.find("files");
        found != listing.status.end() && !found->second.empty())
        if (const auto* files = found->second.back().if_array())
            for (const auto& file : *files)
                if (auto name = file.as_text()) present.emplace(*name);
    protocol::Array paths;
    const char separator = connection->system() == "nt" ? '\\' : '/';
    for (const auto& dir : wanted)
        if (!present.count(dir)) paths.emplace_back(base + separator + dir);
    if (paths.empty()) co_return;
    protocol::Map mkdir_args;
    mkdir_args.emplace_back("paths", std::move(paths));
    process::RemoteCommand mkdir;
    mkdir.name = "mkdir";
    mkdir.args = std::move(mkdir_args);
    auto made = co_await connection->run_command(std::move(mkdir));
    if (!made.is_success())
        spdlog::warn("worker {}: could not create builder directories", connection->name());
}

asio::awaitable<void>
Master::State::on_worker(std::shared_ptr<process::WorkerConnection> connection) {
    const auto name = connection->name();
    auto id = worker_ids.find(name);
    if (id == worker_ids.end() || is_stop_requested) {
        co_await connection->close();
        co_return;
    }
    const auto workerid = id->second;
    try {
        co_await prepare_builder_dirs(connection);
    } catch (const process::WorkerLost& lost) {
        spdlog::warn("worker {} lost during setup: {}", name, lost.what());
        co_return;
    }
    // Stored once; the connection keeps only what it uses (not the worker's environment).
    auto info = to_json_object(connection->take_info());
    co_await workers.connected(workerid, masterid, std::move(info));
    spdlog::info("worker {} attached from {}", name, connection->remote_endpoint());
    pool.attach(connection);
    co_await connection->wait_lost();
    spdlog::info("worker {} lost: {}", name, connection->lost_reason());
    pool.detach(connection);
    co_await workers.disconnected(workerid, masterid);
    distributor.wake();
}

asio::awaitable<void> Master::State::heartbeat() {
    asio::steady_timer timer(executor);
    for (;;) {
        timer.expires_after(kHeartbeatInterval);
        co_await timer.async_wait(asio::use_awaitable);
        try {
            co_await masters.heartbeat(masterid);
        } catch (const std::exception& failure) {
            spdlog::error("heartbeat failed: {}", failure.what());
        }
    }
}

Master::Master(asio::any_io_executor executor, config::MasterConfig config,
               std::unique_ptr<db::Database> database)
    : state_(std::make_unique<State>(executor, std::move(config), std::move(database))) {}

Master::~Master() = default;

std::uint16_t Master::worker_port() const {
    return state_->listener ? state_->listener->port() : 0;
}

asio::awaitable<void> Master::run() {
    auto& s = *state_;
    s.masterid = co_await s.masters.find_or_create(master_name(s.config.master_dir));
    s.services.masterid = s.masterid;
    // Whatever the previous run left unfinished (a crash) ends RETRY and is built again.
    co_await s.masters.mark_stopped(s.masterid);
    co_await s.masters.mark_started(s.masterid);
    s.schedulers = std::make_unique<schedulers::SchedulerService>(schedulers::SchedulerEnvironment{
        s.executor, s.bus, s.scheduler_rows, s.buildsets, s.object_state, s.clock, s.masterid,
        [&s](std::string_view name) -> std::optional<data::Id> {
            auto found = s.builder_ids.find(name);
            if (found == s.builder_ids.end()) return std::nullopt;
            return found->second;
        }});
    s.triggers =
        std::make_unique<SchedulerTriggers>(*this, *s.schedulers, s.context, s.buildsets, s.builds);
    s.services.triggers = s.triggers.get();
    co_await s.apply(s.config);

    s.listener = s.make_listener(s.config.worker_port);
    spdlog::info("master {} listening for workers on port {}", s.masterid, s.listener->port());
    s.subscriptions.push_back(s.bus.subscribe(bus::parse_key("buildrequests/*/new"),
                                              [&s](const bus::Message&) { s.distributor.wake(); }));
    s.subscriptions.push_back(s.bus.subscribe(bus::parse_key("buildrequests/*/unclaimed"),
                                              [&s](const bus::Message&) { s.distributor.wake(); }));
    s.tasks.spawn(s.listener->run());
    {
        www::WwwOptions options;
        options.port = static_cast<std::uint16_t>(s.config.www_port);
        if (const char* bind = std::getenv("KILN_WWW_BIND")) options.bind_address = bind;
        if (const char* root = std::getenv("KILN_WEB_ROOT")) options.web_root = root;
        s.control = make_master_control(*this);
        auto config_source = [this] { return current_config(); };
        s.www = std::make_unique<www::WwwService>(s.executor, s.context, *s.control,
                                                  std::move(config_source), std::move(options));
        spdlog::info("master {} serving the web UI and API on port {}", s.masterid, s.www->port());
        s.tasks.spawn(s.www->run());
    }
    s.change_sources =
        std::make_unique<changes::ChangeSources>(s.executor, s.context, s.config.master_dir);
    s.change_sources->configure(s.config.git_pollers);
    s.tasks.spawn(s.distributor.run());
    s.tasks.spawn(s.heartbeat());

    while (!s.is_stop_requested)
        co_await s.stop_event.wait();

    spdlog::info("master stopping: {} build(s) running", s.distributor.running_count());
    co_await s.schedulers->stop();  // no new buildsets from now on
    s.distributor.stop_starting_builds();
    if (s.is_immediate) {
        s.distributor.stop_all("master shutdown", true);
    } else if (s.distributor.running_count() > 0) {
        // Wait for the builds, or for the timeout, or for an immediate stop.
        std::optional<std::chrono::steady_clock::time_point> deadline;
        if (s.stop_timeout) deadline = std::chrono::steady_clock::now() + *s.stop_timeout;
        asio::steady_timer timer(s.executor);
        while (s.distributor.running_count() > 0 && !s.is_immediate) {
            if (deadline && std::chrono::steady_clock::now() >= *deadline) break;
            timer.expires_after(200ms);
            co_await timer.async_wait(asio::use_awaitable);
        }
        if (s.distributor.running_count() > 0) s.distributor.stop_all("master shutdown", true);
    }
    co_await s.distributor.wait_idle();
    co_await s.change_sources->stop();
    s.listener->stop();
    if (s.www) s.www->stop();
    s.tasks.cancel();
    co_await s.tasks.wait();
    s.subscriptions.clear();
    co_await s.masters.mark_stopped(s.masterid);
    s.db->close();
    spdlog::info("master stopped");
}

void Master::request_stop(std::optional<std::chrono::seconds> timeout) {
    if (state_->is_stop_requested) {
        if (timeout && (!state_->stop_timeout || *timeout < *state_->stop_timeout))
            state_->stop_timeout = timeout;
        return;
    }
    state_->is_stop_requested = true;
    state_->stop_timeout = timeout;
    state_->stop_event.notify();
}

void Master::request_immediate_stop() {
    state_->is_immediate = true;
    state_->is_stop_requested = true;
    state_->stop_event.notify();
}

asio::awaitable<core::Expected<std::vector<std::string>>> Master::reconfig() {
    auto& s = *state_;
    if (s.is_reconfiguring)
        co_return core::fail(core::ErrorKind::conflict, "a reconfig is running");
    if (s.is_stop_requested)
        co_return core::fail(core::ErrorKind::conflict, "the master is stopping");
    s.is_reconfiguring = true;
    struct Reset {
        bool& flag;
        ~Reset() { flag = false; }
    } reset{s.is_reconfiguring};

    auto loaded = config::load_master_config(s.config.master_dir);
    if (!loaded.config) {
        std::vector<std::string> errors;
        for (const auto& error : loaded.errors)
            errors.push_back(error.to_string());
        spdlog::error("reconfig: the new config has {} error(s); nothing changed", errors.size());
        for (const auto& error : errors)
            spdlog::error("  {}", error);
        std::string text;
        for (const auto& error : errors)
            text += error + "\n";
        co_return core::fail(core::ErrorKind::bad_input, text);
    }
    auto next = std::move(*loaded.config);
    if (next.db_url != s.config.db_url)
        co_return core::fail(core::ErrorKind::bad_input,
                             "db.url cannot change on reconfig: restart the master");
    // A new worker port must be bound before anything changes.
    std::unique_ptr<process::WorkerListener> new_listener;
    if (next.worker_port != s.config.worker_port) {
        try {
            new_listener = s.make_listener(next.worker_port);
        } catch (const std::exception& failure) {
            co_return core::fail(core::ErrorKind::bad_input, "protocols.worker.port " +
                                                                 std::to_string(next.worker_port) +
                                                                 ": " + failure.what());
        }
    }
    std::vector<std::string> changes;
    auto names = [](const auto& list) {
        std::set<std::string> set;
        for (const auto& item : list)
            set.insert(item.name);
        return set;
    };
    for (const auto& name : names(next.builders))
        if (!s.config.find_builder(name))
            changes.push_back("builder added: " + name);
        else if (!(*s.config.find_builder(name) == *next.find_builder(name)))
            changes.push_back("builder changed: " + name);
    for (const auto& name : names(s.config.builders))
        if (!next.find_builder(name)) changes.push_back("builder removed: " + name);
    for (const auto& name : names(next.workers))
        if (!s.config.find_worker(name))
            changes.push_back("worker added: " + name);
        else if (!(*s.config.find_worker(name) == *next.find_worker(name)))
            changes.push_back("worker changed: " + name);
    for (const auto& name : names(s.config.workers))
        if (!next.find_worker(name)) changes.push_back("worker removed: " + name);
    for (const auto& name : names(next.schedulers))
        if (!s.config.find_scheduler(name))
            changes.push_back("scheduler added: " + name);
        else if (!(*s.config.find_scheduler(name) == *next.find_scheduler(name)))
            changes.push_back("scheduler changed: " + name);
    for (const auto& name : names(s.config.schedulers))
        if (!next.find_scheduler(name)) changes.push_back("scheduler removed: " + name);
    if (!(s.config.www_auth == next.www_auth))
        changes.push_back("www auth changed (www.auth, www.authz, www.session_lifetime)");
    if (!(s.config.www_rate_limit == next.www_rate_limit))
        changes.push_back("www rate limit changed (www.rate_limit)");
    if (!(s.config.change_hook == next.change_hook))
        changes.push_back("www change hooks changed (www.change_hook, www.change_hook_auth)");

    co_await s.apply(next);
    s.config = std::move(next);
    if (s.www) s.www->reconfigure();
    if (s.change_sources)
        for (auto& change : s.change_sources->configure(s.config.git_pollers))
            changes.push_back(std::move(change));
    if (new_listener) {
        s.listener->stop();
        s.listener = std::move(new_listener);
        s.tasks.spawn(s.listener->run());
    }
    // Workers already attached may serve new builders: make their directories.
    for (const auto* slot : s.pool.slots())
        if (slot->connection && !slot->connection->is_lost())
            s.tasks.spawn(
                [](State& state,
                   std::shared_ptr<process::WorkerConnection> worker) -> asio::awaitable<void> {
                    try {
                        co_await state.prepare_builder_dirs(worker);
                    } catch (const process::WorkerLost&) {
                        // its loss is handled where it was attached
                    }
                }(s, slot->connection));
    spdlog::info("reconfig applied: {} change(s)", changes.size());
    for (const auto& change : changes)
        spdlog::info("  {}", change);
    co_return changes;
}

asio::awaitable<core::Expected<ForceResult>> Master::force(ForceRequest request) {
    auto& s = *state_;
    using core::ErrorKind;
    if (s.is_stop_requested) co_return core::fail(ErrorKind::unavailable, "the master is stopping");
    const auto* builder = s.config.find_builder(request.builder);
    if (!builder)
        co_return core::fail(ErrorKind::not_found, "no builder named '" + request.builder + "'");
    const config::SchedulerConfig* scheduler = nullptr;
    for (const auto& candidate : s.config.schedulers) {
        if (candidate.type != "force") continue;
        if (!request.scheduler.empty() && candidate.name != request.scheduler) continue;
        if (std::find(candidate.builders.begin(), candidate.builders.end(), request.builder) ==
            candidate.builders.end())
            continue;
        scheduler = &candidate;
        break;
    }
    if (!scheduler)
        co_return core::fail(ErrorKind::not_found,
                             request.scheduler.empty()
                                 ? "no force scheduler lists builder '" + request.builder + "'"
                                 : "force scheduler '" + request.scheduler +
                                       "' does not exist or does not list builder '" +
                                       request.builder + "'");

    if (s.schedulers && !s.schedulers->is_enabled(scheduler->name))
        co_return core::fail(ErrorKind::conflict,
                             "scheduler '" + scheduler->name + "' is disabled");
    const std::string source = "Force Build Form";
    core::Properties properties = scheduler->properties;
    std::map<std::string, std::string> given;
    for (const auto& [name, value] : request.properties) {
        if (given.count(name))
            co_return core::fail(ErrorKind::bad_input, "property '" + name + "' given twice");
        given[name] = value;
    }
    for (const auto& parameter : scheduler->parameters) {
        auto found = given.find(parameter.name);
        boost::json::value value = parameter.default_value;
        if (found != given.end()) {
            const auto& text = found->second;
            if (parameter.type == "int") {
                try {
                    std::size_t used = 0;
                    auto number = std::stoll(text, &used);
                    if (used != text.size()) throw std::invalid_argument(text);
                    value = number;
                } catch (const std::exception&) {
                    co_return core::fail(ErrorKind::bad_input, "parameter '" + parameter.name +
                                                                   "' must be an integer, got '" +
                                                                   text + "'");
                }
            } else if (parameter.type == "bool") {
                if (text == "true" || text == "1" || text == "yes" || text == "on")
                    value = true;
                else if (text == "false" || text == "0" || text == "no" || text == "off" ||
                         text.empty())
                    value = false;
                else
                    co_return core::fail(ErrorKind::bad_input,
                                         "parameter '" + parameter.name +
                                             "' must be true or false, got '" + text + "'");
            } else if (parameter.type == "choice") {
                if (parameter.strict &&
                    std::find(parameter.choices.begin(), parameter.choices.end(), text) ==
                        parameter.choices.end())
                    co_return core::fail(ErrorKind::bad_input, "parameter '" + parameter.name +
                                                                   "': '" + text +
                                                                   "' is not one of its choices");
                value = boost::json::string(text);
            } else {
                value = boost::json::string(text);
            }
            given.erase(found);
        }
        if (parameter.required &&
            (value.is_null() || (value.is_string() && value.get_string().empty())))
            co_return core::fail(ErrorKind::bad_input,
                                 "parameter '" + parameter.name + "' is required");
        if (parameter.regex && value.is_string()) {
            try {
                if (!std::regex_match(std::string(value.get_string()),
                                      std::regex(*parameter.regex)))
                    co_return core::fail(ErrorKind::bad_input, "parameter '" + parameter.name +
                                                                   "' does not match " +
                                                                   *parameter.regex);
            } catch (const std::regex_error&) {
                co_return core::fail(ErrorKind::internal,
                                     "parameter '" + parameter.name + "': bad regex");
            }
        }
        properties.set(parameter.name, std::move(value), source);
    }
    // The form's codebase fields make the source stamp (Buildbot: "" when left empty).
    data::SourceStampSpec stamp;
    stamp.branch = std::string();
    stamp.revision = std::string();
    for (const char* field : {"branch", "revision", "repository", "project"}) {
        auto found = given.find(field);
        if (found == given.end()) continue;
        const std::string_view name = field;
        if (name == "branch")
            stamp.branch = found->second;
        else if (name == "revision")
            stamp.revision = found->second;
        else if (name == "repository")
            stamp.repository = found->second;
        else
            stamp.project = found->second;
        given.erase(found);
    }
    if (!given.empty())
        co_return core::fail(ErrorKind::bad_input, "force scheduler '" + scheduler->name +
                                                       "' has no parameter '" +
                                                       given.begin()->first + "'");
    const auto reason = request.reason.empty() ? scheduler->reason : request.reason;
    const auto owner = request.owner.empty() ? std::string("kiln-cli") : request.owner;
    properties.set("reason", boost::json::string(reason), source);
    properties.set("owner", boost::json::string(owner), source);
    properties.set("scheduler", boost::json::string(scheduler->name), "Scheduler");

    std::string full_reason = scheduler->reason_string;
    auto replace = [&](std::string_view key, const std::string& value) {
        for (auto at = full_reason.find(key); at != std::string::npos;
             at = full_reason.find(key, at + value.size()))
            full_reason.replace(at, key.size(), value);
    };
    replace("%(owner)s", owner);
    replace("%(reason)s", reason);

    data::NewBuildset buildset;
    buildset.reason = full_reason;
    buildset.properties = std::move(properties);
    buildset.builderids = {s.builder_ids.at(builder->name)};
    buildset.scheduler = scheduler->name;
    buildset.sourcestamps.push_back(std::move(stamp));
    auto added = co_await s.buildsets.add(std::move(buildset));
    ForceResult result;
    result.bsid = added.bsid;
    for (const auto& [builderid, brid] : added.request_by_builder)
        result.buildrequestids.push_back(brid);
    co_return result;
}

asio::awaitable<core::Expected<TryResult>> Master::try_job(std::string scheduler_name,
                                                           www::TryJob job, std::string owner,
                                                           std::string username) {
    auto& s = *state_;
    using core::ErrorKind;
    if (s.is_stop_requested) co_return core::fail(ErrorKind::unavailable, "the master is stopping");
    const auto* scheduler = s.config.find_scheduler(scheduler_name);
    if (!scheduler || scheduler->type != "try_scheduler")
        co_return core::fail(ErrorKind::not_found,
                             "no try scheduler named '" + scheduler_name + "'");
    for (const auto& name : job.builders)
        if (std::find(scheduler->builders.begin(), scheduler->builders.end(), name) ==
            scheduler->builders.end())
            co_return core::fail(ErrorKind::bad_input, "builderNames: builder '" + name +
                                                           "' is not in try scheduler '" +
                                                           scheduler->name + "'");
    if (s.schedulers && !s.schedulers->is_enabled(scheduler->name))
        co_return core::fail(ErrorKind::conflict,
                             "scheduler '" + scheduler->name + "' is disabled");

    const std::string who = job.who.empty() ? username : job.who;
    // Buildbot's Try_Userpass: "'try' job by user <who> (<comment>)".
    std::string reason = scheduler->reason_string;
    if (!who.empty()) reason += " by user " + who;
    if (!job.comment.empty()) reason += " (" + job.comment + ")";

    core::Properties properties = scheduler->properties;
    for (const auto& [name, value] : job.properties)
        properties.set(std::string(name), value, "try build");
    properties.set("owner", boost::json::string(owner), "Try job");
    properties.set("scheduler", boost::json::string(scheduler->name), "Scheduler");

    data::SourceStampSpec stamp;
    stamp.branch = job.branch;
    stamp.revision = job.revision;
    stamp.repository = job.repository;
    stamp.project = job.project;
    if (!job.patch_body.empty()) {
        data::PatchSpec patch;
        patch.level = job.patch_level;
        patch.body = std::move(job.patch_body);
        patch.author = who;
        patch.comment = job.comment;
        patch.subdir = std::string();  // Buildbot's try sets no subdir
        stamp.patch = std::move(patch);
    }

    data::NewBuildset buildset;
    buildset.reason = reason;
    buildset.properties = std::move(properties);
    for (const auto& name : job.builders)
        buildset.builderids.push_back(s.builder_ids.at(name));
    buildset.scheduler = scheduler->name;
    buildset.external_idstring = job.jobid;
    buildset.sourcestamps.push_back(std::move(stamp));
    auto added = co_await s.buildsets.add(std::move(buildset));
    spdlog::info("try job by {} on scheduler {}: buildset {}", owner, scheduler->name, added.bsid);
    TryResult result;
    result.bsid = added.bsid;
    for (const auto& [builderid, brid] : added.request_by_builder)
        result.request_by_builder[builderid] = brid;
    co_return result;
}

asio::awaitable<core::Expected<void>> Master::control_worker(std::string name, std::string action) {
    auto& s = *state_;
    auto* slot = s.pool.find(name);
    auto id = s.worker_ids.find(name);
    if (!slot || id == s.worker_ids.end())
        co_return core::fail(core::ErrorKind::not_found, "no worker named '" + name + "'");
    const auto workerid = id->second;
    if (action == "pause" || action == "unpause") {
        const bool paused = action == "pause";
        s.pool.set_state(name, paused, slot->is_graceful);
        co_await s.workers.set_state(workerid, paused, slot->is_graceful);
        co_return core::Expected<void>{};
    }
    if (action == "stop") {
        s.pool.set_state(name, slot->is_paused, true);
        co_await s.workers.set_state(workerid, slot->is_paused, true);
        s.tasks.spawn([](State& state, std::string worker) -> asio::awaitable<void> {
            asio::steady_timer timer(state.executor);
            for (;;) {
                auto* current = state.pool.find(worker);
                if (!current || !current->connection || current->connection->is_lost()) co_return;
                if (current->running_builds == 0) {
                    spdlog::info("worker {}: graceful shutdown", worker);
                    auto connection = current->connection;
                    co_await connection->shutdown();
                    co_return;
                }
                timer.expires_after(500ms);
                co_await timer.async_wait(asio::use_awaitable);
            }
        }(s, name));
        co_return core::Expected<void>{};
    }
    if (action == "kill") {
        if (slot->connection) slot->connection->abort("killed by the admin");
        co_return core::Expected<void>{};
    }
    co_return core::fail(core::ErrorKind::bad_input,
                         "unknown worker action '" + action + "' (pause, unpause, stop, kill)");
}

boost::json::object Master::status() const {
    const auto& s = *state_;
    boost::json::array workers;
    for (const auto* slot : s.pool.slots())
        workers.push_back(
            boost::json::object{{"name", slot->name},
                                {"connected", slot->connection && !slot->connection->is_lost()},
                                {"paused", slot->is_paused},
                                {"graceful", slot->is_graceful},
                                {"running_builds", slot->running_builds}});
    return {{"masterid", s.masterid},
            {"running_builds", s.distributor.running_count()},
            {"worker_port", worker_port()},
            {"workers", std::move(workers)}};
}

asio::awaitable<core::Expected<void>> Master::stop_build(std::int64_t buildid, std::string reason) {
    state_->distributor.stop_build(buildid, reason);
    co_return core::Expected<void>{};
}

asio::awaitable<core::Expected<ForceResult>> Master::rebuild(std::int64_t buildid) {
    auto& s = *state_;
    if (s.is_stop_requested)
        co_return core::fail(core::ErrorKind::unavailable, "the master is stopping");
    auto build = co_await s.builds.get(buildid);
    if (!build)
        co_return core::fail(core::ErrorKind::not_found, "no build " + std::to_string(buildid));
    auto request = co_await s.buildsets.get_request(build->buildrequestid);
    if (!request) co_return core::fail(core::ErrorKind::not_found, "the build has no request");
    auto buildset = co_await s.buildsets.get(request->buildsetid);
    if (!buildset) co_return core::fail(core::ErrorKind::not_found, "the build has no buildset");
    data::NewBuildset spec;
    spec.reason = "rebuild";
    for (const auto& stamp : buildset->sourcestamps)
        spec.sourcestamps.push_back(
            {stamp.branch, stamp.revision, stamp.repository, stamp.project, stamp.codebase});
    spec.properties = co_await s.buildsets.properties(request->buildsetid);
    spec.builderids = {build->builderid};
    spec.external_idstring = buildset->external_idstring;
    spec.parent_buildid = buildset->parent_buildid;
    spec.parent_relationship = buildset->parent_relationship;
    spec.scheduler = "rebuild";
    auto added = co_await s.buildsets.add(std::move(spec));
    ForceResult result{added.bsid, {}, build->builderid};
    for (const auto& [builderid, brid] : added.request_by_builder)
        result.buildrequestids.push_back(brid);
    co_return result;
}

asio::awaitable<core::Expected<void>> Master::cancel_request(std::int64_t buildrequestid,
                                                             std::string reason) {
    auto& s = *state_;
    auto request = co_await s.buildsets.get_request(buildrequestid);
    if (!request)
        co_return core::fail(core::ErrorKind::not_found,
                             "no build request " + std::to_string(buildrequestid));
    if (request->complete) co_return core::Expected<void>{};
    if (co_await s.buildsets.cancel(buildrequestid, s.masterid)) co_return core::Expected<void>{};
    // Claimed: stop the builds serving it.
    data::Queries queries(s.context);
    data::Query query;
    query.filters.push_back(
        {"buildrequestid", data::FilterOp::eq, {boost::json::value(buildrequestid)}});
    query.filters.push_back({"complete", data::FilterOp::eq, {boost::json::value(false)}});
    auto running = co_await queries.builds(std::move(query));
    for (const auto& build : running.items)
        s.distributor.stop_build(build.buildid, reason);
    co_return core::Expected<void>{};
}

asio::awaitable<core::Expected<void>> Master::enable_scheduler(std::int64_t schedulerid,
                                                               bool enabled) {
    auto updated = co_await state_->scheduler_rows.set_enabled(schedulerid, enabled);
    if (!updated)
        co_return core::fail(core::ErrorKind::not_found,
                             "no scheduler " + std::to_string(schedulerid));
    co_return core::Expected<void>{};
}

std::string Master::builder_name(std::int64_t builderid) const {
    for (const auto& [name, id] : state_->builder_ids)
        if (id == builderid) return name;
    return {};
}

std::int64_t Master::builder_id(std::string_view name) const {
    auto found = state_->builder_ids.find(name);
    return found == state_->builder_ids.end() ? 0 : found->second;
}

std::string Master::worker_name(std::int64_t workerid) const {
    for (const auto& [name, id] : state_->worker_ids)
        if (id == workerid) return name;
    return {};
}

std::shared_ptr<const config::MasterConfig> Master::current_config() const {
    // Not owning: the configuration lives as long as the master, and is only read on the
    // master's executor, between reconfigs.
    return std::shared_ptr<const config::MasterConfig>(&state_->config,
                                                       [](const config::MasterConfig*) {});
}

std::uint16_t Master::www_port() const { return state_->www ? state_->www->port() : 0; }

}  // namespace kiln::master
