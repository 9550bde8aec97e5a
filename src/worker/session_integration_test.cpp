// SPDX-License-Identifier: Apache-2.0
// A real Worker against a scripted fake master over loopback WebSockets: authentication,
// worker info, error answers, connection drops and reconnects, shell output, file transfers in
// both directions, interrupts and shutdown (worker-protocol.md §2-§4).
#include "io/task_group.hpp"
#include "io/websocket.hpp"
#include "protocol/messages.hpp"
#include "worker/worker.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

// GCC 12 reports a false -Wmismatched-new-delete for Asio's coroutine frames, which have a
// class-specific operator new/delete (GCC bug 109224, fixed in GCC 13).
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

// GCC 12 (docs/decisions/0001): inside the coroutines below, maps and responses are built in
// named locals (or by helpers outside coroutines) before any co_await, and co_await never
// appears in a conditional expression.

namespace kiln::protocol {
// Readable values in gtest failure messages.
static void PrintTo(const Value& value, std::ostream* out) { *out << value.debug_string(); }
}  // namespace kiln::protocol

namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using kiln::io::UpgradeRequest;
using kiln::io::WebSocketConnection;
using kiln::io::WebSocketServer;
using kiln::protocol::Binary;
using kiln::protocol::Map;
using kiln::protocol::Request;
using kiln::protocol::Response;
using kiln::protocol::Value;
using kiln::protocol::WorkerRequest;
using kiln::worker::Worker;
using kiln::worker::WorkerConfig;
using Executor = asio::any_io_executor;
using Clock = std::chrono::steady_clock;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr auto kTestTimeLimit = 30s;
constexpr auto kWindDownLimit = 20s;
constexpr auto kWorkerName = "kiln-test-worker";
constexpr auto kWorkerPassword = "s3cret:with-colon";

// A failed precondition inside a test coroutine (ASSERT_* cannot be used there).
void require(bool condition, const std::string& what) {
    if (!condition) throw std::runtime_error("requirement failed: " + what);
}

// A flag that coroutines can wait for.
class Flag {
public:
    explicit Flag(const Executor& executor)
        : event_(executor) {}
    void set() {
        is_set_ = true;
        event_.notify();
    }
    bool is_set() const { return is_set_; }
    asio::awaitable<void> wait() {
        while (!is_set_)
            co_await event_.wait();
    }

private:
    kiln::io::AsyncEvent event_;
    bool is_set_ = false;
};

// Answers one worker request (nil when no answer is given).
using Answer = std::function<Value(const WorkerRequest&)>;

// The fake master's side of one WebSocket connection: sends requests with its own sequence
// counter, and records every request and response the worker sends.
class MasterConnection {
public:
    MasterConnection(const Executor& executor, std::unique_ptr<WebSocketConnection> socket,
                     UpgradeRequest upgrade)
        : socket_(std::move(socket))
        , upgrade_(std::move(upgrade))
        , changed_(executor) {}

    const UpgradeRequest& upgrade() const { return upgrade_; }
    // Protocol violations seen from the worker (undecodable messages, malformed requests,
    // answers to requests never sent or answered twice).
    const std::vector<std::string>& problems() const { return problems_; }
    bool is_closed() const { return is_closed_; }
    // Worker requests received and not yet taken by next_request().
    std::size_t unread_requests() const { return requests_.size(); }

    // Records what the worker sends until the connection ends (the server's connection task).
    asio::awaitable<void> read_all() {
        while (auto message = co_await socket_->read()) {
            record(message->data);
            changed_.notify();
        }
        is_closed_ = true;
        changed_.notify();
    }

    asio::awaitable<void> wait_closed() {
        while (!is_closed_)
            co_await changed_.wait();
    }

    asio::awaitable<void> send_raw(std::string bytes) { co_await socket_->send(std::move(bytes)); }

    asio::awaitable<std::uint64_t> send(std::string op, Map fields) {
        auto seq = next_seq_++;
        auto bytes = kiln::protocol::encode_request(op, seq, fields);
        co_await socket_->send(std::move(bytes));
        co_return seq;
    }

    asio::awaitable<Response> response_to(std::uint64_t seq) {
        while (!responses_.contains(seq)) {
            if (is_closed_)
                throw std::runtime_error("connection closed before the response to " +
                                         std::to_string(seq));
            co_await changed_.wait();
        }
        co_return responses_.at(seq);
    }

