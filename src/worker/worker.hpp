// SPDX-License-Identifier: Apache-2.0
// The worker: its configuration (worker.conf in the base directory), the information it
// reports to the master, and the connect / serve / reconnect loop.
#pragma once

#include "core/expected.hpp"
#include "protocol/value.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

namespace kiln::worker {

namespace asio = boost::asio;

struct WorkerConfig {
    std::filesystem::path basedir;
    std::string master_host;
    std::uint16_t master_port = 9989;
    std::string name;
    std::string password;
    bool use_tls = false;
    bool verify_tls = true;
    std::string ca_file;
    double max_retry_delay = 60;
    bool delete_leftover_dirs = false;
};

// "HOST:PORT" (or "HOST" with the default port 9989); IPv6 as "[addr]:port".
core::Expected<std::pair<std::string, std::uint16_t>> parse_master_address(std::string_view text);

// Writes DIR/worker.conf and DIR/password (mode 0600). Refuses to overwrite an existing
// worker.conf unless `force`.
core::Expected<void> create_worker_dir(const WorkerConfig& config, bool force);
// Reads DIR/worker.conf and the password file it names.
core::Expected<WorkerConfig> load_worker_config(const std::filesystem::path& basedir);

// The get_worker_info answer: basedir, environ, system, version, numcpus, worker_commands,
// delete_leftover_dirs, the files of DIR/info and os_* keys from /etc/os-release.
protocol::Value collect_worker_info(const WorkerConfig& config);

// The delay before reconnect attempt `attempt` (1, 2, ...): min(1.5^n, max) + U(0, 1) s.
std::chrono::milliseconds reconnect_delay(int attempt, double max_delay, double jitter);

class Worker {
public:
    Worker(asio::any_io_executor executor, WorkerConfig config);
    ~Worker();

    // Connects and serves the master until stop() or a master's `shutdown`; reconnects with
    // back-off when the connection fails or ends.
    asio::awaitable<void> run();

    // Stops reconnecting, interrupts running commands and closes the connection.
    void stop();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace kiln::worker
