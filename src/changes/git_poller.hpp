// SPDX-License-Identifier: Apache-2.0
// GitPoller: Buildbot's GitPoller. Every pollinterval it lists the remote's refs
// (`git ls-remote`), fetches the wanted ones into a bare work repository under tracking refs
// (refs/buildbot/<quoted repourl>/<branch>), and makes one change per commit not reachable from
// any revision seen before (oldest first). The first poll of a new poller only remembers the
// heads. The seen revisions are kept in the database (object_state, "lastRev") in the same
// transaction as the changes, so a restart never reports a commit twice.
#pragma once

#include "config/master_config.hpp"
#include "data/changes.hpp"
#include "data/context.hpp"

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

namespace kiln::changes {

class GitPoller {
public:
    // master_dir: where a relative workdir lives.
    GitPoller(data::Context& context, config::GitPollerConfig config,
              std::filesystem::path master_dir);

    const config::GitPollerConfig& config() const { return config_; }

    // Polls at once when poll_at_launch, then every pollinterval, until cancelled. A failed
    // poll is logged; the next one runs on time. Runs on the domain executor (the branch
    // function is Lua).
    boost::asio::awaitable<void> run();

    // One poll; returns the changes it stored. Throws GitError when git fails and
    // db::DatabaseError when storing does.
    boost::asio::awaitable<std::vector<data::Change>> poll();

private:
    // The refs to follow among the remote's.
    std::vector<std::string> wanted_refs(const std::vector<std::string>& remote_refs) const;
    std::string tracking_ref(const std::string& ref) const;
    // Runs git in the work repository (no braced or temporary arguments inside co_await:
    // docs/decisions/0001).
    boost::asio::awaitable<std::string> git(std::vector<std::string> args,
                                            std::chrono::seconds timeout);
    boost::asio::awaitable<std::string>
    git_with_input(std::vector<std::string> args, std::string input, std::chrono::seconds timeout);
    boost::asio::awaitable<void> prepare();
    boost::asio::awaitable<data::NewChange> change_of(std::string revision, std::string ref);

    data::Context& context_;
    config::GitPollerConfig config_;
    std::filesystem::path workdir_;
    std::optional<data::Id> objectid_;
    std::map<std::string, std::string> last_revisions_;  // ref -> sha
};

// Buildbot's branch name of a ref: refs/heads/ removed; other refs (tags) stay whole.
std::string branch_of(const std::string& ref);

}  // namespace kiln::changes
