// SPDX-License-Identifier: Apache-2.0
// Masters: this master's row (found or created by name), its activity, and the housekeeping
// Buildbot does when a master stops or is found dead: its builds end RETRY, its requests
// go back to the queue, its builder/worker/scheduler registrations are removed.
#pragma once

#include "data/context.hpp"

#include <boost/asio/awaitable.hpp>

namespace kiln::data {

class Masters {
public:
    explicit Masters(Context& context)
        : context_(context) {}

    // Finds or creates the master named name (e.g. "host:/abs/basedir").
    boost::asio::awaitable<Id> find_or_create(std::string name);
    // Marks the master stopped and cleans up after it (see above); used at start to recover
    // from a crash of the previous run, and at a clean stop. Announces masters/N/stopped.
    boost::asio::awaitable<void> mark_stopped(Id masterid);
    // Marks the master active. Announces masters/N/started.
    boost::asio::awaitable<Master> mark_started(Id masterid);
    boost::asio::awaitable<void> heartbeat(Id masterid);
    boost::asio::awaitable<std::optional<Master>> get(Id masterid);

private:
    Context& context_;
};

}  // namespace kiln::data
