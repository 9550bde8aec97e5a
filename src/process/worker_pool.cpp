// SPDX-License-Identifier: Apache-2.0
#include "process/worker_pool.hpp"

#include <algorithm>

namespace kiln::process {

void WorkerPool::configure(std::vector<WorkerSettings> workers) {
    std::map<std::string, WorkerSlot, std::less<>> next;
    for (auto& settings : workers) {
        WorkerSlot slot;
        if (auto found = slots_.find(settings.name); found != slots_.end()) slot = found->second;
        slot.name = settings.name;
        slot.workerid = settings.workerid;
        slot.max_builds = settings.max_builds;
        slot.properties = std::move(settings.properties);
        next.emplace(slot.name, std::move(slot));
    }
    slots_ = std::move(next);
    if (on_change_) on_change_();
}

WorkerSlot* WorkerPool::find(std::string_view name) {
    auto found = slots_.find(name);
    return found == slots_.end() ? nullptr : &found->second;
}

void WorkerPool::attach(std::shared_ptr<WorkerConnection> connection) {
    auto* slot = find(connection->name());
    if (!slot) return;
    slot->connection = std::move(connection);
    if (on_change_) on_change_();
}

void WorkerPool::detach(const std::shared_ptr<WorkerConnection>& connection) {
    auto* slot = find(connection->name());
    if (slot && slot->connection == connection) slot->connection.reset();
}

std::vector<WorkerSlot*> WorkerPool::available(const std::vector<std::string>& names) {
    std::vector<WorkerSlot*> result;
    for (const auto& name : names)
        if (auto* slot = find(name); slot && slot->can_take_build()) result.push_back(slot);
    std::stable_sort(result.begin(), result.end(), [](const WorkerSlot* a, const WorkerSlot* b) {
        return a->running_builds < b->running_builds;
    });
    return result;
}

bool WorkerPool::any_available() const {
    for (const auto& [name, slot] : slots_)
        if (slot.can_take_build()) return true;
    return false;
}

void WorkerPool::build_finished(std::string_view name) {
    if (auto* slot = find(name); slot && slot->running_builds > 0) --slot->running_builds;
    if (on_change_) on_change_();
}

void WorkerPool::set_state(std::string_view name, bool paused, bool graceful) {
    if (auto* slot = find(name)) {
        slot->is_paused = paused;
        slot->is_graceful = graceful;
    }
    if (on_change_) on_change_();
}

std::vector<const WorkerSlot*> WorkerPool::slots() const {
    std::vector<const WorkerSlot*> result;
    for (const auto& [name, slot] : slots_)
        result.push_back(&slot);
    return result;
}

}  // namespace kiln::process
