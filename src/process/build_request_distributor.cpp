// SPDX-License-Identifier: Apache-2.0
#include "process/build_request_distributor.hpp"

#include "io/task_group.hpp"

#include <set>

#include <spdlog/spdlog.h>

namespace kiln::process {

namespace asio = boost::asio;

namespace {
io::TaskGroup& group(const std::shared_ptr<void>& tasks) {
    return *static_cast<io::TaskGroup*>(tasks.get());
}
io::AsyncEvent& event(const std::shared_ptr<void>& wake) {
    return *static_cast<io::AsyncEvent*>(wake.get());
}
}  // namespace

BuildRequestDistributor::BuildRequestDistributor(asio::any_io_executor executor,
                                                 BuildServices& services, WorkerPool& workers)
    : executor_(executor)
    , services_(services)
    , workers_(workers)
    , tasks_(std::make_shared<io::TaskGroup>(
          executor,
          [](std::exception_ptr error) {
              try {
                  std::rethrow_exception(error);
              } catch (const std::exception& failure) {
                  spdlog::error("build ended by an internal error: {}", failure.what());
              }
          }))
    , wake_(std::make_shared<io::AsyncEvent>(executor)) {}

BuildRequestDistributor::~BuildRequestDistributor() { group(tasks_).cancel(); }

void BuildRequestDistributor::set_builders(std::vector<BuilderSetup> builders) {
    builders_.clear();
    for (auto& builder : builders)
        builders_.emplace(builder.builderid, std::move(builder));
    wake();
}

void BuildRequestDistributor::wake() {
    is_wanted_ = true;
    event(wake_).notify();
}

asio::awaitable<void> BuildRequestDistributor::run() {
    for (;;) {
        while (!is_wanted_)
            co_await event(wake_).wait();
        is_wanted_ = false;
        if (!is_accepting_) continue;
        try {
            co_await distribute();
        } catch (const std::exception& failure) {
            // A database failure: try again at the next wake-up.
            spdlog::error("build request distribution failed: {}", failure.what());
        }
    }
}

asio::awaitable<void> BuildRequestDistributor::distribute() {
    // Every worker busy (a queue filling up): nothing could start, so nothing to read. The
    // next build that ends, or worker that attaches or unpauses, wakes us again.
    if (!workers_.any_available()) co_return;
    const auto builderids = co_await services_.buildsets.builders_with_pending();
    for (auto builderid : builderids) {
        auto found = builders_.find(builderid);
        if (found == builders_.end()) continue;  // not a builder of this master (now)
        const auto free_workers = workers_.available(found->second.workers).size();
        if (free_workers == 0) continue;
        // Only as many as could start now (with room for can_start_build refusals): a long
        // queue is not re-read on every wake-up.
        const auto limit = static_cast<int>(std::max<std::size_t>(16, 4 * free_workers));
        const auto requests = co_await services_.buildsets.pending(builderid, limit);
        std::set<data::Id> taken;  // claimed in this pass (collapsed into a build)
        for (const auto& request : requests) {
            if (!is_accepting_) co_return;
            if (taken.contains(request.buildrequestid)) continue;
            found = builders_.find(builderid);  // the config may have changed meanwhile
            if (found == builders_.end()) break;
            auto candidates = workers_.available(found->second.workers);
            if (candidates.empty()) break;
            WorkerSlot* slot = nullptr;
            for (auto* candidate : candidates) {
                // One build per builder per worker: they share the builder's directory.
                if (is_building_on(builderid, candidate->name)) continue;
                if (!found->second.can_start_build) {
                    slot = candidate;
                    break;
                }
                auto allowed = found->second.can_start_build(candidate->name, request);
                if (!allowed)
                    spdlog::warn("builder {}: can_start_build: {}", found->second.name,
                                 allowed.error().message);
                if (allowed && *allowed) {
                    slot = candidate;
                    break;
                }
            }
            if (!slot) continue;  // no worker may take this request now; try the next one
            // Copied: the config may change while this awaits.
            const auto setup_now = found->second;
            auto served = co_await collapse(setup_now, *slot, request);
            std::vector<data::Id> claim{served.build.buildrequestid};
            for (const auto& collapsed : served.collapsed)
                claim.push_back(collapsed.buildrequestid);
            if (!co_await services_.buildsets.claim(claim, services_.masterid)) continue;
            taken.insert(claim.begin(), claim.end());
            found = builders_.find(builderid);
            const auto& setup = found != builders_.end() ? found->second : setup_now;
            // The worker may have gone while we claimed.
            if (!slot->can_take_build()) {
                co_await services_.buildsets.unclaim(claim, services_.masterid);
                break;
            }
            BuildPlan plan;
            plan.builderid = builderid;
            plan.builder_name = setup.name;
            plan.workerbuilddir = setup.workerbuilddir;
            plan.request = served.build;
            for (const auto& collapsed : served.collapsed)
                plan.collapsed.push_back(collapsed.buildrequestid);
            plan.properties = setup.properties;
            plan.properties.update(slot->properties);
            plan.steps = setup.make_steps();
            plan.worker_name = slot->name;
            plan.workerid = slot->workerid;
            auto build = std::make_shared<Build>(services_, std::move(plan), slot->connection);
            workers_.build_started(*slot);
            running_.emplace(build.get(), build);
            group(tasks_).spawn(run_build(build));
        }
    }
}

asio::awaitable<CollapseGroup> BuildRequestDistributor::collapse(const BuilderSetup& setup,
                                                                 const WorkerSlot& slot,
                                                                 data::BuildRequest request) {
    CollapseGroup alone{request, {}};
    if (!setup.collapse) co_return alone;
    auto pending = co_await services_.buildsets.pending(setup.builderid);
    if (pending.size() < 2) co_return alone;
    std::vector<data::Id> bsids;
    for (const auto& other : pending)
        bsids.push_back(other.buildsetid);
    auto infos = co_await services_.buildsets.collapse_info(std::move(bsids));
    auto group = collapse_group(request, pending, infos, setup.collapse, setup.name);
    // The worker was chosen for `request`: the newer one must suit it too.
    if (group.build.buildrequestid != request.buildrequestid && setup.can_start_build) {
        auto allowed = setup.can_start_build(slot.name, group.build);
        if (!allowed || !*allowed) co_return alone;
    }
    co_return group;
}

asio::awaitable<void> BuildRequestDistributor::run_build(std::shared_ptr<Build> build) {
    std::exception_ptr error;
    auto results = core::Results::exception;
    try {
        results = co_await build->run();
    } catch (...) {
        error = std::current_exception();
    }
    running_.erase(build.get());
    workers_.build_finished(build->plan().worker_name);
    wake();
    if (error) std::rethrow_exception(error);
    if (on_finished_) on_finished_(*build, results);
}

bool BuildRequestDistributor::is_building_on(data::Id builderid, const std::string& worker) const {
    for (const auto& [raw, build] : running_)
        if (build->plan().builderid == builderid && build->plan().worker_name == worker)
            return true;
    return false;
}

bool BuildRequestDistributor::is_building_on(const std::string& worker) const {
    for (const auto& [raw, build] : running_)
        if (build->plan().worker_name == worker) return true;
    return false;
}

void BuildRequestDistributor::stop_all(const std::string& reason, bool retry) {
    for (auto& [raw, build] : running_)
        build->stop(reason, retry);
}

asio::awaitable<void> BuildRequestDistributor::wait_idle() { co_await group(tasks_).wait(); }

bool BuildRequestDistributor::stop_build(data::Id buildid, const std::string& reason) {
    for (auto& [raw, build] : running_) {
        if (build->buildid() == buildid) {
            build->stop(reason);
            return true;
        }
    }
    return false;
}

}  // namespace kiln::process
