// SPDX-License-Identifier: Apache-2.0
// WorkerConnection: the master's side of one attached worker (msgpack_experimental_v7): the
// worker's info, remote commands with their updates and file transfers, interrupts,
// keepalives, and the moment the worker is lost.
#pragma once

#include "io/task_group.hpp"
#include "io/websocket.hpp"
#include "process/remote_command.hpp"
#include "protocol/messages.hpp"

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

namespace kiln::process {

struct WorkerConnectionOptions {
    // The stock 3.7 master sends a keepalive every 3600 s and never times it out; ours gives
    // up on the worker when the answer is late.
    std::chrono::milliseconds keepalive_interval{std::chrono::hours(1)};
    std::chrono::milliseconds keepalive_timeout{std::chrono::minutes(1)};
    // Deadline of every other request to the worker; a late answer loses the worker.
    std::chrono::milliseconds request_timeout{std::chrono::minutes(1)};
    // After a cancelled run_command interrupts its command: how long to wait for `complete`.
    std::chrono::milliseconds interrupt_grace{std::chrono::seconds(30)};
};

// One worker connection. Lives in a shared_ptr; use it from the executor it was made on (the
// master's domain executor), which serves everything without locks. The WorkerListener makes
// it, attaches it and hands it over; it stays usable until lost (then every call throws
// WorkerLost).
class WorkerConnection : public std::enable_shared_from_this<WorkerConnection> {
public:
    WorkerConnection(asio::any_io_executor executor,
                     std::unique_ptr<io::WebSocketConnection> socket, std::string name,
                     WorkerConnectionOptions options);
    ~WorkerConnection();
    WorkerConnection(const WorkerConnection&) = delete;
    WorkerConnection& operator=(const WorkerConnection&) = delete;

    const std::string& name() const { return name_; }
    std::string remote_endpoint() const;

    // --- worker info (get_worker_info; empty before attach) ----------------------------------
    // The whole map (environ included, several kB) stays only until take_info() moves it out
    // to be stored; basedir(), system() and version() answer either way.
    const protocol::Map& info() const { return info_; }
    protocol::Map take_info() { return std::exchange(info_, {}); }
    std::string basedir() const;  // absolute base directory on the worker
    std::string system() const;   // "posix" (default) or "nt"
    std::string version() const;  // e.g. "3.7.0-2"; empty when not given
    const std::map<std::string, std::string>& command_versions() const { return command_versions_; }
    std::optional<std::string> command_version(std::string_view command) const;

    // --- commands ---------------------------------------------------------------------------

    // Starts `command` and serves it until the worker sends `complete` (or refuses to start
    // it). Updates reach command.observer in order, each acknowledged after the observer
    // returns; transfer requests go to the command's writer or reader.
    // Throws WorkerLost when the connection is lost first. When the awaiting operation is
    // cancelled (Asio cancellation), interrupts the command, waits up to interrupt_grace for
    // `complete` (observer still served) and then throws system_error(operation_aborted).
    asio::awaitable<CommandResult> run_command(RemoteCommand command);

    // Asks the worker to interrupt a running command (the step is then CANCELLED). Unknown or
    // finished ids are fine (the worker ignores them). Throws WorkerLost.
    asio::awaitable<void> interrupt(std::string command_id, std::string why);

    // --- connection -------------------------------------------------------------------------

    // Sends `print` (the worker logs it; the stock master uses it as a ping). Throws
    // WorkerLost, also when the worker does not answer within request_timeout.
    asio::awaitable<void> print(std::string message);
    // Asks the worker to shut down (it answers, then exits ~0.2 s later).
    asio::awaitable<void> shutdown();
    // Closes with an (empty) Close frame, as Buildbot rejects a duplicate; then lost.
    asio::awaitable<void> close();
    // Drops the TCP connection at once; the connection is lost.
    void abort(const std::string& reason);

    bool is_lost() const { return is_lost_; }
    const std::string& lost_reason() const { return lost_reason_; }
    // Returns once the connection is lost (at once if it already is).
    asio::awaitable<void> wait_lost();
    // Calls `callback` (posted to the executor) when the connection is lost; at once (posted)
    // when it already is. One callback; a later call replaces it.
    void on_lost(std::function<void(std::shared_ptr<WorkerConnection>)> callback);

    // --- used by WorkerListener -------------------------------------------------------------

    // Reads and dispatches the worker's messages until the connection ends, then fails
    // everything outstanding. The task that owns the socket runs it.
    asio::awaitable<void> serve();
    // print "attached", get_worker_info, set_worker_settings (stock settings). Throws
    // WorkerLost or std::runtime_error (bad worker info).
    asio::awaitable<void> attach();
    // Starts the keepalive loop (after attach).
    void start_keepalive();

    // Sends a request and waits for its response, with a deadline; a late answer loses the
    // worker. Throws WorkerLost.
    asio::awaitable<protocol::Response> call(std::string op, protocol::Map fields,
                                             std::chrono::milliseconds timeout);

private:
    struct Slot;
    struct Running;
    struct Queued;

    void dispatch(protocol::Request request);
    // Queues a message for the writer task (sends never block their caller, so a cancelled
    // caller cannot cut a frame in half).
    void send(std::string bytes);
    void respond(std::uint64_t seq, protocol::Value result, bool is_exception = false);
    void send_request(const std::string& op, const protocol::Map& fields,
                      std::shared_ptr<Slot> slot);
    asio::awaitable<void> write_loop();
    asio::awaitable<void> keepalive_loop();
    asio::awaitable<bool> drive(Running& running, CommandResult& result,
                                std::chrono::steady_clock::time_point deadline);
    asio::awaitable<void> process(Running& running, Queued item, CommandResult& result);
    asio::awaitable<void> transfer(Running& running, Queued& item);
    asio::awaitable<void> wind_down(Running& running, CommandResult& result);
    void lose(const std::string& reason);
    core::Expected<void> set_info(const protocol::Value& info);

    asio::any_io_executor executor_;
    std::unique_ptr<io::WebSocketConnection> socket_;
    std::string name_;
    WorkerConnectionOptions options_;
    protocol::Map info_;
    std::string basedir_, system_, version_;
    std::map<std::string, std::string> command_versions_;
    protocol::PendingRequests<std::shared_ptr<Slot>> pending_;
    std::map<std::string, std::shared_ptr<Running>> running_;
    std::deque<std::string> outbox_;
    std::shared_ptr<Slot> outbox_ready_;
    asio::steady_timer lost_timer_;  // cancelled when lost: wakes wait_lost()
    io::TaskGroup tasks_;            // writer and keepalive loops
    std::function<void(std::shared_ptr<WorkerConnection>)> on_lost_;
    bool is_attached_ = false;
    bool is_lost_ = false;
    std::string lost_reason_;
};

}  // namespace kiln::process
