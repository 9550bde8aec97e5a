// SPDX-License-Identifier: Apache-2.0
#include "changes/change_sources.hpp"

#include "changes/git.hpp"

#include <set>

#include <spdlog/spdlog.h>

namespace kiln::changes {

namespace asio = boost::asio;

ChangeSources::ChangeSources(asio::any_io_executor executor, data::Context& context,
                             std::filesystem::path master_dir)
    : executor_(std::move(executor))
    , context_(context)
    , master_dir_(std::move(master_dir)) {}

ChangeSources::~ChangeSources() {
    for (auto& [name, running] : running_)
        running.tasks->cancel();
    for (auto& running : stopping_)
        running.tasks->cancel();
}

void ChangeSources::start(const config::GitPollerConfig& config) {
    Running running;
    running.poller = std::make_unique<GitPoller>(context_, config, master_dir_);
    running.tasks =
        std::make_unique<io::TaskGroup>(executor_, [name = config.name](std::exception_ptr error) {
            try {
                std::rethrow_exception(error);
            } catch (const std::exception& failure) {
                if (!io::is_cancellation(failure))
                    spdlog::error("gitpoller {} ended: {}", redact_url(name), failure.what());
            }
        });
    running.tasks->spawn(running.poller->run());
    spdlog::info("gitpoller {}: polling {} every {} s", redact_url(config.name),
                 redact_url(config.repourl), config.pollinterval);
    running_[config.name] = std::move(running);
}

void ChangeSources::retire(Running running) {
    running.tasks->cancel();
    std::erase_if(stopping_, [](const Running& old) { return old.tasks->size() == 0; });
    stopping_.push_back(std::move(running));
}

std::vector<std::string>
ChangeSources::configure(const std::vector<config::GitPollerConfig>& pollers) {
    std::vector<std::string> changes;
    std::set<std::string> wanted;
    for (const auto& config : pollers) {
        wanted.insert(config.name);
        auto found = running_.find(config.name);
        if (found == running_.end()) {
            start(config);
            changes.push_back("change source added: " + config.name);
        } else if (!(found->second.poller->config() == config)) {
            auto old = std::move(found->second);
            running_.erase(found);
            retire(std::move(old));
            start(config);
            changes.push_back("change source changed: " + config.name);
        }
    }
    for (auto it = running_.begin(); it != running_.end();) {
        if (wanted.count(it->first)) {
            ++it;
            continue;
        }
        changes.push_back("change source removed: " + it->first);
        auto old = std::move(it->second);
        it = running_.erase(it);
        retire(std::move(old));
    }
    return changes;
}

asio::awaitable<void> ChangeSources::stop() {
    for (auto& [name, running] : running_)
        stopping_.push_back(std::move(running));
    running_.clear();
    for (auto& running : stopping_)
        running.tasks->cancel();
    for (auto& running : stopping_)
        co_await running.tasks->wait();
    stopping_.clear();
}

}  // namespace kiln::changes
