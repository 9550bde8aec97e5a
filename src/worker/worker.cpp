// SPDX-License-Identifier: Apache-2.0
#include "worker/worker.hpp"

#include "core/version.hpp"
#include "io/websocket.hpp"
#include "protocol/messages.hpp"
#include "worker/session.hpp"

#include <fstream>
#include <random>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

extern char** environ;

namespace kiln::worker {

using core::ErrorKind;
using core::fail;
using protocol::Map;
using protocol::Value;

namespace {

std::string trim(std::string_view text) {
    auto begin = text.find_first_not_of(" \t\r\n");
    if (begin == std::string_view::npos) return {};
    auto end = text.find_last_not_of(" \t\r\n");
    return std::string(text.substr(begin, end - begin + 1));
}

std::map<std::string, std::string> process_environment() {
    std::map<std::string, std::string> result;
    for (char** entry = environ; entry && *entry; ++entry) {
        std::string_view text(*entry);
        auto equals = text.find('=');
        if (equals == std::string_view::npos) continue;
        result.emplace(std::string(text.substr(0, equals)), std::string(text.substr(equals + 1)));
    }
    return result;
}

}  // namespace

core::Expected<std::pair<std::string, std::uint16_t>> parse_master_address(std::string_view text) {
    std::string host;
    std::string_view port_text;
    if (text.starts_with('[')) {
        auto close = text.find(']');
        if (close == std::string_view::npos)
            return fail(ErrorKind::bad_input, "unclosed '[' in master address");
        host = std::string(text.substr(1, close - 1));
        auto rest = text.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return fail(ErrorKind::bad_input, "expected ':' after ']'");
            port_text = rest.substr(1);
        }
    } else {
        auto colon = text.rfind(':');
        host = std::string(text.substr(0, colon));
        if (colon != std::string_view::npos) port_text = text.substr(colon + 1);
    }
    if (host.empty()) return fail(ErrorKind::bad_input, "master address has no host");
    std::uint16_t port = 9989;
    if (!port_text.empty()) {
        unsigned long value = 0;
        for (char c : port_text) {
            if (c < '0' || c > '9' || value > 65535)
                return fail(ErrorKind::bad_input, "master port must be a number from 1 to 65535");
            value = value * 10 + static_cast<unsigned long>(c - '0');
        }
        if (value == 0 || value > 65535)
            return fail(ErrorKind::bad_input, "master port must be a number from 1 to 65535");
        port = static_cast<std::uint16_t>(value);
    }
    return std::make_pair(host, port);
}

