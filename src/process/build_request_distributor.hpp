// SPDX-License-Identifier: Apache-2.0
// BuildRequestDistributor: hands pending build requests to free workers. It wakes when a
// request arrives, a worker attaches or frees up, or the config changes; for each builder
// with pending requests (highest priority, then oldest first) it picks the least busy
// available worker, claims the request (with the pending requests that collapse into it)
// and runs a Build.
#pragma once

#include "process/build.hpp"
#include "process/build_request_collapser.hpp"
#include "process/worker_pool.hpp"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

namespace kiln::process {

// How to build for one builder (from the config in force when the build starts).
struct BuilderSetup {
    data::Id builderid = 0;
    std::string name;
    std::vector<std::string> workers;
    std::string workerbuilddir;
    core::Properties properties;  // global + builder
    StepFactory make_steps;
    // Whether a worker may start a build of this request now (Buildbot's canStartBuild);
    // unset: any worker may. An error counts as "no" (and is logged).
    std::function<core::Expected<bool>(const std::string& worker, const data::BuildRequest&)>
        can_start_build;
    // Whether pending requests collapse (collapse_requests); unset: they never do.
    CollapseRule collapse;
};

class BuildRequestDistributor {
public:
    BuildRequestDistributor(boost::asio::any_io_executor executor, BuildServices& services,
                            WorkerPool& workers);
    ~BuildRequestDistributor();

    // Takes effect for builds started from now on; running builds keep their setup.
    void set_builders(std::vector<BuilderSetup> builders);
    // Asks for a distribution pass soon (cheap; passes coalesce).
    void wake();
    // Runs until cancelled.
    boost::asio::awaitable<void> run();

    // No new builds from now on.
    void stop_starting_builds() { is_accepting_ = false; }
    // Stops every running build (see Build::stop) and waits for them to end.
    void stop_all(const std::string& reason, bool retry);
    // Returns once no build runs.
    boost::asio::awaitable<void> wait_idle();
    std::size_t running_count() const { return running_.size(); }
    // Whether a build runs on the named worker.
    bool is_building_on(const std::string& worker) const;
    // Stops one build by id; false if it does not run here.
    bool stop_build(data::Id buildid, const std::string& reason);
    // Called with each build's results when it ends.
    void on_build_finished(std::function<void(const Build&, core::Results)> callback) {
        on_finished_ = std::move(callback);
    }

private:
    boost::asio::awaitable<void> distribute();
    // The request to build instead of `request` and the ones collapsed into it.
    boost::asio::awaitable<CollapseGroup>
    collapse(const BuilderSetup& setup, const WorkerSlot& slot, data::BuildRequest request);
    boost::asio::awaitable<void> run_build(std::shared_ptr<Build> build);
    bool is_building_on(data::Id builderid, const std::string& worker) const;

    boost::asio::any_io_executor executor_;
    BuildServices& services_;
    WorkerPool& workers_;
    std::map<data::Id, BuilderSetup> builders_;
    std::map<Build*, std::shared_ptr<Build>> running_;
    std::shared_ptr<void> tasks_;  // io::TaskGroup running the builds
    std::shared_ptr<void> wake_;   // io::AsyncEvent
    std::function<void(const Build&, core::Results)> on_finished_;
    bool is_accepting_ = true;
    bool is_wanted_ = true;
};

}  // namespace kiln::process