    asio::awaitable<Response> call(std::string op, Map fields) {
        auto seq = co_await send(std::move(op), std::move(fields));
        co_return co_await response_to(seq);
    }
    asio::awaitable<Response> call(std::string op) {
        Map no_fields;
        co_return co_await call(std::move(op), std::move(no_fields));
    }

    // The next request from the worker, with its typed view.
    asio::awaitable<std::pair<Request, WorkerRequest>> next_request() {
        while (requests_.empty()) {
            if (is_closed_) throw std::runtime_error("connection closed while awaiting a request");
            co_await changed_.wait();
        }
        auto request = std::move(requests_.front());
        requests_.pop_front();
        auto typed = kiln::protocol::parse_worker_request(request);
        require(typed.has_value(), "the worker sent a malformed '" + request.op + "' request");
        co_return std::make_pair(std::move(request), std::move(*typed));
    }

    asio::awaitable<void> respond(std::uint64_t seq, Value result) {
        Response response;
        response.seq_number = seq;
        response.result = std::move(result);
        auto bytes = kiln::protocol::encode_response(response);
        co_await socket_->send(std::move(bytes));
    }

    // Answers every worker request (with `answer`, else nil) until `complete` for
    // `command_id`; returns them all in arrival order.
    asio::awaitable<std::vector<WorkerRequest>> serve_until_complete(std::string command_id,
                                                                     Answer answer = {}) {
        std::vector<WorkerRequest> served;
        for (;;) {
            auto [request, typed] = co_await next_request();
            Value result;
            if (answer) result = answer(typed);
            co_await respond(request.seq_number, std::move(result));
            served.push_back(typed);
            auto* complete = std::get_if<kiln::protocol::Complete>(&typed);
            if (complete && complete->command_id == command_id) co_return served;
        }
    }

private:
    void record(const std::string& bytes) {
        auto decoded = kiln::protocol::decode_message(bytes);
        if (!decoded) {
            problems_.push_back("undecodable message: " + decoded.error().message);
            return;
        }
        if (auto* response = std::get_if<Response>(&*decoded)) {
            if (response->seq_number >= next_seq_ || responses_.contains(response->seq_number))
                problems_.push_back("unexpected response " + std::to_string(response->seq_number));
            responses_.emplace(response->seq_number, std::move(*response));
            return;
        }
        auto& request = std::get<Request>(*decoded);
        if (!kiln::protocol::parse_worker_request(request))
            problems_.push_back("malformed request '" + request.op + "'");
        requests_.push_back(std::move(request));
    }

    std::unique_ptr<WebSocketConnection> socket_;
    UpgradeRequest upgrade_;
    kiln::io::AsyncEvent changed_;
    std::uint64_t next_seq_ = 0;
    std::deque<Request> requests_;
    std::map<std::uint64_t, Response> responses_;
    std::vector<std::string> problems_;
    bool is_closed_ = false;
};

// A WebSocket server on 127.0.0.1 port 0 that accepts the test worker's credentials and hands
// each connection to the test in order of arrival.
class FakeMaster {
public:
    explicit FakeMaster(const Executor& executor)
        : executor_(executor)
        , arrived_(executor)
        , server_(executor, loopback(), authorize, [this](auto socket, auto upgrade) {
            return serve(std::move(socket), std::move(upgrade));
        }) {}

    std::uint16_t port() const { return server_.port(); }
    asio::awaitable<void> run() { co_await server_.run(); }
    void stop() { server_.stop(); }
    // Every connection so far, in order of arrival.
    const std::vector<std::shared_ptr<MasterConnection>>& connections() const {
        return connections_;
    }

    // The next connection from the worker.
    asio::awaitable<std::shared_ptr<MasterConnection>> accept() {
        while (taken_ == connections_.size())
            co_await arrived_.wait();
        co_return connections_[taken_++];
    }

private:
    static kiln::io::WebSocketServerOptions loopback() {
        kiln::io::WebSocketServerOptions options;
        options.bind_address = "127.0.0.1";
        options.port = 0;
        return options;
    }