core::Expected<void> create_worker_dir(const WorkerConfig& config, bool force) {
    std::error_code ec;
    std::filesystem::create_directories(config.basedir, ec);
    if (ec)
        return fail(ErrorKind::bad_input,
                    "cannot create " + config.basedir.string() + ": " + ec.message());
    auto conf_path = config.basedir / "worker.conf";
    if (std::filesystem::exists(conf_path) && !force)
        return fail(ErrorKind::conflict, conf_path.string() + " exists (use --force to overwrite)");
    auto password_path = config.basedir / "password";
    {
        // Created with mode 0600 before anything is written into it.
        ::unlink(password_path.c_str());
        int fd = ::open(password_path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
        if (fd < 0) return fail(ErrorKind::bad_input, "cannot write " + password_path.string());
        auto written = ::write(fd, config.password.data(), config.password.size());
        ::close(fd);
        if (written != static_cast<ssize_t>(config.password.size()))
            return fail(ErrorKind::internal, "cannot write " + password_path.string());
    }
    std::ofstream conf(conf_path);
    conf << "# kiln-worker configuration (written by kiln-worker create)\n"
         << "master = "
         << (config.master_host.find(':') != std::string::npos ? "[" + config.master_host + "]"
                                                               : config.master_host)
         << ":" << config.master_port << "\n"
         << "name = " << config.name << "\n"
         << "password_file = password\n"
         << "tls = " << (config.use_tls ? "true" : "false") << "\n"
         << "tls_verify = " << (config.verify_tls ? "true" : "false") << "\n";
    if (!config.ca_file.empty()) conf << "tls_ca_file = " << config.ca_file << "\n";
    conf << "max_retry_delay = " << config.max_retry_delay << "\n"
         << "delete_leftover_dirs = " << (config.delete_leftover_dirs ? "true" : "false") << "\n";
    std::filesystem::create_directories(config.basedir / "info", ec);
    if (!conf) return fail(ErrorKind::internal, "cannot write " + conf_path.string());
    return {};
}

core::Expected<WorkerConfig> load_worker_config(const std::filesystem::path& basedir) {
    auto conf_path = basedir / "worker.conf";
    std::ifstream in(conf_path);
    if (!in)
        return fail(ErrorKind::not_found,
                    conf_path.string() + " not found (run 'kiln-worker create' first)");
    WorkerConfig config;
    config.basedir = std::filesystem::absolute(basedir).lexically_normal();
    if (config.basedir.has_filename() == false) config.basedir = config.basedir.parent_path();
    std::string line;
    int number = 0;
    std::string password_file = "password";
    auto as_bool = [](const std::string& v) { return v == "true" || v == "1" || v == "yes"; };
    while (std::getline(in, line)) {
        ++number;
        auto text = trim(line);
        if (text.empty() || text.front() == '#') continue;
        auto equals = text.find('=');
        if (equals == std::string::npos)
            return fail(ErrorKind::bad_input, conf_path.string() + ":" + std::to_string(number) +
                                                  ": expected 'key = value'");
        auto key = trim(text.substr(0, equals));
        auto value = trim(text.substr(equals + 1));
        if (key == "master") {
            auto address = parse_master_address(value);
            if (!address)
                return fail(ErrorKind::bad_input, conf_path.string() + ":" +
                                                      std::to_string(number) + ": " +
                                                      address.error().message);
            config.master_host = address->first;
            config.master_port = address->second;
        } else if (key == "name") {
            config.name = value;
        } else if (key == "password_file") {
            password_file = value;
        } else if (key == "tls") {
            config.use_tls = as_bool(value);
        } else if (key == "tls_verify") {
            config.verify_tls = as_bool(value);
        } else if (key == "tls_ca_file") {
            config.ca_file = value;
        } else if (key == "max_retry_delay") {
            config.max_retry_delay = std::stod(value);
        } else if (key == "delete_leftover_dirs") {
            config.delete_leftover_dirs = as_bool(value);
        } else {
            return fail(ErrorKind::bad_input, conf_path.string() + ":" + std::to_string(number) +
                                                  ": unknown key '" + key + "'");
        }
    }
    if (config.master_host.empty() || config.name.empty())
        return fail(ErrorKind::bad_input,
                    conf_path.string() + ": 'master' and 'name' are required");
    std::filesystem::path password_path = password_file;
    if (password_path.is_relative()) password_path = config.basedir / password_path;
    std::ifstream password(password_path);
    if (!password)
        return fail(ErrorKind::not_found,
                    "cannot read the password file " + password_path.string());
    std::getline(password, config.password, '\0');
    while (!config.password.empty() &&
           (config.password.back() == '\n' || config.password.back() == '\r'))
        config.password.pop_back();
    return config;
}

protocol::Value collect_worker_info(const WorkerConfig& config) {
    Map info;
    std::error_code ec;
    // Files in DIR/info (admin, host, ...) are sent by name, as the stock worker does.
    for (const auto& entry : std::filesystem::directory_iterator(config.basedir / "info", ec)) {
        if (!entry.is_regular_file()) continue;
        std::ifstream file(entry.path());
        std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
        info.emplace_back(entry.path().filename().string(), Value{std::move(text)});
    }
    std::ifstream os_release("/etc/os-release");
    std::string line;
    while (std::getline(os_release, line)) {
        auto equals = line.find('=');
        if (equals == std::string::npos || line.starts_with('#')) continue;
        std::string key = "os_" + line.substr(0, equals);
        for (auto& c : key)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        std::string value = line.substr(equals + 1);
        if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
            value.back() == value.front())
            value = value.substr(1, value.size() - 2);
        info.emplace_back(key, Value{value});
    }
    Map environ_map;
    for (const auto& [key, value] : process_environment())
        environ_map.emplace_back(key, Value{value});
    info.emplace_back("environ", Value{std::move(environ_map)});
    info.emplace_back("system", Value{"posix"});
    info.emplace_back("basedir", Value{config.basedir.string()});
    info.emplace_back("numcpus", Value{static_cast<long long>(
                                     std::max(1u, std::thread::hardware_concurrency()))});
    info.emplace_back("version", Value{"kiln-worker " + std::string(core::kVersion)});
    Map commands;
    for (const auto& name : protocol::stock_worker_commands())
        commands.emplace_back(name, Value{"3.1"});
    info.emplace_back("worker_commands", Value{std::move(commands)});
    info.emplace_back("delete_leftover_dirs", Value{config.delete_leftover_dirs ? 1 : 0});
    return Value{std::move(info)};
}

