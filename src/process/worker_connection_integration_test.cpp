// SPDX-License-Identifier: Apache-2.0
// The master side against real workers: a WorkerListener on 127.0.0.1 port 0, and the same
// suite against kiln-worker and the unmodified Buildbot 3.7 worker (msgpack_experimental_v7):
// shell output and rc, interrupts, uploads and downloads, bad credentials, a killed worker,
// duplicate workers.
#include "io/subprocess.hpp"
#include "io/task_group.hpp"
#include "io/websocket.hpp"
#include "process/local_files.hpp"
#include "process/worker_listener.hpp"
#include "protocol/messages.hpp"

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"  // GCC bug 109224
#endif

// GCC 12 (docs/decisions/0001): values are built in named locals before co_await.

namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using kiln::process::CommandResult;
using kiln::process::RemoteCommand;
using kiln::process::UpdateEvents;
using kiln::process::WorkerConnection;
using kiln::process::WorkerListener;
using kiln::process::WorkerLost;
using kiln::protocol::Map;
using kiln::protocol::Value;
using Clock = std::chrono::steady_clock;
using Connection = std::shared_ptr<WorkerConnection>;

constexpr auto kWorkerName = "process-test-worker";
constexpr auto kPassword = "pass:word";
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

void require(bool condition, const std::string& what) {
    if (!condition) throw std::runtime_error("requirement failed: " + what);
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds duration) {
    asio::steady_timer timer(co_await asio::this_coro::executor, duration);
    co_await timer.async_wait(kUseTuple);
}

struct TempDir {
    fs::path path;
    TempDir() {
        char name[] = "/tmp/kiln-process-test-XXXXXX";
        path = ::mkdtemp(name);
    }
    ~TempDir() { fs::remove_all(path); }
};

