// SPDX-License-Identifier: Apache-2.0
#include "master/cli.hpp"

#include "config/master_config.hpp"
#include "core/version.hpp"
#include "db/database.hpp"
#include "io/daemon.hpp"
#include "master/control.hpp"
#include "master/master.hpp"
#include "master/sendchange.hpp"
#include "master/try_client.hpp"
#include "master/user_commands.hpp"

#include <CLI/CLI.hpp>
#include <chrono>
#include <csignal>
#include <fstream>
#include <iostream>
#include <random>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/json/serialize.hpp>

#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

namespace kiln::master {

namespace asio = boost::asio;
namespace fs = std::filesystem;

namespace {

constexpr const char* kPidFile = "kiln.pid";
constexpr const char* kLogFile = "kiln.log";
constexpr const char* kOutFile = "kiln.out";  // stdout/stderr of the daemon

std::string random_password() {
    static constexpr char kAlphabet[] = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    std::random_device random;
    std::uniform_int_distribution<std::size_t> pick(0, sizeof kAlphabet - 2);
    std::string password;
    for (int i = 0; i < 24; ++i)
        password += kAlphabet[pick(random)];
    return password;
}

std::optional<config::MasterConfig> load_or_report(const fs::path& dir) {
    if (!fs::exists(dir / "master.lua")) {
        std::cerr << "kiln: " << (dir / "master.lua").string()
                  << ": no such file (is this a master directory? see 'kiln create-master')\n";
        return std::nullopt;
    }
    auto loaded = config::load_master_config(dir);
    for (const auto& error : loaded.errors)
        std::cerr << error.to_string() << "\n";
    if (!loaded.config) {
        std::cerr << "kiln: " << loaded.errors.size() << " configuration error(s)\n";
        return std::nullopt;
    }
    return std::move(loaded.config);
}

// Opens the database; creates the schema of a new one; refuses an old one.
std::unique_ptr<db::Database> open_for_start(const config::MasterConfig& config) {
    auto opened = db::open_database(config.db_url, config.master_dir);
    if (!opened) {
        std::cerr << "kiln: db.url '" << config.db_url << "': " << opened.error().message << "\n";
        return nullptr;
    }
    auto database = std::move(*opened);
    const auto version = db::schema_version(*database);
    if (version == 0) {
        db::upgrade_schema(*database);
    } else if (version < db::latest_schema_version()) {
        std::cerr << "kiln: the database is at schema version " << version << ", this kiln needs "
                  << db::latest_schema_version() << ": run 'kiln upgrade-master "
                  << config.master_dir.string() << "' first\n";
        return nullptr;
    }
    return database;
}

void setup_logging(const fs::path& dir, bool to_file) {
    std::shared_ptr<spdlog::logger> logger;
    if (to_file)
        logger = std::make_shared<spdlog::logger>(
            "kiln", std::make_shared<spdlog::sinks::rotating_file_sink_mt>(
                        (dir / kLogFile).string(), 10 * 1024 * 1024, 5));
    else
        logger = std::make_shared<spdlog::logger>(
            "kiln", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
    logger->flush_on(spdlog::level::info);
    spdlog::set_default_logger(logger);
    if (const char* level = std::getenv("KILN_LOG_LEVEL"))
        spdlog::set_level(spdlog::level::from_str(level));
}

int start(const fs::path& dir, bool foreground) {
    auto config = load_or_report(dir);
    if (!config) return 1;
    // Detach before any thread exists (the database starts threads).
    if (!foreground) {
        if (auto detached = io::daemonize(dir / kPidFile, dir / kOutFile); !detached) {
            std::cerr << "kiln: " << detached.error().message << "\n";
            return 1;
        }
    } else if (auto written = io::write_pidfile(dir / kPidFile); !written) {
        std::cerr << "kiln: " << written.error().message << "\n";
        return 1;
    }
    setup_logging(dir, !foreground);
    spdlog::info("kiln {} starting in {}", core::kVersion, fs::absolute(dir).string());
    auto database = open_for_start(*config);
    if (!database) {
        spdlog::error("the database could not be opened");
        return 1;
    }
    asio::io_context io(1);
    Master master(io.get_executor(), std::move(*config), std::move(database));
    std::optional<ControlServer> control;
    try {
        control.emplace(io.get_executor(), dir, master);
    } catch (const std::exception& failure) {
        spdlog::error("control socket {}: {}", (dir / kControlSocketName).string(), failure.what());
        return 1;
    }
    asio::signal_set stop_signals(io, SIGTERM, SIGINT);
    asio::signal_set reconfig_signal(io, SIGHUP);
    int interrupts = 0;
    std::function<void()> wait_stop = [&] {
        stop_signals.async_wait([&](boost::system::error_code ec, int signal) {
            if (ec) return;
            if (signal == SIGINT && ++interrupts > 1) {
                spdlog::warn("second interrupt: stopping running builds now");
                master.request_immediate_stop();
            } else {
                spdlog::info("signal {}: graceful stop (running builds may finish)", signal);
                master.request_stop(std::nullopt);
            }
            wait_stop();
        });
    };
    wait_stop();
    std::function<void()> wait_reconfig = [&] {
        reconfig_signal.async_wait([&](boost::system::error_code ec, int) {
            if (ec) return;
            asio::co_spawn(
                io, [&]() -> asio::awaitable<void> { (void)co_await master.reconfig(); },
                asio::detached);
            wait_reconfig();
        });
    };
    wait_reconfig();
    int exit_code = 0;
    asio::co_spawn(io, control->run(), asio::detached);
    asio::co_spawn(io, master.run(), [&](std::exception_ptr error) {
        if (error) {
            try {
                std::rethrow_exception(error);
            } catch (const std::exception& failure) {
                spdlog::critical("master failed: {}", failure.what());
            }
            exit_code = 1;
        }
        control->stop();
        stop_signals.cancel();
        reconfig_signal.cancel();
    });
    io.run();
    std::error_code ignored;
    fs::remove(dir / kPidFile, ignored);
    return exit_code;
}

int stop(const fs::path& dir, std::optional<int> timeout) {
    const auto pid = io::running_pid(dir / kPidFile);
    if (!pid) {
        std::cerr << "kiln: no master is running in " << dir.string() << "\n";
        return 1;
    }
    boost::json::object request{{"command", "stop"}};
    if (timeout) request["timeout"] = *timeout;
    auto reply = control_request(dir, request, std::chrono::seconds(10));
    if (!reply) {
        std::cerr << "kiln: " << reply.error().message << "; sending SIGTERM to " << *pid << "\n";
        ::kill(*pid, SIGTERM);
    }
    std::cout << "waiting for the master (pid " << *pid << ") to stop" << std::endl;
    // Running builds may finish; with --timeout the master stops them itself.
    while (io::running_pid(dir / kPidFile) == pid && ::kill(*pid, 0) == 0)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::cout << "master stopped\n";
    return 0;
}

int create_master(const fs::path& dir, bool force) {
    std::error_code error;
    fs::create_directories(dir, error);
    if (error) {
        std::cerr << "kiln: cannot create " << dir.string() << ": " << error.message() << "\n";
        return 1;
    }
    const auto config_path = dir / "master.lua";
    if (fs::exists(config_path) && !force) {
        std::cerr << "kiln: " << config_path.string() << " exists (use --force to overwrite it)\n";
        return 1;
    }
    std::ofstream(config_path) << config::sample_master_config();
    fs::create_directories(dir / "secrets");
    fs::permissions(dir / "secrets", fs::perms::owner_all);
    const auto secret = dir / "secrets" / "local-worker";
    if (!fs::exists(secret)) {
        const auto old_mask = ::umask(0077);
        std::ofstream(secret) << random_password() << "\n";
        ::umask(old_mask);
    }
    auto config = load_or_report(dir);
    if (!config) return 1;
    auto database = open_for_start(*config);
    if (!database) return 1;
    database->close();
    std::cout << "created master in " << fs::absolute(dir).string() << "\n"
              << "  config:   " << config_path.string() << "\n"
              << "  database: " << config->db_url << " (schema version "
              << db::latest_schema_version() << ")\n"
              << "  worker password for local-worker: " << secret.string() << "\n"
              << "start it with: kiln start " << dir.string() << "\n";
    return 0;
}

int upgrade_master(const fs::path& dir) {
    auto config = load_or_report(dir);
    if (!config) return 1;
    if (io::running_pid(dir / kPidFile)) {
        std::cerr << "kiln: stop the master before upgrading its database\n";
        return 1;
    }
    auto opened = db::open_database(config->db_url, config->master_dir);
    if (!opened) {
        std::cerr << "kiln: db.url '" << config->db_url << "': " << opened.error().message << "\n";
        return 1;
    }
    try {
        const auto before = db::schema_version(**opened);
        const auto after = db::upgrade_schema(**opened);
        (*opened)->close();
        std::cout << "database schema: version " << before << " -> " << after << "\n";
    } catch (const std::exception& failure) {
        std::cerr << "kiln: upgrade failed: " << failure.what() << "\n";
        return 1;
    }
    return 0;
}

int print_reply(const core::Expected<boost::json::object>& reply) {
    if (!reply) {
        std::cerr << "kiln: " << reply.error().message << "\n";
        return 1;
    }
    const auto* ok = reply->if_contains("ok");
    if (!ok || !ok->is_bool() || !ok->get_bool()) {
        const auto* error = reply->if_contains("error");
        std::cerr << "kiln: "
                  << (error && error->is_string() ? std::string(error->get_string()) : "failed")
                  << "\n";
        return 1;
    }
    return 0;
}

}  // namespace

int run_cli(int argc, char** argv) {
    CLI::App app{"kiln: a continuous-integration master that speaks Buildbot's interfaces"};
    app.set_version_flag("--version", std::string(core::kVersion));
    app.require_subcommand(1);
    std::string dir;
    bool force_overwrite = false;
    bool foreground = false;
    std::optional<int> timeout;
    std::string builder, reason, scheduler, owner;
    std::vector<std::string> properties;

    auto* create =
        app.add_subcommand("create-master", "Create a master directory with a sample master.lua");
    create->add_option("DIR", dir, "Master directory")->required();
    create->add_flag("--force", force_overwrite, "Overwrite an existing master.lua");
    auto* start_cmd =
        app.add_subcommand("start", "Start the master (in the background unless --foreground)");
    start_cmd->add_option("DIR", dir, "Master directory")
        ->required()
        ->check(CLI::ExistingDirectory);
    start_cmd->add_flag("--foreground", foreground, "Stay in the foreground and log to stderr");
    auto* stop_cmd =
        app.add_subcommand("stop", "Stop the master gracefully (running builds finish)");
    stop_cmd->add_option("DIR", dir, "Master directory")->required()->check(CLI::ExistingDirectory);
    stop_cmd
        ->add_option("--timeout", timeout,
                     "Seconds to let builds run; then they are stopped (RETRY)")
        ->check(CLI::NonNegativeNumber);
    auto* restart_cmd = app.add_subcommand("restart", "Stop the master, then start it again");
    restart_cmd->add_option("DIR", dir, "Master directory")
        ->required()
        ->check(CLI::ExistingDirectory);
    restart_cmd->add_option("--timeout", timeout, "As for stop")->check(CLI::NonNegativeNumber);
    auto* check_cmd = app.add_subcommand("checkconfig", "Check master.lua and report every error");
    check_cmd->add_option("DIR", dir, "Master directory")
        ->required()
        ->check(CLI::ExistingDirectory);
    auto* reconfig_cmd =
        app.add_subcommand("reconfig", "Apply a changed master.lua to the running master");
    reconfig_cmd->add_option("DIR", dir, "Master directory")
        ->required()
        ->check(CLI::ExistingDirectory);
    auto* upgrade_cmd =
        app.add_subcommand("upgrade-master", "Bring the database schema up to date");
    upgrade_cmd->add_option("DIR", dir, "Master directory")
        ->required()
        ->check(CLI::ExistingDirectory);
    auto* force_cmd = app.add_subcommand("force", "Force a build through a force scheduler");
    force_cmd->add_option("DIR", dir, "Master directory")
        ->required()
        ->check(CLI::ExistingDirectory);
    force_cmd->add_option("--builder", builder, "Builder to build")->required();
    force_cmd->add_option("--reason", reason, "Why (default: the scheduler's)");
    force_cmd->add_option("--scheduler", scheduler,
                          "Force scheduler (default: the first listing the builder)");
    force_cmd->add_option("--owner", owner, "Who asks (default: kiln-cli)");
    force_cmd->add_option("--property", properties,
                          "A scheduler parameter as NAME=VALUE (repeatable)");
    std::string worker_name, worker_action;
    auto* worker_cmd =
        app.add_subcommand("worker", "Pause, unpause, stop (gracefully) or kill a worker");
    worker_cmd->add_option("DIR", dir, "Master directory")
        ->required()
        ->check(CLI::ExistingDirectory);
    worker_cmd->add_option("NAME", worker_name, "Worker name")->required();
    worker_cmd->add_option("ACTION", worker_action, "pause | unpause | stop | kill")
        ->required()
        ->check(CLI::IsMember({"pause", "unpause", "stop", "kill"}));
    auto* status_cmd = app.add_subcommand("status", "Show the running master's workers and builds");
    status_cmd->add_option("DIR", dir, "Master directory")
        ->required()
        ->check(CLI::ExistingDirectory);

    SendChangeOptions sent_change;
    auto* sendchange_cmd = app.add_subcommand(
        "sendchange", "Send a change to a master's base change hook (www.change_hook.base)");
    sendchange_cmd
        ->add_option("--master,-m", sent_change.master,
                     "The master's web URL, e.g. http://localhost:8010/")
        ->required();
    sendchange_cmd->add_option("--auth,-a", sent_change.auth,
                               "USER:PASSWORD for www.change_hook_auth");
    sendchange_cmd->add_option("--who,-W", sent_change.who, "Author of the change");
    sendchange_cmd->add_option("--repository,-R", sent_change.repository, "Repository URL");
    sendchange_cmd->add_option("--branch,-b", sent_change.branch, "Branch");
    sendchange_cmd->add_option("--revision,-r", sent_change.revision, "Revision");
    sendchange_cmd->add_option("--comments,-c", sent_change.comments, "Log message");
    sendchange_cmd->add_option("--logfile,-F", sent_change.logfile,
                               "Read the log message from this file ('-': standard input)");
    sendchange_cmd->add_option("--category,-C", sent_change.category, "Category");
    sendchange_cmd->add_option("--project,-P", sent_change.project, "Project");
    sendchange_cmd->add_option("--codebase", sent_change.codebase, "Codebase");
    sendchange_cmd->add_option("--revlink,-l", sent_change.revlink, "Link to the revision");
    sendchange_cmd->add_option("--files", sent_change.files, "A changed file (repeatable)");
    sendchange_cmd->add_option("--property,-p", sent_change.properties,
                               "A property as NAME=VALUE (repeatable)");
    sendchange_cmd->add_option("--when", sent_change.when, "Commit time, seconds since the epoch");
    sendchange_cmd->add_option("FILES", sent_change.files, "Changed files");

    TryOptions try_options;
    auto* try_cmd = app.add_subcommand(
        "try", "Build the uncommitted change of this git working copy on a try scheduler");
    try_cmd
        ->add_option("--master,-m", try_options.master,
                     "The master's web URL, e.g. http://localhost:8010/")
        ->required();
    try_cmd->add_option("--auth,-a", try_options.auth, "USER:PASSWORD of a web user");
    try_cmd->add_option("--token", try_options.token, "An API token (kiln user token)");
    try_cmd->add_option("--scheduler,-s", try_options.scheduler,
                        "The try scheduler's name (default: try)");
    try_cmd->add_option("--builder,-b", try_options.builders, "A builder to run (repeatable)")
        ->required();
    try_cmd->add_option("--branch", try_options.branch,
                        "The branch to build on (default: the upstream branch's name)");
    try_cmd->add_option("--baserev", try_options.baserev,
                        "The base revision (default: merge-base of HEAD and its upstream)");
    try_cmd->add_option("--repository", try_options.repository, "Repository (for the stamp)");
    try_cmd->add_option("--project", try_options.project, "Project (for the stamp)");
    try_cmd->add_option("--who", try_options.who, "The patch's author (default: your user)");
    try_cmd->add_option("--comment,-C", try_options.comment, "A comment on the job");
    try_cmd->add_option("--property,-p", try_options.properties,
                        "A property as NAME=VALUE (repeatable)");
    try_cmd->add_option("--patchlevel", try_options.patch_level, "The patch's -p level")
        ->check(CLI::Range(0, 100));
    try_cmd->add_flag("!--no-untracked", try_options.untracked,
                      "Leave untracked files out of the diff");
    try_cmd->add_option("--dir", try_options.dir, "The git working copy (default: .)");
    try_cmd->add_flag("--wait,-w", try_options.wait,
                      "Wait for the builds; exit 0 only if all succeeded");

    UserCommand user_command;
    std::string users_file;
    auto* user_cmd = app.add_subcommand(
        "user", "Manage the web users of the users file (www.auth = k.auth.users_file)");
    user_cmd->require_subcommand(1);
    auto add_user_arguments = [&](CLI::App* command, bool with_name) {
        command->add_option("DIR", dir, "Master directory")
            ->required()
            ->check(CLI::ExistingDirectory);
        if (with_name) command->add_option("NAME", user_command.name, "User name")->required();
        command->add_option("--file", users_file,
                            "The users file (default: the one master.lua names, else users.txt)");
    };
    auto* user_add_cmd = user_cmd->add_subcommand(
        "add", "Add a user; the password is read from standard input (asked when a terminal)");
    add_user_arguments(user_add_cmd, true);
    user_add_cmd->add_option("--email", user_command.email, "E-mail address");
    user_add_cmd->add_option("--full-name", user_command.full_name, "Full name");
    user_add_cmd->add_option("--group", user_command.groups, "A group (repeatable)");
    user_add_cmd->add_flag("--replace", user_command.replace,
                           "Update an existing user (unset fields are kept)");
    user_add_cmd->add_flag("--no-password", user_command.no_password,
                           "No password: the user logs in with API tokens only");
    user_add_cmd->add_flag("--keep-password", user_command.keep_password,
                           "With --replace: keep the password (none is read)");
    auto* user_remove_cmd = user_cmd->add_subcommand("remove", "Remove a user and its API tokens");
    add_user_arguments(user_remove_cmd, true);
    auto* user_list_cmd = user_cmd->add_subcommand("list", "List the users");
    add_user_arguments(user_list_cmd, false);
    auto* user_token_cmd = user_cmd->add_subcommand(
        "token", "Make an API token for a user and print it (once: only its digest is kept)");
    add_user_arguments(user_token_cmd, true);
    user_token_cmd->add_flag("--revoke-all", user_command.revoke_all,
                             "Remove every API token of the user instead");

    CLI11_PARSE(app, argc, argv);
    const fs::path path(dir);

    if (*sendchange_cmd) return send_change(sent_change, std::cout, std::cerr);
    if (*try_cmd) return run_try(try_options, std::cout, std::cerr);
    if (*create) return create_master(path, force_overwrite);
    if (*start_cmd) return start(path, foreground);
    if (*stop_cmd) return stop(path, timeout);
    if (*restart_cmd) {
        if (io::running_pid(path / kPidFile) && stop(path, timeout) != 0) return 1;
        return start(path, false);
    }
    if (*check_cmd) {
        auto config = load_or_report(path);
        if (!config) return 1;
        std::cout << "config OK: " << config->builders.size() << " builder(s), "
                  << config->workers.size() << " worker(s), " << config->schedulers.size()
                  << " scheduler(s)\n";
        return 0;
    }
    if (*reconfig_cmd) {
        auto reply = control_request(path, {{"command", "reconfig"}}, std::chrono::seconds(60));
        const int code = print_reply(reply);
        if (code == 0) {
            const auto& changes = reply->at("changes").as_array();
            std::cout << "reconfig applied: " << changes.size() << " change(s)\n";
            for (const auto& change : changes)
                std::cout << "  " << change.as_string().c_str() << "\n";
        }
        return code;
    }
    if (*upgrade_cmd) return upgrade_master(path);
    if (*user_cmd) {
        user_command.dir = path;
        if (!users_file.empty()) user_command.file = fs::path(users_file);
        if (*user_add_cmd)
            return user_add(user_command, std::cin, ::isatty(STDIN_FILENO) != 0, std::cout,
                            std::cerr);
        if (*user_remove_cmd) return user_remove(user_command, std::cout, std::cerr);
        if (*user_list_cmd) return user_list(user_command, std::cout, std::cerr);
        const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
        return user_token(user_command, now, std::cout, std::cerr);
    }
    if (*force_cmd) {
        boost::json::array pairs;
        for (const auto& property : properties) {
            const auto equals = property.find('=');
            if (equals == std::string::npos || equals == 0) {
                std::cerr << "kiln: --property '" << property << "': expected NAME=VALUE\n";
                return 2;
            }
            pairs.push_back(boost::json::array{boost::json::string(property.substr(0, equals)),
                                               boost::json::string(property.substr(equals + 1))});
        }
        boost::json::object request{{"command", "force"}, {"builder", builder},
                                    {"reason", reason},   {"scheduler", scheduler},
                                    {"owner", owner},     {"properties", std::move(pairs)}};
        auto reply = control_request(path, request, std::chrono::seconds(30));
        const int code = print_reply(reply);
        if (code == 0) std::cout << "buildset " << reply->at("bsid").as_int64() << " submitted\n";
        return code;
    }
    if (*worker_cmd) {
        boost::json::object request{
            {"command", "worker"}, {"name", worker_name}, {"action", worker_action}};
        return print_reply(control_request(path, request, std::chrono::seconds(10)));
    }
    if (*status_cmd) {
        auto reply = control_request(path, {{"command", "status"}}, std::chrono::seconds(10));
        const int code = print_reply(reply);
        if (code == 0) std::cout << boost::json::serialize(*reply) << "\n";
        return code;
    }
    return 2;
}

}  // namespace kiln::master
