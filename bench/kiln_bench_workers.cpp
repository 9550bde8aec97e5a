// SPDX-License-Identifier: Apache-2.0
// kiln-bench-workers: many simulated workers in one process, for bench/workers_bench.py. Each
// is a real kiln::worker::Worker (the code kiln-worker runs: the WebSocket handshake with HTTP
// Basic auth, the msgpack worker protocol, get_worker_info, setBuilderList, keepalives, running
// commands), all sharing one thread, so that one machine can attach 10,000 workers to a
// master. Not installed and not a user command.
//
//   kiln-bench-workers --master 127.0.0.1:PORT --count N [--first 1] [--prefix w]
//                      --password P --basedir DIR
//
// The workers are PREFIX<first> .. PREFIX<first+N-1>, each with its base directory
// DIR/PREFIX<i>. Runs until SIGINT or SIGTERM, then stops every worker and exits.
#include "worker/worker.hpp"

#include <CLI/CLI.hpp>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <spdlog/spdlog.h>

namespace asio = boost::asio;

int main(int argc, char** argv) {
    CLI::App app{"kiln-bench-workers: many simulated workers in one process (benchmarks)"};
    std::string master;
    std::string password;
    std::string basedir;
    std::string prefix = "w";
    int count = 0;
    int first = 1;
    app.add_option("--master", master, "Master address HOST:PORT")->required();
    app.add_option("--count", count, "How many workers")->required()->check(CLI::Range(1, 100000));
    app.add_option("--first", first, "Number of the first worker")->check(CLI::Range(0, 1000000));
    app.add_option("--prefix", prefix, "Worker names are PREFIX<number>");
    app.add_option("--password", password, "Every worker's password")->required();
    app.add_option("--basedir", basedir, "Directory of the workers' base directories")->required();
    CLI11_PARSE(app, argc, argv);

    auto address = kiln::worker::parse_master_address(master);
    if (!address) {
        std::cerr << "kiln-bench-workers: " << address.error().message << "\n";
        return 2;
    }
    spdlog::set_level(spdlog::level::warn);  // 10,000 "connecting" lines say nothing

    asio::io_context io(1);
    std::vector<std::unique_ptr<kiln::worker::Worker>> workers;
    workers.reserve(static_cast<std::size_t>(count));
    for (int i = first; i < first + count; ++i) {
        kiln::worker::WorkerConfig config;
        config.name = prefix + std::to_string(i);
        config.basedir = std::filesystem::path(basedir) / config.name;
        config.master_host = address.value().first;
        config.master_port = address.value().second;
        config.password = password;
        config.max_retry_delay = 5;
        std::error_code error;
        std::filesystem::create_directories(config.basedir, error);
        if (error) {
            std::cerr << "kiln-bench-workers: " << config.basedir << ": " << error.message()
                      << "\n";
            return 1;
        }
        workers.push_back(std::make_unique<kiln::worker::Worker>(io.get_executor(), config));
        asio::co_spawn(io, workers.back()->run(), asio::detached);
    }
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&workers](const boost::system::error_code& error, int) {
        if (error) return;
        for (auto& worker : workers)
            worker->stop();
    });
    io.run();
    return 0;
}
