// SPDX-License-Identifier: Apache-2.0
// Master: the buildmaster's composition root. Owns the database, bus, data stores, worker
// listener, worker pool and build request distributor; applies a configuration (at start
// and on reconfig, as a whole or not at all); forces builds; stops gracefully.
#pragma once

#include "config/master_config.hpp"
#include "core/expected.hpp"
#include "db/database.hpp"
#include "www/try_job.hpp"

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

namespace kiln::master {

struct ForceRequest {
    std::string builder;
    std::string scheduler;  // empty: the first force scheduler that lists the builder
    std::string reason;
    std::string owner;
    std::vector<std::pair<std::string, std::string>> properties;  // name=value as given
};

struct TryResult {
    std::int64_t bsid = 0;
    std::map<std::int64_t, std::int64_t> request_by_builder;  // builderid -> buildrequestid
};

struct ForceResult {
    std::int64_t bsid = 0;
    std::vector<std::int64_t> buildrequestids;
    std::int64_t builderid = 0;  // of the (first) builder
};

class Master {
public:
    // The database must be at the latest schema version.
    Master(boost::asio::any_io_executor executor, config::MasterConfig config,
           std::unique_ptr<db::Database> database);
    ~Master();
    Master(const Master&) = delete;
    Master& operator=(const Master&) = delete;

    // Starts every service, runs until a stop completes, then marks the master stopped and
    // closes the database. Throws when the master cannot start (port taken, database).
    boost::asio::awaitable<void> run();

    // Graceful stop: no new builds; running ones may finish for `timeout` (nullopt: as long
    // as they take), then are stopped with RETRY so the next start builds them again.
    void request_stop(std::optional<std::chrono::seconds> timeout);
    // Stops now: running builds are stopped with RETRY.
    void request_immediate_stop();

    // Re-reads master.lua and applies the difference. On any error nothing changes and the
    // errors come back (each "file:line: message").
    boost::asio::awaitable<core::Expected<std::vector<std::string>>> reconfig();

    // Forces a build through a force scheduler, validating its parameters.
    boost::asio::awaitable<core::Expected<ForceResult>> force(ForceRequest request);
    // A try job through a try scheduler (k.try_scheduler): one buildset, reason "'try' job by
    // user <who>[ (<comment>)]", for the job's builders (each must be one of the scheduler's),
    // whose sourcestamp carries the patch. owner: the user who posted it (owner property).
    boost::asio::awaitable<core::Expected<TryResult>>
    try_job(std::string scheduler, www::TryJob job, std::string owner, std::string username);

    // Worker control, as Buildbot's: "pause" (no new builds), "unpause", "stop" (graceful:
    // no new builds, then the worker is asked to shut down once its builds end), "kill"
    // (disconnect now: its builds end RETRY and are built again elsewhere).
    boost::asio::awaitable<core::Expected<void>> control_worker(std::string name,
                                                                std::string action);

    // Stops a running build (CANCELLED); a build that is not running is left as it is.
    boost::asio::awaitable<core::Expected<void>> stop_build(std::int64_t buildid,
                                                            std::string reason);
    // A new buildset with the build's sourcestamps and properties, reason "rebuild", for the
    // build's builder.
    boost::asio::awaitable<core::Expected<ForceResult>> rebuild(std::int64_t buildid);
    // Cancels a pending build request; a claimed one has its running builds stopped.
    boost::asio::awaitable<core::Expected<void>> cancel_request(std::int64_t buildrequestid,
                                                                std::string reason);
    // Enables or disables a scheduler by id (schedulers/N/updated follows); not_found when no
    // scheduler has that id.
    boost::asio::awaitable<core::Expected<void>> enable_scheduler(std::int64_t schedulerid,
                                                                  bool enabled);
    // The id of a configured builder (0 when unknown).
    std::int64_t builder_id(std::string_view name) const;
    // The name of a configured builder by id (empty when unknown).
    std::string builder_name(std::int64_t builderid) const;
    // The name of a configured worker by id (empty when unknown).
    std::string worker_name(std::int64_t workerid) const;
    // The configuration in force (for the web server; valid until the next reconfig).
    std::shared_ptr<const config::MasterConfig> current_config() const;
    // The web server's port once run() has bound it (0 before).
    std::uint16_t www_port() const;

    // A short status for `kiln` commands: master id, workers, running builds.
    boost::json::object status() const;

    // The worker port actually bound (after run() started listening).
    std::uint16_t worker_port() const;

private:
    struct State;
    std::unique_ptr<State> state_;
};

// "<hostname>:<absolute master dir>", the master's name in the database.
std::string master_name(const std::filesystem::path& master_dir);

}  // namespace kiln::master