    static int authorize(const UpgradeRequest& request) {
        if (!request.authorization) return 401;
        auto credentials = kiln::io::parse_basic_authorization(*request.authorization);
        if (!credentials) return 401;
        return *credentials == std::pair<std::string, std::string>{kWorkerName, kWorkerPassword}
                   ? 101
                   : 401;
    }

    asio::awaitable<void> serve(std::unique_ptr<WebSocketConnection> socket,
                                UpgradeRequest upgrade) {
        auto connection =
            std::make_shared<MasterConnection>(executor_, std::move(socket), std::move(upgrade));
        connections_.push_back(connection);
        arrived_.notify();
        co_await connection->read_all();
    }

    Executor executor_;
    kiln::io::AsyncEvent arrived_;
    std::vector<std::shared_ptr<MasterConnection>> connections_;
    std::size_t taken_ = 0;
    WebSocketServer server_;
};

struct TempDir {
    fs::path path;
    TempDir() {
        char name[] = "/tmp/kiln-session-test-XXXXXX";
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

// The standard output of a shell command (and whether it exited with 0).
std::pair<std::string, bool> capture(const std::string& command) {
    std::string output;
    FILE* pipe = ::popen(command.c_str(), "r");
    if (!pipe) return {output, false};
    char buffer[4096];
    while (auto n = std::fread(buffer, 1, sizeof buffer, pipe))
        output.append(buffer, n);
    return {output, ::pclose(pipe) == 0};
}

// --- request fields (built outside coroutines) ----------------------------------------------

Map start_fields(const std::string& command_id, const std::string& name, Map args) {
    return {{"command_id", Value{command_id}},
            {"command_name", Value{name}},
            {"args", Value{std::move(args)}},
            {"builder_name", Value{"builder"}}};
}

// All the keys the stock master sends for `shell`.
Map shell_args(const std::string& command, const fs::path& workdir) {
    return {{"command", Value{command}},  {"workdir", Value{workdir.string()}},
            {"env", Value{Map{}}},        {"want_stdout", Value{true}},
            {"want_stderr", Value{true}}, {"logfiles", Value{Map{}}},
            {"timeout", Value{60}},       {"maxTime", Value{}},
            {"sigtermTime", Value{}},     {"interruptSignal", Value{"KILL"}},
            {"usePTY", Value{false}},     {"logEnviron", Value{true}},
            {"initial_stdin", Value{}}};
}

Map transfer_args(const fs::path& path, std::int64_t blocksize) {
    return {{"path", Value{path.string()}},
            {"maxsize", Value{}},
            {"blocksize", Value{blocksize}},
            {"workdir", Value{"build"}}};
}

Map interrupt_fields(const std::string& command_id) {
    return {{"builder_name", Value{"builder"}},
            {"command_id", Value{command_id}},
            {"why", Value{"stopped by the test"}}};
}

// Stock settings, but batches sent after 0.1 s instead of 5 s.
Map quick_output_settings() {
    auto stock = kiln::protocol::stock_worker_settings();
    Map args{{"newline_re", Value{stock.newline_re}},
             {"max_line_length", Value{stock.max_line_length}},
             {"buffer_timeout", Value{0.1}},
             {"buffer_size", Value{stock.buffer_size}}};
    return {{"args", Value{std::move(args)}}};
}

// --- reading what the worker sent -----------------------------------------------------------

// Every [key, value] of every `update`, in order.
std::vector<std::pair<std::string, Value>> updates_in(const std::vector<WorkerRequest>& requests) {
    std::vector<std::pair<std::string, Value>> all;
    for (const auto& request : requests)
        if (auto* update = std::get_if<kiln::protocol::Update>(&request))
            all.insert(all.end(), update->updates.begin(), update->updates.end());
    return all;
}

// The joined text of a line-oriented update key (stdout, stderr, header).
std::string text_of(const std::vector<WorkerRequest>& requests, const std::string& key) {
    std::string text;
    for (const auto& [k, value] : updates_in(requests))
        if (k == key) {
            auto chunk = kiln::protocol::LineChunk::from_value(value);
            if (chunk) text += chunk->text;
        }
    return text;
}

// Every value sent under `key`.
std::vector<Value> values_of(const std::vector<WorkerRequest>& requests, const std::string& key) {
    std::vector<Value> values;
    for (const auto& [k, value] : updates_in(requests))
        if (k == key) values.push_back(value);
    return values;
}

template <typename Op>
std::vector<Op> requests_of(const std::vector<WorkerRequest>& requests) {
    std::vector<Op> found;
    for (const auto& request : requests)
        if (auto* op = std::get_if<Op>(&request)) found.push_back(*op);
    return found;
}

// The last request must be the command's `complete`, with nil args.
void expect_completed_without_failure(const std::vector<WorkerRequest>& requests) {
    ASSERT_FALSE(requests.empty());
    auto* complete = std::get_if<kiln::protocol::Complete>(&requests.back());
    ASSERT_NE(complete, nullptr);
    EXPECT_EQ(complete->failure, std::nullopt);
}

// --- the harness ----------------------------------------------------------------------------

// A fake master and a real Worker (basedir in a temp dir) on one io_context.
class WorkerHarness : public ::testing::Test {
protected:
    WorkerHarness()
        : master_(io_.get_executor())
        , worker_(io_.get_executor(), config()) {}

    WorkerConfig config() const {
        WorkerConfig config;
        config.basedir = basedir_.path;
        config.master_host = "127.0.0.1";
        config.master_port = master_.port();
        config.name = kWorkerName;
        config.password = kWorkerPassword;
        config.max_retry_delay = 1.0;
        return config;
    }

    // Runs the master, the worker and `body` until the body ends (bounded), then stops the
    // worker and the master and checks that both wind down and that every connection saw a
    // clean protocol.
    void run(const std::function<asio::awaitable<void>()>& body) {
        bool master_finished = false;
        bool body_finished = false;
        std::exception_ptr body_error;
        asio::co_spawn(io_, master_.run(), [&](std::exception_ptr) { master_finished = true; });
        asio::co_spawn(io_, worker_.run(), [&](std::exception_ptr error) {
            worker_error_ = error;
            worker_finished_.set();
        });
        asio::co_spawn(io_, body(), [&](std::exception_ptr error) {
            body_finished = true;
            body_error = error;
        });
        run_until([&] { return body_finished; }, kTestTimeLimit);
        EXPECT_TRUE(body_finished) << "the test did not finish within its time limit";
        if (body_error) {
            try {
                std::rethrow_exception(body_error);
            } catch (const std::exception& failure) {
                ADD_FAILURE() << "the test threw: " << failure.what();
            }
        }
        worker_.stop();
        master_.stop();
        run_until([&] { return worker_finished_.is_set() && master_finished; }, kWindDownLimit);
        EXPECT_TRUE(worker_finished_.is_set()) << "Worker::run() did not return after stop()";
        EXPECT_TRUE(master_finished) << "the fake master did not stop";
        EXPECT_FALSE(worker_error_) << "Worker::run() threw";
        for (const auto& connection : master_.connections())
            EXPECT_THAT(connection->problems(), IsEmpty());
    }

    void run_until(const std::function<bool()>& done, Clock::duration limit) {
        auto deadline = Clock::now() + limit;
        while (!done() && Clock::now() < deadline)
            io_.run_one_until(deadline);
    }

    asio::io_context io_;
    TempDir basedir_;
    FakeMaster master_;
    Worker worker_;
    Flag worker_finished_{io_.get_executor()};
    std::exception_ptr worker_error_;
};

class WorkerSession : public WorkerHarness {};
class WorkerConnection : public WorkerHarness {};

// --- tests ----------------------------------------------------------------------------------

TEST_F(WorkerSession, authenticates_with_basic_credentials_and_describes_itself) {
    run([&]() -> asio::awaitable<void> {
        auto connection = co_await master_.accept();
        require(connection->upgrade().authorization.has_value(), "an Authorization header");
        auto credentials =
            kiln::io::parse_basic_authorization(*connection->upgrade().authorization);
        auto expected = std::make_pair(std::string(kWorkerName), std::string(kWorkerPassword));
        EXPECT_EQ(credentials, expected);

        auto info = co_await connection->call("get_worker_info");
        EXPECT_FALSE(info.is_exception);
        require(info.result.is_map(), "worker info is a map");
        const auto* basedir = info.result.find("basedir");
        require(basedir && basedir->is_str(), "basedir is a str");
        EXPECT_EQ(*basedir->if_str(), basedir_.path.string());
        const auto* system = info.result.find("system");
        require(system && system->is_str(), "system is a str");
        EXPECT_EQ(*system->if_str(), "posix");
        const auto* numcpus = info.result.find("numcpus");
        require(numcpus && numcpus->is_int(), "numcpus is an int");
        EXPECT_GE(*numcpus->as_int(), 1);
        const auto* version = info.result.find("version");
        require(version && version->is_str(), "version is a str");
        EXPECT_FALSE(version->if_str()->empty());

        const auto* environ_map = info.result.find("environ");
        require(environ_map && environ_map->is_map(), "environ is a map");
        const char* path = std::getenv("PATH");
        require(path != nullptr, "the test runs with PATH set");
        const auto* sent_path = environ_map->find("PATH");
        require(sent_path && sent_path->is_str(), "environ has PATH as a str");
        EXPECT_EQ(*sent_path->if_str(), path);

        const auto* commands = info.result.find("worker_commands");
        require(commands && commands->is_map(), "worker_commands is a map");
        const std::vector<std::string> stock_names = {
            "shell",        "uploadFile",    "upload_file", "uploadDirectory", "upload_directory",
            "downloadFile", "download_file", "mkdir",       "rmdir",           "cpdir",
            "stat",         "glob",          "listdir",     "rmfile"};
        EXPECT_EQ(commands->if_map()->size(), stock_names.size());
        for (const auto& name : stock_names) {
            const auto* version_of = commands->find(name);
            EXPECT_TRUE(version_of && version_of->is_str() && *version_of->if_str() == "3.1")
                << name << " is not announced at version 3.1";
        }
    });
}

TEST_F(WorkerSession, answers_an_unknown_op_with_an_exception_and_stays_connected) {
    run([&]() -> asio::awaitable<void> {
        auto connection = co_await master_.accept();
        auto unknown = co_await connection->call("no_such_op");
        EXPECT_TRUE(unknown.is_exception);
        EXPECT_EQ(unknown.result, Value{"Command no_such_op does not exist."});

        auto keepalive = co_await connection->call("keepalive");
        EXPECT_FALSE(keepalive.is_exception);
        EXPECT_TRUE(keepalive.result.is_nil());
    });
}

TEST_F(WorkerSession, refuses_an_unknown_command_name_and_a_mkdir_without_paths) {
    run([&]() -> asio::awaitable<void> {
        auto connection = co_await master_.accept();
        auto unknown_fields = start_fields("1", "x", Map{});
        auto unknown = co_await connection->call("start_command", std::move(unknown_fields));
        EXPECT_TRUE(unknown.is_exception);
        EXPECT_EQ(unknown.result, Value{"unrecognized WorkerCommand 'x'"});

        auto mkdir_fields = start_fields("2", "mkdir", Map{});
        auto mkdir = co_await connection->call("start_command", std::move(mkdir_fields));
        EXPECT_TRUE(mkdir.is_exception);
        require(mkdir.result.is_str(), "the mkdir error is a str");
        EXPECT_THAT(*mkdir.result.if_str(), HasSubstr("paths"));

        // Neither command ran: no update or complete arrives before a later round trip.
        auto keepalive = co_await connection->call("keepalive");
        EXPECT_FALSE(keepalive.is_exception);
        EXPECT_EQ(connection->unread_requests(), 0u);
    });
}

TEST_F(WorkerSession, runs_a_shell_command_and_sends_its_output_rc_and_complete) {
    run([&]() -> asio::awaitable<void> {
        auto connection = co_await master_.accept();
        auto fields = start_fields("1", "shell", shell_args("printf 'a\\nb'", basedir_.path / "b"));
        auto start = co_await connection->send("start_command", std::move(fields));
        auto requests = co_await connection->serve_until_complete("1");
        auto started = co_await connection->response_to(start);

        EXPECT_FALSE(started.is_exception);
        EXPECT_TRUE(started.result.is_nil());
        EXPECT_EQ(text_of(requests, "stdout"), "a\nb\n");
        EXPECT_EQ(values_of(requests, "rc"), std::vector<Value>{Value{0}});
        expect_completed_without_failure(requests);
    });
}

TEST_F(WorkerSession, downloads_a_file_with_its_mode_and_uploads_it_back_byte_for_byte) {
    const auto payload = pseudo_random_bytes(100000, 7);
    const auto target = basedir_.path / "build" / "sub" / "payload.bin";
    constexpr std::int64_t kBlocksize = 16384;
    run([&]() -> asio::awaitable<void> {
        auto connection = co_await master_.accept();

        // download_file: the master hands out the payload in chunks of at most `length`.
        std::size_t offset = 0;
        std::vector<std::int64_t> lengths;
        Answer hand_out = [&](const WorkerRequest& request) -> Value {
            auto* read = std::get_if<kiln::protocol::ReadFile>(&request);
            if (!read) return Value{};
            lengths.push_back(read->length);
            auto size = std::min<std::size_t>(static_cast<std::size_t>(read->length),
                                              payload.size() - offset);
            auto chunk = payload.substr(offset, size);
            offset += size;
            return Value{Binary{std::move(chunk)}};
        };
        auto download_args = transfer_args(target, kBlocksize);
        download_args.emplace_back("mode", Value{0640});
        auto download_fields = start_fields("1", "download_file", std::move(download_args));
        auto download_start =
            co_await connection->send("start_command", std::move(download_fields));
        auto download = co_await connection->serve_until_complete("1", hand_out);
        auto download_started = co_await connection->response_to(download_start);

        EXPECT_FALSE(download_started.is_exception);
        EXPECT_EQ(offset, payload.size());
        // Seven chunks of data, then one read answered with the empty bin (EOF).
        EXPECT_EQ(lengths.size(), 8u);
        for (auto length : lengths)
            EXPECT_EQ(length, kBlocksize);
        EXPECT_EQ(requests_of<kiln::protocol::ReadFileClose>(download).size(), 1u);
        EXPECT_EQ(values_of(download, "rc"), std::vector<Value>{Value{0}});
        expect_completed_without_failure(download);
        EXPECT_TRUE(read_file(target) == payload) << "the downloaded file differs from the payload";
        struct stat status {};
        require(::stat(target.c_str(), &status) == 0, "the downloaded file exists");
        EXPECT_EQ(status.st_mode & 07777, 0640u);

        // upload_file of the same file: the chunks reassemble to the payload.
        auto upload_fields = start_fields("2", "upload_file", transfer_args(target, kBlocksize));
        auto upload_start = co_await connection->send("start_command", std::move(upload_fields));
        auto upload = co_await connection->serve_until_complete("2");
        auto upload_started = co_await connection->response_to(upload_start);

        EXPECT_FALSE(upload_started.is_exception);
        std::string uploaded;
        for (const auto& write : requests_of<kiln::protocol::UploadFileWrite>(upload)) {
            EXPECT_LE(write.data.size(), static_cast<std::size_t>(kBlocksize));
            uploaded += write.data;
        }
        EXPECT_TRUE(uploaded == payload)
            << "the uploaded bytes differ from the file (" << uploaded.size() << " bytes)";
        EXPECT_EQ(requests_of<kiln::protocol::UploadFileClose>(upload).size(), 1u);
        EXPECT_EQ(values_of(upload, "rc"), std::vector<Value>{Value{0}});
        expect_completed_without_failure(upload);
    });
}

TEST_F(WorkerSession, uploads_a_directory_as_a_gzipped_tar_of_its_files) {
    const auto tree = basedir_.path / "build" / "tree";
    write_file(tree / "a.txt", "first\n");
    write_file(tree / "sub" / "b.txt", "second\n");
    write_file(tree / "sub" / "deeper" / "c.bin", pseudo_random_bytes(50000, 3));
    TempDir received;
    const auto archive = received.path / "upload.tar.gz";
    run([&]() -> asio::awaitable<void> {
        auto connection = co_await master_.accept();
        auto args = transfer_args(tree, 16384);
        args.emplace_back("compress", Value{"gz"});
        auto fields = start_fields("1", "upload_directory", std::move(args));
        auto start = co_await connection->send("start_command", std::move(fields));
        auto requests = co_await connection->serve_until_complete("1");
        auto started = co_await connection->response_to(start);

        EXPECT_FALSE(started.is_exception);
        std::string bytes;
        for (const auto& write : requests_of<kiln::protocol::UploadDirectoryWrite>(requests))
            bytes += write.data;
        write_file(archive, bytes);
        EXPECT_EQ(requests_of<kiln::protocol::UploadDirectoryUnpack>(requests).size(), 1u);
        EXPECT_EQ(values_of(requests, "rc"), std::vector<Value>{Value{0}});
        expect_completed_without_failure(requests);
    });

    auto [listing, listed] = capture("tar -tzf '" + archive.string() + "'");
    ASSERT_TRUE(listed) << "tar -tzf failed on the uploaded archive";
    std::set<std::string> members;
    std::istringstream lines(listing);
    for (std::string line; std::getline(lines, line);) {
        if (line.starts_with("./")) line.erase(0, 2);
        if (!line.empty() && !line.ends_with('/')) members.insert(line);
    }
    EXPECT_EQ(members, (std::set<std::string>{"a.txt", "sub/b.txt", "sub/deeper/c.bin"}));
}

TEST_F(WorkerSession, interrupt_stops_a_running_command_with_rc_minus_one_and_no_elapsed) {
    run([&]() -> asio::awaitable<void> {
        auto connection = co_await master_.accept();
        auto settings_fields = quick_output_settings();
        auto settings =
            co_await connection->call("set_worker_settings", std::move(settings_fields));
        require(!settings.is_exception, "set_worker_settings accepted");

        auto fields =
            start_fields("1", "shell", shell_args("echo started; sleep 30", basedir_.path / "b"));
        auto start = co_await connection->send("start_command", std::move(fields));
        // Waits until the command's output shows that the sleep is running.
        std::vector<WorkerRequest> requests;
        while (text_of(requests, "stdout").empty()) {
            auto [request, typed] = co_await connection->next_request();
            co_await connection->respond(request.seq_number, Value{});
            requests.push_back(std::move(typed));
        }
        auto started = co_await connection->response_to(start);
        EXPECT_FALSE(started.is_exception);

        auto interrupted_at = Clock::now();
        auto stop_fields = interrupt_fields("1");
        auto interrupt = co_await connection->send("interrupt_command", std::move(stop_fields));
        auto rest = co_await connection->serve_until_complete("1");
        auto finished_after = Clock::now() - interrupted_at;
        auto answer = co_await connection->response_to(interrupt);
        requests.insert(requests.end(), rest.begin(), rest.end());

        EXPECT_FALSE(answer.is_exception);
        EXPECT_LT(finished_after, 5s);
        EXPECT_EQ(text_of(requests, "stdout"), "started\n");
        EXPECT_EQ(values_of(requests, "rc"), std::vector<Value>{Value{-1}});
        EXPECT_THAT(values_of(requests, "elapsed"), IsEmpty());
    });
}

TEST_F(WorkerConnection, drops_and_reconnects_after_a_malformed_message) {
    run([&]() -> asio::awaitable<void> {
        auto first = co_await master_.accept();
        // 0xc1 is never used in msgpack.
        co_await first->send_raw(std::string("\xc1\x01\x02 not msgpack", 15));
        co_await first->wait_closed();

        auto second = co_await master_.accept();
        auto keepalive = co_await second->call("keepalive");
        EXPECT_FALSE(keepalive.is_exception);
        EXPECT_EQ(master_.connections().size(), 2u);
    });
}

TEST_F(WorkerConnection, drops_and_reconnects_after_a_response_to_an_unknown_request) {
    run([&]() -> asio::awaitable<void> {
        auto first = co_await master_.accept();
        Response stray;
        stray.seq_number = 77;
        auto bytes = kiln::protocol::encode_response(stray);
        co_await first->send_raw(std::move(bytes));
        co_await first->wait_closed();

        auto second = co_await master_.accept();
        auto info = co_await second->call("get_worker_info");
        EXPECT_FALSE(info.is_exception);
        EXPECT_EQ(master_.connections().size(), 2u);
    });
}

TEST_F(WorkerConnection, stops_the_worker_when_the_master_sends_shutdown) {
    run([&]() -> asio::awaitable<void> {
        auto connection = co_await master_.accept();
        auto answer = co_await connection->call("shutdown");
        EXPECT_FALSE(answer.is_exception);
        EXPECT_TRUE(answer.result.is_nil());

        co_await worker_finished_.wait();  // Worker::run() returned by itself
        co_await connection->wait_closed();
        EXPECT_EQ(master_.connections().size(), 1u) << "the worker reconnected after shutdown";
    });
}

}  // namespace
