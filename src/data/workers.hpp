// SPDX-License-Identifier: Apache-2.0
// Workers: configured workers and the builders they serve on this master, live connections
// (with the info each worker reports), and the paused / graceful-shutdown state.
#pragma once

#include "data/context.hpp"

#include <map>

#include <boost/asio/awaitable.hpp>

namespace kiln::data {

class Workers {
public:
    explicit Workers(Context& context)
        : context_(context) {}

    // Makes the master's configured workers exactly these: name -> builderids (one
    // transaction). Returns name -> workerid.
    boost::asio::awaitable<std::map<std::string, Id>>
    configure(Id masterid, std::map<std::string, std::vector<Id>> builders_by_worker);
    // Records a connection and the worker's info. Announces workers/N/connected.
    boost::asio::awaitable<Worker> connected(Id workerid, Id masterid, boost::json::object info);
    // Announces workers/N/disconnected.
    boost::asio::awaitable<Worker> disconnected(Id workerid, Id masterid);
    // Announces workers/N/state_updated.
    boost::asio::awaitable<Worker> set_state(Id workerid, bool paused, bool graceful);
    boost::asio::awaitable<std::optional<Worker>> get(Id workerid);

private:
    Context& context_;
};

// Inside a transaction: makes the master's configured workers exactly `wanted` (name ->
// builderids of this master); returns name -> workerid.
std::map<std::string, Id> configure_workers(db::Connection& c, Id masterid,
                                            const std::map<std::string, std::vector<Id>>& wanted);

// Reads one worker with its connections and configurations, inside a transaction.
std::optional<Worker> read_worker(db::Connection& c, Id workerid);

}  // namespace kiln::data
