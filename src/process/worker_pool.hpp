// SPDX-License-Identifier: Apache-2.0
// WorkerPool: the configured workers and, for those attached, their connection, running
// build count and paused/graceful state. The distributor asks it which workers can take a
// build of a builder now; it wakes the distributor when that may have changed.
#pragma once

#include "core/properties.hpp"
#include "data/entities.hpp"
#include "process/worker_connection.hpp"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace kiln::process {

struct WorkerSlot {
    std::string name;
    data::Id workerid = 0;
    int max_builds = 0;  // 0: unlimited
    core::Properties properties;
    std::shared_ptr<WorkerConnection> connection;  // null while not attached
    int running_builds = 0;
    bool is_paused = false;
    bool is_graceful = false;  // shutting down: no new builds

    bool can_take_build() const {
        return connection && !connection->is_lost() && !is_paused && !is_graceful &&
               (max_builds <= 0 || running_builds < max_builds);
    }
};

struct WorkerSettings {
    std::string name;
    data::Id workerid = 0;
    int max_builds = 0;
    core::Properties properties;
};

class WorkerPool {
public:
    // Called when a worker may have become able to take a build.
    explicit WorkerPool(std::function<void()> on_change)
        : on_change_(std::move(on_change)) {}

    // Replaces the configured workers; attached ones keep their connection and counts;
    // removed ones are forgotten here (the caller closes their connections).
    void configure(std::vector<WorkerSettings> workers);
    WorkerSlot* find(std::string_view name);
    bool is_configured(std::string_view name) const { return slots_.count(std::string(name)) > 0; }

    void attach(std::shared_ptr<WorkerConnection> connection);
    // Forgets the connection if it is still the attached one.
    void detach(const std::shared_ptr<WorkerConnection>& connection);

    // The attached workers among names that can take a build now, least busy first.
    std::vector<WorkerSlot*> available(const std::vector<std::string>& names);
    // Whether any attached worker can take a build now.
    bool any_available() const;

    void build_started(WorkerSlot& slot) { ++slot.running_builds; }
    void build_finished(std::string_view name);
    void set_state(std::string_view name, bool paused, bool graceful);

    std::vector<const WorkerSlot*> slots() const;

private:
    std::map<std::string, WorkerSlot, std::less<>> slots_;
    std::function<void()> on_change_;
};

}  // namespace kiln::process
