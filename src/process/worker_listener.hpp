// SPDX-License-Identifier: Apache-2.0
// WorkerListener: the master's msgpack_experimental_v7 port. Authenticates workers (HTTP Basic
// on the WebSocket upgrade), settles duplicate connections as Buildbot 3.7 does, attaches each
// worker and hands the WorkerConnection over.
#pragma once

#include "process/worker_connection.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

namespace kiln::process {

struct WorkerListenerOptions {
    std::string bind_address = "0.0.0.0";  // the stock master listens on all interfaces
    std::uint16_t port = 9989;             // 0: any free port (see WorkerListener::port())
    // Largest message accepted from a worker (the stock worker's biggest are upload chunks
    // of blocksize bytes and updates of about buffer_size, 64 KiB).
    std::size_t max_message_bytes = 16 * 1024 * 1024;
    std::chrono::milliseconds handshake_timeout{5000};  // Autobahn's default
    // How long the old connection of a duplicate worker has to answer its `print`.
    std::chrono::milliseconds duplicate_timeout{10000};
    WorkerConnectionOptions connection;
};

class WorkerListener {
public:
    // True when `password` is right for worker `name` (a constant-time compare is the
    // callee's concern). Called on the executor, must not block.
    using CheckPassword = std::function<bool(std::string_view name, std::string_view password)>;
    // The attached connection of worker `name`, or null.
    using FindConnected = std::function<std::shared_ptr<WorkerConnection>(std::string_view name)>;
    // An attached worker, ready for commands. Register on_lost() here to hear of its loss.
    using OnConnected = std::function<void(std::shared_ptr<WorkerConnection>)>;

    // Binds and listens at once (throws boost::system::system_error when the address is
    // taken). Everything runs on `executor`.
    WorkerListener(asio::any_io_executor executor, WorkerListenerOptions options,
                   CheckPassword check_password, FindConnected find_connected,
                   OnConnected on_connected);
    ~WorkerListener();
    WorkerListener(const WorkerListener&) = delete;
    WorkerListener& operator=(const WorkerListener&) = delete;

    std::uint16_t port() const;

    // Accepts workers until stop(); returns once every connection has ended.
    asio::awaitable<void> run();

    // Stops accepting and drops every connection (their commands end with WorkerLost).
    void stop();

private:
    struct State;
    std::shared_ptr<State> state_;
};

}  // namespace kiln::process