std::chrono::milliseconds reconnect_delay(int attempt, double max_delay, double jitter) {
    double delay = 1.0;
    for (int i = 0; i < attempt && delay < max_delay; ++i)
        delay *= 1.5;
    // The jitter spreads reconnecting workers out but never takes the delay past the cap.
    delay = std::min(delay + jitter, max_delay);
    return std::chrono::milliseconds(static_cast<long long>(delay * 1000));
}

struct Worker::Impl {
    asio::any_io_executor executor;
    WorkerConfig config;
    bool stopping = false;
    io::WebSocketConnection* connection = nullptr;
    Session* session = nullptr;
    std::unique_ptr<asio::steady_timer> retry_timer;
};

Worker::Worker(asio::any_io_executor executor, WorkerConfig config)
    : impl_(std::make_unique<Impl>()) {
    impl_->executor = executor;
    impl_->config = std::move(config);
    impl_->retry_timer = std::make_unique<asio::steady_timer>(executor);
}

Worker::~Worker() = default;

void Worker::stop() {
    impl_->stopping = true;
    impl_->retry_timer->cancel();
    if (impl_->session) impl_->session->interrupt_all("worker shutting down");
    if (impl_->connection) impl_->connection->abort();
}

asio::awaitable<void> Worker::run() {
    auto& impl = *impl_;
    std::mt19937 random(std::random_device{}());
    std::uniform_real_distribution<double> jitter(0.0, 1.0);
    int attempt = 0;
    while (!impl.stopping) {
        io::WebSocketClientOptions options;
        options.host = impl.config.master_host;
        options.port = impl.config.master_port;
        options.use_tls = impl.config.use_tls;
        options.verify_peer = impl.config.verify_tls;
        options.ca_file = impl.config.ca_file;
        options.headers = {
            {"Authorization", io::basic_authorization(impl.config.name, impl.config.password)}};
        try {
            spdlog::info("connecting to {}:{} as '{}'", options.host, options.port,
                         impl.config.name);
            auto connection = co_await io::connect_websocket(options);
            attempt = 0;  // a connection that got through resets the back-off
            spdlog::info("connected to the master");
            Session session(WorkerEnvironment{impl.executor, impl.config.basedir.string(),
                                              process_environment()},
                            *connection, collect_worker_info(impl.config), [this] { stop(); });
            impl.connection = connection.get();
            impl.session = &session;
            co_await session.run();
            impl.session = nullptr;
            impl.connection = nullptr;
            if (impl.stopping) break;
            spdlog::warn("lost the connection to the master");
        } catch (const io::HandshakeRefused& error) {
            spdlog::error("{} (check the worker name and password)", error.what());
        } catch (const std::exception& error) {
            spdlog::warn("cannot connect to {}:{}: {}", options.host, options.port, error.what());
        }
        if (impl.stopping) break;
        auto delay = reconnect_delay(++attempt, impl.config.max_retry_delay, jitter(random));
        spdlog::info("reconnecting in {:.1f} s", static_cast<double>(delay.count()) / 1000.0);
        impl.retry_timer->expires_after(delay);
        co_await impl.retry_timer->async_wait(asio::as_tuple(asio::use_awaitable));
    }
    spdlog::info("worker stopped");
}

}  // namespace kiln::worker
