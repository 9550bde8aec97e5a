// SPDX-License-Identifier: Apache-2.0
// Session: one connection to the master. Answers the master's requests, runs the commands it
// starts, and correlates the responses to the worker's own requests (in any order).
#pragma once

#include "io/task_group.hpp"
#include "io/websocket.hpp"
#include "worker/command.hpp"

#include <functional>
#include <map>
#include <memory>

namespace kiln::worker {

class Session final : public MasterLink {
public:
    // `worker_info` is the get_worker_info answer; `on_shutdown` is called when the master
    // sends `shutdown`.
    Session(WorkerEnvironment environment, io::WebSocketConnection& connection,
            protocol::Value worker_info, std::function<void()> on_shutdown);
    ~Session() override;

    // Serves the connection until it ends. Then fails outstanding requests, interrupts the
    // running commands (killing their processes) and waits a bounded time for them.
    asio::awaitable<void> run();

    // Interrupts every running command (worker shutting down).
    void interrupt_all(const std::string& why);

    asio::awaitable<protocol::Response> call(std::string op, protocol::Map fields) override;
    asio::awaitable<void> notify(std::string op, protocol::Map fields) override;
    asio::awaitable<void> notify_encoded(std::string message) override;

    std::size_t running_commands() const { return commands_.size(); }

private:
    struct Slot;
    struct Running;

    asio::awaitable<void> handle(protocol::Request request);
    asio::awaitable<void> run_command(std::string command_id);
    asio::awaitable<void> respond(std::uint64_t seq, protocol::Value result,
                                  bool is_exception = false);
    asio::awaitable<std::uint64_t> send_request(std::string op, protocol::Map fields,
                                                std::shared_ptr<Slot> slot);
    void connection_lost();

    WorkerEnvironment environment_;
    io::WebSocketConnection& connection_;
    protocol::Value worker_info_;
    std::function<void()> on_shutdown_;
    OutputSettings settings_;
    protocol::PendingRequests<std::shared_ptr<Slot>> pending_;
    std::size_t notifications_in_flight_ = 0;
    io::AsyncEvent response_arrived_;
    std::map<std::string, std::unique_ptr<Running>> commands_;
    io::TaskGroup tasks_;
    bool is_lost_ = false;
};

}  // namespace kiln::worker
