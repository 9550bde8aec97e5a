// SPDX-License-Identifier: Apache-2.0
// kiln-worker: parses the command line, then makes one call into kiln::worker.
#include "core/version.hpp"
#include "io/daemon.hpp"
#include "worker/worker.hpp"

#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <spdlog/spdlog.h>

namespace {

namespace asio = boost::asio;
using kiln::worker::WorkerConfig;

int fail(const std::string& message) {
    std::cerr << "kiln-worker: " << message << "\n";
    return 1;
}

int run_worker(const std::filesystem::path& basedir) {
    auto config = kiln::worker::load_worker_config(basedir);
    if (!config) return fail(config.error().message);
    std::signal(SIGPIPE, SIG_IGN);
    asio::io_context context;
    kiln::worker::Worker worker(context.get_executor(), *config);
    asio::signal_set signals(context, SIGINT, SIGTERM);
    signals.async_wait([&](boost::system::error_code ec, int signal) {
        if (ec) return;
        spdlog::info("signal {}: stopping", signal);
        worker.stop();
    });
    int exit_code = 0;
    asio::co_spawn(context, worker.run(), [&](std::exception_ptr error) {
        signals.cancel();
        if (!error) return;
        try {
            std::rethrow_exception(error);
        } catch (const std::exception& e) {
            spdlog::critical("worker failed: {}", e.what());
            exit_code = 1;
        }
    });
    context.run();
    return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"kiln-worker: runs the commands a Kiln or Buildbot master sends it"};
    app.set_version_flag("--version", std::string(kiln::core::kVersion));
    app.require_subcommand(1);

    WorkerConfig config;
    std::string basedir;
    std::string master;
    std::string password_file;
    bool force = false;
    auto* create = app.add_subcommand("create", "Create a worker base directory");
    create->add_option("DIR", basedir, "Worker base directory")->required();
    create->add_option("--master", master, "Master address HOST:PORT")->required();
    create->add_option("--name", config.name, "Worker name, as configured on the master")
        ->required();
    auto* password_option = create->add_option("--password", config.password, "Worker password");
    create->add_option("--password-file", password_file, "Read the password from this file")
        ->excludes(password_option)
        ->check(CLI::ExistingFile);
    create->add_flag("--tls", config.use_tls, "Connect with TLS (wss://)");
    create->add_option("--ca-file", config.ca_file, "Extra trusted CA certificate (PEM) for TLS");
    create->add_flag("--delete-leftover-dirs", config.delete_leftover_dirs,
                     "Let the master remove directories it does not know in the base directory");
    create
        ->add_option("--max-retry-delay", config.max_retry_delay,
                     "Longest reconnect delay, seconds")
        ->check(CLI::Range(1.0, 3600.0));
    create->add_flag("--force", force, "Overwrite an existing worker.conf");

    auto* start = app.add_subcommand("start", "Start the worker in the background");
    start->add_option("DIR", basedir, "Worker base directory")
        ->required()
        ->check(CLI::ExistingDirectory);
    auto* stop = app.add_subcommand("stop", "Stop a worker started with 'start'");
    stop->add_option("DIR", basedir, "Worker base directory")
        ->required()
        ->check(CLI::ExistingDirectory);
    int stop_timeout = 30;
    stop->add_option("--timeout", stop_timeout, "Seconds to wait before killing it")
        ->check(CLI::PositiveNumber);
    auto* run = app.add_subcommand("run", "Run the worker in the foreground");
    run->add_option("DIR", basedir, "Worker base directory")
        ->required()
        ->check(CLI::ExistingDirectory);

    CLI11_PARSE(app, argc, argv);
    std::filesystem::path dir = basedir;

    if (create->parsed()) {
        if (config.name.find(':') != std::string::npos) return fail("--name must not contain ':'");
        if (!password_file.empty()) {
            std::ifstream in(password_file);
            std::getline(in, config.password);
        } else if (config.password.empty()) {
            return fail("--password or --password-file is required");
        }
        auto address = kiln::worker::parse_master_address(master);
        if (!address) return fail("--master: " + address.error().message);
        config.master_host = address->first;
        config.master_port = address->second;
        config.basedir = dir;
        auto created = kiln::worker::create_worker_dir(config, force);
        if (!created) return fail(created.error().message);
        std::cout << "created worker in " << std::filesystem::absolute(dir).string() << "\n";
        return 0;
    }
    if (stop->parsed()) {
        auto stopped =
            kiln::io::stop_process(dir / "worker.pid", std::chrono::seconds(stop_timeout));
        if (!stopped) return fail(stopped.error().message);
        std::cout << "worker stopped\n";
        return 0;
    }
    if (start->parsed()) {
        auto loaded =
            kiln::worker::load_worker_config(dir);  // report config errors before detaching
        if (!loaded) return fail(loaded.error().message);
        auto detached = kiln::io::daemonize(dir / "worker.pid", dir / "worker.log");
        if (!detached) return fail(detached.error().message);
        int code = run_worker(dir);
        std::filesystem::remove(dir / "worker.pid");
        return code;
    }
    auto pid = kiln::io::write_pidfile(dir / "worker.pid");
    if (!pid) return fail(pid.error().message);
    int code = run_worker(dir);
    std::filesystem::remove(dir / "worker.pid");
    return code;
}
