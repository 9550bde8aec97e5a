// SPDX-License-Identifier: Apache-2.0
#include "process/worker_listener.hpp"

#include "io/task_group.hpp"

#include <optional>
#include <set>
#include <utility>

#include <spdlog/spdlog.h>

// GCC 12 (docs/decisions/0001): maps are built in named locals before co_await.

namespace kiln::process {

namespace {

constexpr int kSwitchingProtocols = 101;
constexpr int kBadRequest = 400;
constexpr int kUnauthorized = 401;

// The stock master's answers to the upgrade (worker-protocol.md §1.2). Passwords never reach
// a log line.
int authorize(const WorkerListener::CheckPassword& check_password,
              const io::UpgradeRequest& request) {
    if (!request.authorization) {
        spdlog::info("worker connection from {} without credentials", request.remote_endpoint);
        return kUnauthorized;
    }
    auto credentials = io::parse_basic_authorization(*request.authorization);
    if (!credentials) {
        spdlog::info("worker connection from {} with malformed credentials",
                     request.remote_endpoint);
        return kBadRequest;
    }
    if (!check_password(credentials->first, credentials->second)) {
        spdlog::warn("worker {} from {}: wrong name or password", credentials->first,
                     request.remote_endpoint);
        return kUnauthorized;
    }
    return kSwitchingProtocols;
}

protocol::Map duplicate_message() {
    return protocol::Map{{"message", protocol::Value{"master got a duplicate connection"}}};
}

}  // namespace

struct WorkerListener::State : std::enable_shared_from_this<State> {
    State(asio::any_io_executor executor_to_use, WorkerListenerOptions o, CheckPassword check,
          FindConnected find, OnConnected connected)
        : executor(std::move(executor_to_use))
        , options(std::move(o))
        , check_password(std::move(check))
        , find_connected(std::move(find))
        , on_connected(std::move(connected))
        , attaching(executor, [](std::exception_ptr error) {
            try {
                std::rethrow_exception(error);
            } catch (const std::exception& e) {
                spdlog::error("attaching a worker failed: {}", e.what());
            }
        }) {}

    asio::awaitable<void> open(std::unique_ptr<io::WebSocketConnection> socket,
                               io::UpgradeRequest upgrade) {
        auto self = shared_from_this();
        auto credentials = io::parse_basic_authorization(upgrade.authorization.value_or(""));
        if (!credentials) co_return;  // authorize() let only valid credentials through
        auto connection = std::make_shared<WorkerConnection>(
            executor, std::move(socket), std::move(credentials->first), options.connection);
        attaching.spawn(attach(connection));
        co_await connection->serve();
    }

    asio::awaitable<void> attach(std::shared_ptr<WorkerConnection> connection) {
        auto self = shared_from_this();
        const auto name = connection->name();
        if (names_attaching.contains(name)) {
            spdlog::warn("rejecting duplicate worker {} from {}: another connection is "
                         "attaching",
                         name, connection->remote_endpoint());
            co_await connection->close();
            co_return;
        }
        names_attaching.insert(name);
        struct Release {
            std::set<std::string>& names;
            std::string name;
            ~Release() { names.erase(name); }
        } release{names_attaching, name};

        // Buildbot 3.7: ping the old connection; if it answers, the new one goes.
        if (auto old = find_connected(name); old && !old->is_lost()) {
            bool is_old_alive = false;
            auto message = duplicate_message();
            try {
                co_await old->call("print", std::move(message), options.duplicate_timeout);
                is_old_alive = !old->is_lost();
            } catch (const WorkerLost&) {
                is_old_alive = false;
            }
            if (is_old_alive) {
                spdlog::warn("rejecting duplicate worker {} from {}: still connected from {}", name,
                             connection->remote_endpoint(), old->remote_endpoint());
                co_await connection->close();
                co_return;
            }
            old->abort("replaced by a new connection");
        }

        std::string error;
        try {
            co_await connection->attach();
        } catch (const WorkerLost& lost) {
            error = lost.what();
        } catch (const std::runtime_error& failure) {
            error = failure.what();
            connection->abort(error);
        }
        if (!error.empty()) {
            spdlog::warn("worker {}: attach failed: {}", name, error);
            co_return;
        }
        connection->start_keepalive();
        on_connected(connection);
    }

    asio::any_io_executor executor;
    WorkerListenerOptions options;
    CheckPassword check_password;
    FindConnected find_connected;
    OnConnected on_connected;
    io::TaskGroup attaching;
    std::set<std::string> names_attaching;
    std::unique_ptr<io::WebSocketServer> server;
};

WorkerListener::WorkerListener(asio::any_io_executor executor, WorkerListenerOptions options,
                               CheckPassword check_password, FindConnected find_connected,
                               OnConnected on_connected)
    : state_(std::make_shared<State>(executor, std::move(options), std::move(check_password),
                                     std::move(find_connected), std::move(on_connected))) {
    io::WebSocketServerOptions server_options;
    server_options.bind_address = state_->options.bind_address;
    server_options.port = state_->options.port;
    server_options.handshake_timeout = state_->options.handshake_timeout;
    server_options.max_message_bytes = state_->options.max_message_bytes;
    std::weak_ptr<State> weak = state_;
    state_->server = std::make_unique<io::WebSocketServer>(
        executor, server_options,
        [weak](const io::UpgradeRequest& request) {
            auto state = weak.lock();
            if (!state) return 503;
            return authorize(state->check_password, request);
        },
        [weak](std::unique_ptr<io::WebSocketConnection> socket,
               io::UpgradeRequest request) -> asio::awaitable<void> {
            auto state = weak.lock();
            if (!state) co_return;
            co_await state->open(std::move(socket), std::move(request));
        });
}

WorkerListener::~WorkerListener() {
    state_->attaching.cancel();
    state_->server->stop();
}

std::uint16_t WorkerListener::port() const { return state_->server->port(); }

asio::awaitable<void> WorkerListener::run() {
    auto state = state_;
    co_await state->server->run();
    state->attaching.cancel();
    co_await state->attaching.wait();
}

void WorkerListener::stop() {
    state_->attaching.cancel();
    state_->server->stop();
}

}  // namespace kiln::process
