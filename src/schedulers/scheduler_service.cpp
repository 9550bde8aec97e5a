// SPDX-License-Identifier: Apache-2.0
#include "schedulers/scheduler_service.hpp"

#include <set>

#include <spdlog/spdlog.h>

namespace kiln::schedulers {

namespace asio = boost::asio;

namespace {

// Buildbot retries claiming a scheduler another master holds every 5 minutes.
constexpr double kClaimRetrySeconds = 300;

}  // namespace

SchedulerService::SchedulerService(SchedulerEnvironment environment)
    : environment_(std::move(environment))
    , tasks_(environment_.executor, [](std::exception_ptr error) {
        try {
            std::rethrow_exception(error);
        } catch (const std::exception& failure) {
            if (!io::is_cancellation(failure)) spdlog::error("schedulers: {}", failure.what());
        }
    }) {
    updates_ =
        environment_.bus.subscribe(bus::parse_key("schedulers/*/updated"),
                                   [this](const bus::Message& message) { on_updated(message); });
}

SchedulerService::~SchedulerService() {
    for (auto& [name, scheduler] : schedulers_)
        scheduler->stop();
}

asio::awaitable<void> SchedulerService::configure(const config::MasterConfig& config) {
    if (is_stopped_) co_return;
    std::vector<std::string> names;
    for (const auto& scheduler : config.schedulers)
        names.push_back(scheduler.name);
    auto rows = co_await environment_.schedulers.configure(environment_.masterid, names);

    // Removed, or to be replaced: stopped before anything starts.
    std::vector<std::shared_ptr<Scheduler>> stopping;
    std::set<std::string> kept;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const auto& wanted = config.schedulers[i];
        const bool is_here = rows[i].master && rows[i].master->masterid == environment_.masterid;
        auto found = schedulers_.find(wanted.name);
        if (found == schedulers_.end()) continue;
        const bool is_same = found->second->config() == wanted &&
                             found->second->id() == rows[i].schedulerid &&
                             is_running_here_[wanted.name] == is_here;
        if (is_same)
            kept.insert(wanted.name);
        else
            stopping.push_back(found->second);
    }
    for (auto& [name, scheduler] : schedulers_)
        if (!std::any_of(config.schedulers.begin(), config.schedulers.end(),
                         [&](const auto& wanted) { return wanted.name == name; }))
            stopping.push_back(scheduler);
    for (auto& scheduler : stopping)
        scheduler->stop();
    for (auto& scheduler : stopping) {
        co_await scheduler->wait_stopped();
        schedulers_.erase(scheduler->name());
        is_running_here_.erase(scheduler->name());
    }

    bool is_any_elsewhere = false;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const auto& row = rows[i];
        const auto& wanted = config.schedulers[i];
        const bool is_here = row.master && row.master->masterid == environment_.masterid;
        is_any_elsewhere = is_any_elsewhere || !is_here;
        if (kept.contains(wanted.name)) {
            schedulers_.at(wanted.name)->set_enabled(row.enabled);
            continue;
        }
        auto scheduler = make_scheduler(environment_, wanted, row.schedulerid);
        schedulers_[wanted.name] = scheduler;
        is_running_here_[wanted.name] = is_here;
        if (is_here) {
            scheduler->start(row.enabled);
        } else {
            scheduler->set_enabled(row.enabled);
            spdlog::info("scheduler {} runs on master {}; not here", wanted.name,
                         row.master ? row.master->masterid : 0);
        }
    }
    if (is_any_elsewhere)
        schedule_claim_retry();
    else
        claim_retry_.reset();
}

void SchedulerService::schedule_claim_retry() {
    if (claim_retry_ || is_stopped_) return;
    claim_retry_ =
        environment_.clock.call_at(environment_.clock.now() + kClaimRetrySeconds, [this] {
            claim_retry_.reset();
            tasks_.spawn(retry_claims());
        });
}

asio::awaitable<void> SchedulerService::retry_claims() {
    if (is_stopped_) co_return;
    std::vector<data::Id> ids;
    for (const auto& [name, is_here] : is_running_here_)
        if (!is_here) ids.push_back(schedulers_.at(name)->id());
    if (ids.empty()) co_return;
    auto rows = co_await environment_.schedulers.claim(environment_.masterid, std::move(ids));
    if (is_stopped_) co_return;
    bool is_any_elsewhere = false;
    for (const auto& row : rows) {
        auto found = schedulers_.find(row.name);
        if (found == schedulers_.end() || found->second->id() != row.schedulerid ||
            is_running_here_[row.name])
            continue;
        if (row.master && row.master->masterid == environment_.masterid) {
            spdlog::info("scheduler {} now runs here", row.name);
            is_running_here_[row.name] = true;
            found->second->start(row.enabled);
        } else {
            is_any_elsewhere = true;
        }
    }
    if (is_any_elsewhere) schedule_claim_retry();
}

asio::awaitable<void> SchedulerService::stop() {
    is_stopped_ = true;
    updates_.reset();
    claim_retry_.reset();
    for (auto& [name, scheduler] : schedulers_)
        scheduler->stop();
    for (auto& [name, scheduler] : schedulers_)
        co_await scheduler->wait_stopped();
    tasks_.cancel();
    co_await tasks_.wait();
}

void SchedulerService::on_updated(const bus::Message& message) {
    const auto* id = message.payload->if_contains("schedulerid");
    const auto* enabled = message.payload->if_contains("enabled");
    if (!id || !id->is_int64() || !enabled || !enabled->is_bool()) return;
    for (auto& [name, scheduler] : schedulers_)
        if (scheduler->id() == id->get_int64()) scheduler->set_enabled(enabled->get_bool());
}

asio::awaitable<core::Expected<data::AddedBuildset>>
SchedulerService::trigger(std::string name, TriggerRequest request) {
    auto found = schedulers_.find(name);
    auto* triggerable = found == schedulers_.end()
                            ? nullptr
                            : dynamic_cast<TriggerableScheduler*>(found->second.get());
    if (!triggerable)
        co_return core::fail(core::ErrorKind::not_found,
                             "no triggerable scheduler named '" + name + "'");
    // Held while the buildset is made (a reconfig may drop the scheduler meanwhile).
    auto scheduler = found->second;
    co_return co_await triggerable->trigger(std::move(request));
}

std::optional<data::Id> SchedulerService::scheduler_id(std::string_view name) const {
    auto found = schedulers_.find(name);
    if (found == schedulers_.end()) return std::nullopt;
    return found->second->id();
}

bool SchedulerService::is_enabled(std::string_view name) const {
    auto found = schedulers_.find(name);
    return found != schedulers_.end() && found->second->is_enabled();
}

std::shared_ptr<Scheduler> SchedulerService::find(std::string_view name) const {
    auto found = schedulers_.find(name);
    return found == schedulers_.end() ? nullptr : found->second;
}

}  // namespace kiln::schedulers
