// SPDX-License-Identifier: Apache-2.0
// ChangeSources: the master's running change sources (git pollers), started, restarted and
// stopped to match the configuration at start and on every reconfig. Each poller runs in its
// own task group on the domain executor.
#pragma once

#include "changes/git_poller.hpp"
#include "config/master_config.hpp"
#include "data/context.hpp"
#include "io/task_group.hpp"

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

namespace kiln::changes {

class ChangeSources {
public:
    ChangeSources(boost::asio::any_io_executor executor, data::Context& context,
                  std::filesystem::path master_dir);
    ~ChangeSources();
    ChangeSources(const ChangeSources&) = delete;
    ChangeSources& operator=(const ChangeSources&) = delete;

    // Makes the running pollers these: new ones start, changed ones restart, removed ones
    // stop. Returns what changed ("change source added: <name>", ...).
    std::vector<std::string> configure(const std::vector<config::GitPollerConfig>& pollers);

    // Stops every poller (a running git command is killed) and waits until they ended.
    boost::asio::awaitable<void> stop();

    std::size_t size() const { return running_.size(); }

private:
    struct Running {
        std::unique_ptr<GitPoller> poller;
        std::unique_ptr<io::TaskGroup> tasks;
    };
    void start(const config::GitPollerConfig& config);
    void retire(Running running);

    boost::asio::any_io_executor executor_;
    data::Context& context_;
    std::filesystem::path master_dir_;
    std::map<std::string, Running> running_;
    std::vector<Running> stopping_;  // cancelled, kept alive until their task ended
};

}  // namespace kiln::changes