std::string pseudo_random_bytes(std::size_t size, unsigned seed) {
    std::string bytes(size, '\0');
    std::uint32_t state = seed * 2654435761u + 1;
    for (auto& byte : bytes) {
        state = state * 1664525u + 1013904223u;
        byte = static_cast<char>(state >> 24);
    }
    return bytes;
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

void write_file(const fs::path& path, const std::string& bytes) {
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << bytes;
}

// A worker process; its output is collected (shown when a test fails). Killed (with all its
// descendants) when destroyed.
class WorkerProcess {
public:
    WorkerProcess(asio::any_io_executor executor, std::vector<std::string> argv,
                  const fs::path& workdir, std::vector<std::string> environment)
        : output_(std::make_shared<std::string>())
        , readers_(executor) {
        kiln::io::SpawnOptions options;
        options.argv = std::move(argv);
        options.workdir = workdir.string();
        options.environment = std::move(environment);
        process_ = kiln::io::Subprocess::spawn(executor, options);
        readers_.spawn(drain(process_, output_, true));
        readers_.spawn(drain(process_, output_, false));
    }
    ~WorkerProcess() { kill_all(); }
    WorkerProcess(const WorkerProcess&) = delete;
    WorkerProcess& operator=(const WorkerProcess&) = delete;

    pid_t pid() const { return process_->pid(); }
    const std::string& output() const { return *output_; }
    void kill_all() {
        if (!process_->has_exited()) process_->signal_all(SIGKILL);
    }
    asio::awaitable<kiln::io::ExitStatus> wait() {
        co_await readers_.wait();
        co_return co_await process_->wait();
    }

private:
    static asio::awaitable<void> drain(std::shared_ptr<kiln::io::Subprocess> process,
                                       std::shared_ptr<std::string> output, bool is_stdout) {
        for (;;) {
            std::optional<std::string> chunk;
            if (is_stdout)
                chunk = co_await process->read_stdout();
            else
                chunk = co_await process->read_stderr();
            if (!chunk) break;
            *output += *chunk;
        }
    }

    std::shared_ptr<kiln::io::Subprocess> process_;
    std::shared_ptr<std::string> output_;
    kiln::io::TaskGroup readers_;
};

std::vector<std::string> worker_environment(const fs::path& home) {
    return {"PATH=/usr/bin:/bin", "HOME=" + home.string(), "LANG=C.UTF-8"};
}

// Runs a tool to completion; throws with its output when it fails.
asio::awaitable<void> run_tool(std::vector<std::string> argv, fs::path workdir) {
    auto executor = co_await asio::this_coro::executor;
    WorkerProcess tool(executor, argv, workdir, worker_environment(workdir));
    auto status = co_await tool.wait();
    require(status.exit_code == 0 && status.signal == 0,
            argv[0] + " " + argv[1] + " failed: " + tool.output());
}

// kiln-worker, built beside this test.
struct KilnWorker {
    static constexpr const char* kBinary = KILN_BINARY_DIR "/app/kiln-worker";
    static asio::awaitable<std::unique_ptr<WorkerProcess>>
    start(fs::path basedir, std::uint16_t port, std::string name, std::string password) {
        auto executor = co_await asio::this_coro::executor;
        fs::create_directories(basedir);
        std::vector<std::string> create{
            kBinary,  "create", basedir.string(), "--master", "127.0.0.1:" + std::to_string(port),
            "--name", name,     "--password",     password};
        co_await run_tool(std::move(create), basedir);
        std::vector<std::string> run{kBinary, "run", basedir.string()};
        co_return std::make_unique<WorkerProcess>(executor, std::move(run), basedir,
                                                  worker_environment(basedir));
    }
};

// The unmodified Debian Buildbot 3.7 worker.
struct StockWorker {
    static asio::awaitable<std::unique_ptr<WorkerProcess>>
    start(fs::path basedir, std::uint16_t port, std::string name, std::string password) {
        auto executor = co_await asio::this_coro::executor;
        std::vector<std::string> create{"/usr/bin/python3",
                                        "/usr/bin/buildbot-worker",
                                        "create-worker",
                                        "-q",
                                        "--protocol=msgpack_experimental_v7",
                                        basedir.string(),
                                        "127.0.0.1:" + std::to_string(port),
                                        name,
                                        password};
        co_await run_tool(std::move(create), basedir.parent_path());
        std::vector<std::string> run{"/usr/bin/python3", "/usr/bin/buildbot-worker", "start",
                                     "--nodaemon", basedir.string()};
        co_return std::make_unique<WorkerProcess>(executor, std::move(run), basedir,
                                                  worker_environment(basedir));
    }
};

// Records every update, taking a little time to "store" each one.
class RecordingObserver final : public kiln::process::RemoteCommandObserver {
public:
    asio::awaitable<void> on_updates(UpdateEvents events) override {
        co_await sleep_for(5ms);
        ++messages;
        for (auto& event : events)
            events_.push_back(std::move(event));
    }
    std::string text_of(const std::string& key) const {
        std::string text;
        for (const auto& [k, value] : events_) {
            if (k != key) continue;
            auto chunk = kiln::protocol::LineChunk::from_value(value);
            if (chunk) text += chunk->text;
        }
        return text;
    }
    bool has(const std::string& key) const {
        for (const auto& [k, value] : events_)
            if (k == key) return true;
        return false;
    }
    int messages = 0;

private:
    UpdateEvents events_;
};

// A listener, a tiny worker pool (name -> connection) and the worker processes of one test.
class Harness {
public:
    Harness()
        : tasks_(context.get_executor())
        , changed_(context.get_executor()) {
        kiln::process::WorkerListenerOptions options;
        options.bind_address = "127.0.0.1";
        options.port = 0;
        options.duplicate_timeout = 1500ms;
        options.connection.keepalive_interval = 500ms;
        options.connection.keepalive_timeout = 2s;
        options.connection.request_timeout = 10s;
        options.connection.interrupt_grace = 10s;
        listener_ = std::make_unique<WorkerListener>(
            context.get_executor(), options,
            [](std::string_view name, std::string_view password) {
                return name.starts_with(kWorkerName) && password == kPassword;
            },
            [this](std::string_view name) -> Connection {
                auto it = pool.find(std::string(name));
                if (it == pool.end()) return nullptr;
                return it->second;
            },
            [this](Connection connection) {
                ++connected_count;
                pool[connection->name()] = connection;
                connection->on_lost([this](Connection lost) {
                    auto it = pool.find(lost->name());
                    if (it != pool.end() && it->second == lost) pool.erase(it);
                    changed_.notify();
                });
                changed_.notify();
            });
        tasks_.spawn(listener_->run());
    }
    ~Harness() {
        processes.clear();
        listener_->stop();
        const auto deadline = Clock::now() + 5s;
        while (tasks_.size() > 0 && Clock::now() < deadline)
            context.run_one_for(100ms);
    }

    std::uint16_t port() const { return listener_->port(); }

    // Runs `body` on the context, failing the test on an exception or after `limit`.
    void run(std::function<asio::awaitable<void>()> body, std::chrono::seconds limit = 30s) {
        bool is_done = false;
        std::exception_ptr failure;
        asio::co_spawn(context, body(), [&](std::exception_ptr error) {
            is_done = true;
            failure = error;
        });
        const auto deadline = Clock::now() + limit;
        while (!is_done && Clock::now() < deadline)
            context.run_one_for(100ms);
        if (!is_done) {
            ADD_FAILURE() << "test body did not finish within " << limit.count() << " s\n"
                          << worker_output();
            return;
        }
        if (failure) {
            try {
                std::rethrow_exception(failure);
            } catch (const std::exception& error) {
                ADD_FAILURE() << error.what() << "\n" << worker_output();
            }
        }
    }

    template <typename Worker>
    asio::awaitable<WorkerProcess*> start_worker(std::string basedir_name,
                                                 std::string name = kWorkerName,
                                                 std::string password = kPassword) {
        auto process = co_await Worker::start(dir.path / basedir_name, port(), name, password);
        processes.push_back(std::move(process));
        co_return processes.back().get();
    }

    // The attached connection of `name`, once it is in the pool.
    asio::awaitable<Connection> connected(std::string name = kWorkerName,
                                          std::chrono::milliseconds limit = 20s) {
        const auto deadline = Clock::now() + limit;
        while (!pool.contains(name)) {
            require(Clock::now() < deadline, "worker " + name + " did not connect");
            co_await wait_change(deadline);
        }
        co_return pool.at(name);
    }

    asio::awaitable<void> wait_change(Clock::time_point deadline) {
        asio::steady_timer limit(context.get_executor(), deadline);
        limit.async_wait([this](boost::system::error_code ec) {
            if (!ec) changed_.notify();
        });
        co_await changed_.wait();
    }

    std::string worker_output() const {
        std::string text;
        for (const auto& process : processes)
            text += "--- worker output ---\n" + process->output().substr(0, 4000) + "\n";
        return text;
    }

    asio::io_context context;
    TempDir dir;
    std::map<std::string, Connection> pool;
    int connected_count = 0;
    std::vector<std::unique_ptr<WorkerProcess>> processes;

private:
    kiln::io::TaskGroup tasks_;
    kiln::io::AsyncEvent changed_;
    std::unique_ptr<WorkerListener> listener_;
};

Map shell_args(const Connection& worker, Value command) {
    return Map{{"command", std::move(command)}, {"workdir", Value{worker->basedir() + "/build"}},
               {"env", Value{Map{}}},           {"want_stdout", Value{true}},
               {"want_stderr", Value{true}},    {"logfiles", Value{Map{}}},
               {"timeout", Value{120}},         {"maxTime", Value{}},
               {"sigtermTime", Value{}},        {"interruptSignal", Value{"KILL"}},
               {"usePTY", Value{false}},        {"logEnviron", Value{false}},
               {"initial_stdin", Value{}}};
}

RemoteCommand shell(const Connection& worker, const std::string& script,
                    kiln::process::RemoteCommandObserver* observer) {
    RemoteCommand command;
    command.name = "shell";
    command.builder_name = "test-builder";
    command.args = shell_args(worker, Value{script});
    command.observer = observer;
    return command;
}

template <typename Worker>
class WorkerConnectionTest : public ::testing::Test {};

using Workers = ::testing::Types<KilnWorker, StockWorker>;
class WorkerNames {
public:
    template <typename T>
    static std::string GetName(int) {
        if constexpr (std::is_same_v<T, KilnWorker>) return "kiln_worker";
        return "stock_worker";
    }
};
TYPED_TEST_SUITE(WorkerConnectionTest, Workers, WorkerNames);

TYPED_TEST(WorkerConnectionTest, attaches_and_runs_a_shell_command_with_output_and_rc) {
    Harness harness;
    harness.run([&]() -> asio::awaitable<void> {
        co_await harness.start_worker<TypeParam>("worker");
        auto worker = co_await harness.connected();
        EXPECT_FALSE(worker->basedir().empty());
        EXPECT_EQ(worker->system(), "posix");
        EXPECT_EQ(worker->command_version("shell"), "3.1");
        EXPECT_TRUE(worker->command_version("upload_file").has_value());
        EXPECT_NE(kiln::protocol::find(worker->info(), "environ"), nullptr);

        RecordingObserver observer;
        auto command = shell(worker, "echo out; echo err >&2; printf partial", &observer);
        auto result = co_await worker->run_command(std::move(command));
        EXPECT_TRUE(result.is_success()) << result.failure.value_or("");
        EXPECT_EQ(result.rc, 0);
        EXPECT_EQ(observer.text_of("stdout"), "out\npartial\n");
        EXPECT_EQ(observer.text_of("stderr"), "err\n");
        EXPECT_TRUE(observer.has("header"));
        EXPECT_TRUE(result.status.contains("elapsed"));
        EXPECT_FALSE(result.status.contains("stdout"));
        // Another command on the same connection, with a fresh id.
        auto second = shell(worker, "exit 0", nullptr);
        auto again = co_await worker->run_command(std::move(second));
        EXPECT_NE(again.command_id, result.command_id);
        EXPECT_TRUE(again.is_success());
    });
}

TYPED_TEST(WorkerConnectionTest, reports_a_failing_command_and_a_command_that_cannot_start) {
    Harness harness;
    harness.run([&]() -> asio::awaitable<void> {
        co_await harness.start_worker<TypeParam>("worker");
        auto worker = co_await harness.connected();
        RecordingObserver observer;
        auto command = shell(worker, "echo failing >&2; exit 3", &observer);
        auto result = co_await worker->run_command(std::move(command));
        EXPECT_EQ(result.rc, 3);
        EXPECT_FALSE(result.is_success());
        EXPECT_FALSE(result.failure.has_value());
        EXPECT_EQ(observer.text_of("stderr"), "failing\n");

        RemoteCommand unknown;
        unknown.name = "no_such_command";
        auto refused = co_await worker->run_command(std::move(unknown));
        EXPECT_FALSE(refused.was_started);
        EXPECT_TRUE(refused.failure.has_value());
        EXPECT_FALSE(worker->is_lost());
    });
}

TYPED_TEST(WorkerConnectionTest, interrupts_a_long_command_promptly) {
    Harness harness;
    harness.run([&]() -> asio::awaitable<void> {
        co_await harness.start_worker<TypeParam>("worker");
        auto worker = co_await harness.connected();
        RecordingObserver observer;
        auto command = shell(worker, "echo started; sleep 30", &observer);
        command.command_id = kiln::process::new_command_id();
        auto id = command.command_id;
        std::optional<CommandResult> result;
        kiln::io::TaskGroup running(harness.context.get_executor());
        running.spawn([](Connection w, RemoteCommand c,
                         std::optional<CommandResult>& out) -> asio::awaitable<void> {
            out = co_await w->run_command(std::move(c));
        }(worker, std::move(command), result));
        co_await sleep_for(1s);
        const auto interrupted_at = Clock::now();
        co_await worker->interrupt(id, "test interrupt");
        co_await running.wait();
        require(result.has_value(), "run_command returned");
        EXPECT_LT(Clock::now() - interrupted_at, 8s);
        EXPECT_TRUE(result->was_interrupted);
        EXPECT_NE(result->rc, 0);
        EXPECT_EQ(observer.text_of("stdout"), "started\n");
    });
}

TYPED_TEST(WorkerConnectionTest, cancelling_run_command_interrupts_the_command_and_waits_for_it) {
    Harness harness;
    harness.run([&]() -> asio::awaitable<void> {
        co_await harness.start_worker<TypeParam>("worker");
        auto worker = co_await harness.connected();
        RecordingObserver observer;
        auto command = shell(worker, "echo started; sleep 30", &observer);
        asio::cancellation_signal cancel;
        bool is_done = false;
        std::exception_ptr outcome;
        asio::co_spawn(harness.context, worker->run_command(std::move(command)),
                       asio::bind_cancellation_slot(cancel.slot(),
                                                    [&](std::exception_ptr error, CommandResult) {
                                                        is_done = true;
                                                        outcome = error;
                                                    }));
        co_await sleep_for(1s);
        cancel.emit(asio::cancellation_type::terminal);
        const auto deadline = Clock::now() + 8s;
        while (!is_done && Clock::now() < deadline)
            co_await sleep_for(50ms);
        require(is_done, "cancelled run_command returned");
        EXPECT_TRUE(outcome != nullptr);
        EXPECT_EQ(observer.text_of("stdout"), "started\n");  // served until complete
        EXPECT_FALSE(worker->is_lost());
    });
}

TYPED_TEST(WorkerConnectionTest, uploads_a_file_byte_for_byte) {
    Harness harness;
    harness.run([&]() -> asio::awaitable<void> {
        co_await harness.start_worker<TypeParam>("worker");
        auto worker = co_await harness.connected();
        auto content = pseudo_random_bytes(1 << 20, 7);
        fs::path source = fs::path(worker->basedir()) / "build" / "artifact.bin";
        write_file(source, content);
        auto destination = harness.dir.path / "master" / "artifact.bin";
        fs::create_directories(destination.parent_path());
        kiln::process::LocalFileWriter writer(destination);
        RemoteCommand command;
        command.name = "upload_file";
        command.args = Map{{"path", Value{source.string()}}, {"maxsize", Value{}},
                           {"blocksize", Value{262144}},     {"keepstamp", Value{false}},
                           {"workdir", Value{"build"}},      {"workersrc", Value{"artifact.bin"}}};
        command.file_writer = &writer;
        auto result = co_await worker->run_command(std::move(command));
        EXPECT_TRUE(result.is_success()) << result.failure.value_or("");
        EXPECT_TRUE(writer.is_closed());
        EXPECT_TRUE(read_file(destination) == content) << "uploaded bytes differ";
    });
}

TYPED_TEST(WorkerConnectionTest, downloads_a_file_byte_for_byte_with_its_mode) {
    Harness harness;
    harness.run([&]() -> asio::awaitable<void> {
        co_await harness.start_worker<TypeParam>("worker");
        auto worker = co_await harness.connected();
        auto content = pseudo_random_bytes(1 << 20, 11);
        auto source = harness.dir.path / "master" / "payload.bin";
        write_file(source, content);
        kiln::process::LocalFileReader reader(source);
        fs::path destination = fs::path(worker->basedir()) / "build" / "sub" / "payload.bin";
        RemoteCommand command;
        command.name = "download_file";
        command.args =
            Map{{"path", Value{destination.string()}}, {"maxsize", Value{}},
                {"blocksize", Value{16384}},           {"mode", Value{0640}},
                {"workdir", Value{"build"}},           {"workerdest", Value{"sub/payload.bin"}}};
        command.file_reader = &reader;
        auto result = co_await worker->run_command(std::move(command));
        EXPECT_TRUE(result.is_success()) << result.failure.value_or("");
        EXPECT_TRUE(read_file(destination) == content)
            << "downloaded " << fs::file_size(destination) << " bytes";
        struct stat info {};
        require(::stat(destination.c_str(), &info) == 0, "downloaded file exists");
        EXPECT_EQ(info.st_mode & 0777, 0640u);
    });
}

TYPED_TEST(WorkerConnectionTest, uploads_a_directory_and_unpacks_it) {
    Harness harness;
    harness.run([&]() -> asio::awaitable<void> {
        co_await harness.start_worker<TypeParam>("worker");
        auto worker = co_await harness.connected();
        fs::path source = fs::path(worker->basedir()) / "build" / "out";
        write_file(source / "a.txt", "alpha\n");
        write_file(source / "nested" / "deeper" / "b.bin", pseudo_random_bytes(100000, 3));
        auto destination = harness.dir.path / "master" / "out";
        kiln::process::LocalDirectoryWriter writer(
            destination, kiln::process::LocalDirectoryWriter::Compression::gzip);
        RemoteCommand command;
        command.name = "upload_directory";
        command.args = Map{{"path", Value{source.string()}}, {"maxsize", Value{}},
                           {"blocksize", Value{16384}},      {"compress", Value{"gz"}},
                           {"workdir", Value{"build"}},      {"workersrc", Value{"out"}}};
        command.directory_writer = &writer;
        auto result = co_await worker->run_command(std::move(command));
        EXPECT_TRUE(result.is_success()) << result.failure.value_or("");
        EXPECT_EQ(read_file(destination / "a.txt"), "alpha\n");
        EXPECT_TRUE(read_file(destination / "nested" / "deeper" / "b.bin") ==
                    pseudo_random_bytes(100000, 3));
    });
}

TYPED_TEST(WorkerConnectionTest, refuses_a_worker_with_a_wrong_password) {
    Harness harness;
    harness.run([&]() -> asio::awaitable<void> {
        co_await harness.start_worker<TypeParam>("worker", kWorkerName, "wrong");
        co_await sleep_for(2500ms);
        EXPECT_EQ(harness.connected_count, 0);
        EXPECT_TRUE(harness.pool.empty());
    });
}

TYPED_TEST(WorkerConnectionTest, a_killed_worker_makes_run_command_throw_worker_lost) {
    Harness harness;
    harness.run([&]() -> asio::awaitable<void> {
        auto* process = co_await harness.start_worker<TypeParam>("worker");
        auto worker = co_await harness.connected();
        auto command = shell(worker, "echo $$ > sleeper.pid; exec sleep 30", nullptr);
        bool is_lost = false;
        std::string other_error;
        kiln::io::TaskGroup running(harness.context.get_executor());
        running.spawn([](Connection w, RemoteCommand c, bool& lost,
                         std::string& error) -> asio::awaitable<void> {
            try {
                co_await w->run_command(std::move(c));
            } catch (const WorkerLost&) {
                lost = true;
            } catch (const std::exception& failure) {
                error = failure.what();
            }
        }(worker, std::move(command), is_lost, other_error));
        co_await sleep_for(1s);
        ::kill(process->pid(), SIGKILL);  // the worker only: its command's process lives on
        const auto killed_at = Clock::now();
        co_await running.wait();
        EXPECT_TRUE(is_lost) << other_error;
        EXPECT_LT(Clock::now() - killed_at, 3s);  // keepalive interval + timeout
        EXPECT_TRUE(worker->is_lost());
        co_await sleep_for(100ms);
        EXPECT_FALSE(harness.pool.contains(kWorkerName));  // on_lost reached the pool
        std::ifstream pid_file(fs::path(worker->basedir()) / "build" / "sleeper.pid");
        long sleeper = 0;
        if (pid_file >> sleeper && sleeper > 1) ::kill(static_cast<pid_t>(sleeper), SIGKILL);
    });
}

TYPED_TEST(WorkerConnectionTest, an_unanswered_keepalive_loses_the_worker_within_its_deadline) {
    Harness harness;
    harness.run([&]() -> asio::awaitable<void> {
        auto* process = co_await harness.start_worker<TypeParam>("worker");
        auto worker = co_await harness.connected();
        auto command = shell(worker, "sleep 5", nullptr);
        bool is_lost = false;
        kiln::io::TaskGroup running(harness.context.get_executor());
        running.spawn([](Connection w, RemoteCommand c, bool& lost) -> asio::awaitable<void> {
            try {
                co_await w->run_command(std::move(c));
            } catch (const WorkerLost&) {
                lost = true;
            }
        }(worker, std::move(command), is_lost));
        co_await sleep_for(300ms);
        ::kill(process->pid(), SIGSTOP);  // the socket stays open, but nothing answers
        const auto stopped_at = Clock::now();
        co_await running.wait();
        const auto took = Clock::now() - stopped_at;
        ::kill(process->pid(), SIGCONT);
        EXPECT_TRUE(is_lost);
        EXPECT_LT(took, 4s) << std::chrono::duration<double>(took).count();  // 0.5 s + 2 s
        EXPECT_GE(took, 1500ms);
    });
}

// Throws when the first update arrives, as a database that went away would.
class FailingObserver final : public kiln::process::RemoteCommandObserver {
public:
    asio::awaitable<void> on_updates(UpdateEvents) override {
        ++calls;
        throw std::runtime_error("log store unavailable");
        co_return;
    }
    int calls = 0;
};

TYPED_TEST(WorkerConnectionTest, delivers_many_updates_in_order_to_a_slow_observer) {
    Harness harness;
    harness.run([&]() -> asio::awaitable<void> {
        co_await harness.start_worker<TypeParam>("worker");
        auto worker = co_await harness.connected();
        RecordingObserver observer;
        auto command = shell(worker, "seq 1 1500000", &observer);
        auto result = co_await worker->run_command(std::move(command));
        EXPECT_TRUE(result.is_success());
        std::string expected;
        for (int i = 1; i <= 1500000; ++i)
            expected += std::to_string(i) + "\n";
        EXPECT_TRUE(observer.text_of("stdout") == expected) << "stdout differs";
        // ~10 MB in ~160 updates. Those that queue up while the observer sleeps reach it
        // together (at most 16 updates or ~1 MB per call), so more than 5 calls whatever the
        // timing.
        EXPECT_GT(observer.messages, 5);
    });
}

TYPED_TEST(WorkerConnectionTest, an_observer_failure_interrupts_the_command_and_is_rethrown) {
    Harness harness;
    harness.run([&]() -> asio::awaitable<void> {
        co_await harness.start_worker<TypeParam>("worker");
        auto worker = co_await harness.connected();
        FailingObserver observer;
        auto command = shell(worker, "seq 1 100000; sleep 30", &observer);
        const auto started = Clock::now();
        std::string error;
        try {
            co_await worker->run_command(std::move(command));
        } catch (const std::runtime_error& failure) {
            error = failure.what();
        }
        EXPECT_EQ(error, "log store unavailable");
        EXPECT_EQ(observer.calls, 1);
        EXPECT_LT(Clock::now() - started, 10s);
        EXPECT_FALSE(worker->is_lost());
    });
}

TYPED_TEST(WorkerConnectionTest, a_duplicate_is_refused_while_the_first_worker_answers) {
    Harness harness;
    harness.run([&]() -> asio::awaitable<void> {
        auto* first = co_await harness.start_worker<TypeParam>("first");
        auto original = co_await harness.connected();
        co_await harness.start_worker<TypeParam>("second");
        co_await sleep_for(3s);
        EXPECT_EQ(harness.connected_count, 1);
        EXPECT_EQ(harness.pool.at(kWorkerName), original);
        EXPECT_FALSE(original->is_lost());

        // A first worker that no longer answers is replaced by the next attempt.
        ::kill(first->pid(), SIGSTOP);
        const auto deadline = Clock::now() + 15s;
        while (harness.connected_count < 2 && Clock::now() < deadline)
            co_await sleep_for(100ms);
        ::kill(first->pid(), SIGCONT);
        EXPECT_EQ(harness.connected_count, 2);
        EXPECT_TRUE(original->is_lost());
        auto replacement = co_await harness.connected();
        EXPECT_NE(replacement, original);
        auto command = shell(replacement, "exit 0", nullptr);
        auto result = co_await replacement->run_command(std::move(command));
        EXPECT_TRUE(result.is_success());
    });
}

// --- the upgrade, without a worker -----------------------------------------------------------

asio::awaitable<int> upgrade_status(std::uint16_t port, std::optional<std::string> authorization) {
    kiln::io::WebSocketClientOptions options;
    options.host = "127.0.0.1";
    options.port = port;
    if (authorization) options.headers.emplace_back("Authorization", *authorization);
    int status = 101;
    try {
        auto connection = co_await kiln::io::connect_websocket(options);
        connection->abort();
    } catch (const kiln::io::HandshakeRefused& refused) {
        status = refused.status();
    }
    co_return status;
}

TEST(WorkerListener, answers_bad_credentials_as_the_stock_master_does) {
    Harness harness;
    harness.run([&]() -> asio::awaitable<void> {
        auto port = harness.port();
        EXPECT_EQ(co_await upgrade_status(port, std::nullopt), 401);
        EXPECT_EQ(co_await upgrade_status(port, "Bearer token"), 400);
        auto wrong = kiln::io::basic_authorization(kWorkerName, "nope");
        EXPECT_EQ(co_await upgrade_status(port, wrong), 401);
        auto unknown = kiln::io::basic_authorization("someone-else", kPassword);
        EXPECT_EQ(co_await upgrade_status(port, unknown), 401);
    });
}

TEST(WorkerListener, drops_a_worker_that_sends_garbage_and_keeps_serving) {
    Harness harness;
    harness.run([&]() -> asio::awaitable<void> {
        kiln::io::WebSocketClientOptions options;
        options.host = "127.0.0.1";
        options.port = harness.port();
        options.headers.emplace_back("Authorization",
                                     kiln::io::basic_authorization(kWorkerName, kPassword));
        auto bad = co_await kiln::io::connect_websocket(options);
        auto first = co_await bad->read();  // print "attached"
        require(first.has_value(), "the master sent its first request");
        co_await bad->send(std::string("\xc1 not msgpack"));
        auto after = co_await bad->read();
        EXPECT_FALSE(after.has_value()) << "the master kept a worker that sent garbage";
        EXPECT_EQ(harness.connected_count, 0);

        co_await harness.start_worker<KilnWorker>("worker");
        auto worker = co_await harness.connected();
        auto command = shell(worker, "exit 0", nullptr);
        auto result = co_await worker->run_command(std::move(command));
        EXPECT_TRUE(result.is_success());
    });
}

}  // namespace
