// SPDX-License-Identifier: Apache-2.0
// Real child processes: kills reach every descendant, including ones that ignore SIGTERM or
// leave the process group; output and rc arrive as the stock worker sends them.
#include "worker/command.hpp"

#include <csignal>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>

using namespace kiln::worker;
using kiln::protocol::Array;
using kiln::protocol::Map;
using kiln::protocol::Response;
using kiln::protocol::Value;
namespace asio = boost::asio;

namespace {

// The I/O seam: records what a command sends instead of sending it to a master.
class RecordingLink final : public MasterLink {
public:
    asio::awaitable<Response> call(std::string op, Map fields) override {
        calls.emplace_back(std::move(op), std::move(fields));
        co_return Response{};
    }
    asio::awaitable<void> notify(std::string op, Map fields) override {
        if (op == "update")
            for (const auto& pair : *protocol_find(fields, "args")->if_array())
                updates.emplace_back(std::string(*(*pair.if_array())[0].as_text()),
                                     (*pair.if_array())[1]);
        co_return;
    }
    // Updates arrive encoded (from the line chunks, without Values): decoded as the master does.
    asio::awaitable<void> notify_encoded(std::string message) override {
        kiln::protocol::end_request(0, message);
        auto decoded = kiln::protocol::decode_message(message);
        if (!decoded) throw std::runtime_error("undecodable update: " + decoded.error().message);
        auto& request = std::get<kiln::protocol::Request>(*decoded);
        co_await notify(request.op, std::move(request.fields));
    }
    static const Value* protocol_find(const Map& m, std::string_view key) {
        return kiln::protocol::find(m, key);
    }
    std::string text_of(const std::string& key) const {
        std::string text;
        for (const auto& [k, v] : updates)
            if (k == key) text += *v.if_array()->front().as_text();
        return text;
    }
    std::optional<std::int64_t> rc() const {
        for (const auto& [k, v] : updates)
            if (k == "rc") return v.as_int();
        return std::nullopt;
    }
    std::vector<std::pair<std::string, Map>> calls;
    std::vector<std::pair<std::string, Value>> updates;
};

struct TempDir {
    std::filesystem::path path;
    TempDir() {
        char name[] = "/tmp/kiln-process-test-XXXXXX";
        path = ::mkdtemp(name);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};

bool is_alive(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) return false;
    auto close = line.rfind(')');
    return close != std::string::npos && line[close + 2] != 'Z';
}

std::vector<pid_t> read_pids(const std::filesystem::path& file) {
    std::ifstream in(file);
    std::vector<pid_t> pids;
    long pid = 0;
    while (in >> pid)
        pids.push_back(static_cast<pid_t>(pid));
    return pids;
}

// Starts three grandchildren that ignore SIGTERM (one of them in a session of its own),
// writes their pids, then waits forever without output.
Map stubborn_command(const std::filesystem::path& dir, Map extra) {
    std::string script = "for i in 1 2; do (trap '' TERM; exec sleep 300) & echo $! >> pids; done; "
                         "(trap '' TERM; setsid sleep 300 & echo $! >> pids; wait) & "
                         "trap '' TERM; echo started; sleep 1; echo ready; wait";
    Map args{
        {"command", Value{script}}, {"workdir", Value{dir.string()}}, {"logEnviron", Value{false}}};
    for (auto& entry : extra)
        args.push_back(std::move(entry));
    if (!kiln::protocol::find(args, "timeout")) args.emplace_back("timeout", Value{});
    return args;
}

struct CommandRun {
    RecordingLink link;
    std::unique_ptr<Command> command;
};

void run_command(asio::io_context& context, CommandRun& run, const Map& args,
                 std::chrono::milliseconds interrupt_after = std::chrono::milliseconds(0)) {
    WorkerEnvironment environment{context.get_executor(), "/tmp", {{"PATH", "/usr/bin:/bin"}}};
    auto command = make_command(environment, run.link, "1", "shell", args);
    ASSERT_TRUE(command) << command.error().message;
    run.command = std::move(*command);
    CommandOutput output(context.get_executor(), run.link, "1", OutputSettings{4096, 0.2, 65536});
    bool done = false;
    asio::co_spawn(
        context,
        [&]() -> asio::awaitable<void> {
            co_await run.command->run(output);
            co_await output.flush();
        },
        [&](std::exception_ptr error) {
            done = true;
            if (error) std::rethrow_exception(error);
        });
    asio::steady_timer timer(context, interrupt_after);
    if (interrupt_after.count() > 0)
        timer.async_wait([&](boost::system::error_code) { run.command->interrupt("test"); });
    context.run_for(std::chrono::seconds(30));
    ASSERT_TRUE(done) << "command did not finish";
}

}  // namespace

TEST(ShellProcess, timeout_kills_grandchildren_that_ignore_sigterm_and_leave_the_group) {
    TempDir dir;
    asio::io_context context;
    CommandRun run;
    run_command(context, run,
                stubborn_command(dir.path, {{"timeout", Value{2}}, {"sigtermTime", Value{1}}}));
    auto pids = read_pids(dir.path / "pids");
    ASSERT_EQ(pids.size(), 3u);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    for (pid_t pid : pids)
        EXPECT_FALSE(is_alive(pid)) << "pid " << pid << " survived";
    EXPECT_EQ(run.link.rc(), -1);
    EXPECT_NE(run.link.text_of("header").find("command timed out: 2 seconds without output"),
              std::string::npos);
    EXPECT_EQ(run.link.text_of("stdout"), "started\nready\n");
}

TEST(ShellProcess, interrupt_kills_every_descendant) {
    TempDir dir;
    asio::io_context context;
    CommandRun run;
    run_command(context, run, stubborn_command(dir.path, {}), std::chrono::milliseconds(1500));
    auto pids = read_pids(dir.path / "pids");
    ASSERT_EQ(pids.size(), 3u);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    for (pid_t pid : pids)
        EXPECT_FALSE(is_alive(pid)) << "pid " << pid << " survived";
    EXPECT_EQ(run.link.rc(), -1);
    EXPECT_NE(run.link.text_of("header").find("command interrupted"), std::string::npos);
    EXPECT_NE(run.link.text_of("header").find("process killed by signal 9"), std::string::npos);
}

TEST(ShellProcess, reports_exit_code_output_streams_and_a_final_partial_line) {
    TempDir dir;
    asio::io_context context;
    CommandRun run;
    run_command(context, run,
                Map{{"command", Value{"echo out; echo err >&2; printf tail; exit 3"}},
                    {"workdir", Value{dir.path.string()}},
                    {"logEnviron", Value{false}}});
    EXPECT_EQ(run.link.rc(), 3);
    EXPECT_EQ(run.link.text_of("stdout"), "out\ntail\n");
    EXPECT_EQ(run.link.text_of("stderr"), "err\n");
}

TEST(ShellProcess, feeds_initial_stdin_and_honours_max_time) {
    TempDir dir;
    asio::io_context context;
    CommandRun stdin_run;
    run_command(context, stdin_run,
                Map{{"command", Value{Array{Value{"cat"}}}},
                    {"workdir", Value{dir.path.string()}},
                    {"initial_stdin", Value{"line from stdin\n"}}});
    EXPECT_EQ(stdin_run.link.text_of("stdout"), "line from stdin\n");
    EXPECT_EQ(stdin_run.link.rc(), 0);

    asio::io_context second;
    CommandRun max_time_run;
    run_command(second, max_time_run,
                Map{{"command", Value{"while true; do echo tick; sleep 0.2; done"}},
                    {"workdir", Value{dir.path.string()}},
                    {"maxTime", Value{1}}});
    EXPECT_EQ(max_time_run.link.rc(), -1);
    EXPECT_NE(max_time_run.link.text_of("header").find("command timed out: 1 seconds elapsed"),
              std::string::npos);
}

TEST(ShellProcess, a_missing_program_gives_rc_1_and_a_message) {
    TempDir dir;
    asio::io_context context;
    CommandRun run;
    run_command(context, run,
                Map{{"command", Value{Array{Value{"no-such-program-kiln"}}}},
                    {"workdir", Value{dir.path.string()}}});
    EXPECT_EQ(run.link.rc(), 1);
    EXPECT_NE(run.link.text_of("stderr").find("no-such-program-kiln"), std::string::npos);
}

// The child starts but execve fails (an executable file that is no program): the failure
// comes back from the child, the command ends with rc 1 and the reason, and a later command
// runs normally (the worker's own state is intact after the failed child).
TEST(ShellProcess, a_program_that_execve_refuses_gives_rc_1_and_a_message) {
    TempDir dir;
    auto bogus = dir.path / "not-a-program";
    std::ofstream(bogus) << "\x7f"
                         << "garbage";
    std::filesystem::permissions(bogus, std::filesystem::perms::owner_all);
    {
        asio::io_context context;
        CommandRun run;
        run_command(context, run,
                    Map{{"command", Value{Array{Value{bogus.string()}}}},
                        {"workdir", Value{dir.path.string()}}});
        EXPECT_EQ(run.link.rc(), 1);
        EXPECT_NE(run.link.text_of("stderr").find("cannot execute"), std::string::npos)
            << run.link.text_of("stderr");
    }
    asio::io_context context;
    CommandRun run;
    run_command(context, run,
                Map{{"command", Value{Array{Value{"sh"}, Value{"-c"}, Value{"echo ok"}}}},
                    {"workdir", Value{dir.path.string()}}});
    EXPECT_EQ(run.link.rc(), 0);
    EXPECT_EQ(run.link.text_of("stdout"), "ok\n");
}
