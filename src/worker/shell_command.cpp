// SPDX-License-Identifier: Apache-2.0
// The `shell` remote command: runs a program, streams its output, enforces timeout and
// maxTime, watches logfiles, and kills the whole process tree on interrupt.
#include "io/subprocess.hpp"
#include "worker/commands.hpp"
#include "worker/shell_format.hpp"

#include <csignal>
#include <filesystem>
#include <regex>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <sys/stat.h>

namespace kiln::worker {
namespace {

using namespace boost::asio::experimental::awaitable_operators;
using protocol::Value;
using Clock = std::chrono::steady_clock;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr auto kLogfilePollInterval = std::chrono::seconds(2);
constexpr auto kBackupKillTimeout = std::chrono::seconds(5);

Clock::duration seconds(double s) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

struct LogfileWatch {
    std::string name;
    std::string path;
    bool follow = false;
    struct Stamp {
        long long ctime = -1, mtime = -1, size = -1;
        bool operator==(const Stamp&) const = default;
    } initial;
    bool started = false;
    long long offset = 0;

    static Stamp stamp_of(const std::string& path) {
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0) return {};
        return {static_cast<long long>(st.st_ctim.tv_sec) * 1000000000LL + st.st_ctim.tv_nsec,
                static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec,
                static_cast<long long>(st.st_size)};
    }

    // Reads what is new in the file, once it has changed since the command was created.
    std::string poll() {
        if (!started) {
            auto now = stamp_of(path);
            if (now == initial || now.size < 0) return {};
            started = true;
            offset = follow && initial.size > 0 ? initial.size : 0;
        }
        FILE* file = std::fopen(path.c_str(), "rb");
        if (!file) return {};
        std::string data;
        if (::fseeko(file, offset, SEEK_SET) == 0) {
            char buffer[65536];
            std::size_t n = 0;
            while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0)
                data.append(buffer, n);
        }
        std::fclose(file);
        offset += static_cast<long long>(data.size());
        return data;
    }
};

class ShellCommand final : public Command {
public:
    ShellCommand(const WorkerEnvironment& environment, ShellInvocation invocation,
                 int* rc_out = nullptr)
        : executor_(environment.executor)
        , invocation_(std::move(invocation))
        , watchdog_timer_(environment.executor)
        , rc_out_(rc_out) {
        for (const auto& [name, spec] : invocation_.logfiles) {
            LogfileWatch watch{
                name,        (std::filesystem::path(invocation_.workdir) / spec.first).string(),
                spec.second, {},
                false,       0};
            watch.initial = LogfileWatch::stamp_of(watch.path);
            logfiles_.push_back(std::move(watch));
        }
    }

    void interrupt(const std::string& why) override {
        (void)why;
        if (interrupted_) return;
        interrupted_ = true;
        request_kill("command interrupted");
    }

    asio::awaitable<void> run(CommandOutput& output) override {
        output_ = &output;
        const auto& inv = invocation_;
        for (const auto& line : inv.header_lines)
            output.add_header(line);
        co_await output.send_ready();

        start_ = Clock::now();
        last_output_ = start_;
        std::error_code ec;
        std::filesystem::create_directories(inv.workdir, ec);
        try {
            process_ = io::Subprocess::spawn(executor_, inv.spawn);
        } catch (const std::system_error& error) {
            // As the stock worker's child does when exec fails: a message on stderr, rc 1.
            output.add_stderr(std::string(error.what()) + "\n");
            finish(1, 0);
            co_return;
        }
        co_await ((run_process() && write_stdin()) || watchdog() || watch_logfiles() ||
                  output.run_timer());
        if (killed_) process_->signal_all(SIGKILL);  // leave nothing of a killed command behind
        poll_logfiles();
        finish(exit_.exit_code, exit_.signal);
        co_await output.send_ready();
    }

private:
    void finish(int exit_code, int signal) {
        auto elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
        int rc = exit_code;
        if (signal != 0 || (killed_ && rc == 0)) rc = -1;
        if (rc_out_) {
            *rc_out_ = rc;
        } else {
            if (signal != 0)
                output_->add_header("process killed by signal " + std::to_string(signal) + "\n");
            output_->add_status("rc", Value{rc});
        }
        output_->add_header(format_elapsed(elapsed));
    }

    void request_kill(std::string message) {
        if (!kill_message_.empty()) return;
        kill_message_ = std::move(message);
        watchdog_timer_.cancel();
    }

    asio::awaitable<void> read_stream(bool is_stdout) {
        for (;;) {
            // Not `cond ? co_await a : co_await b`: GCC 12 destroys that result twice.
            std::optional<std::string> chunk;
            if (is_stdout)
                chunk = co_await process_->read_stdout();
            else
                chunk = co_await process_->read_stderr();
            if (!chunk) co_return;
            last_output_ = Clock::now();  // the watchdog moves its deadline when it wakes
            if (is_stdout && invocation_.want_stdout) output_->add_stdout(std::move(*chunk));
            if (!is_stdout && invocation_.want_stderr) output_->add_stderr(std::move(*chunk));
            co_await output_->send_ready();
        }
    }

    asio::awaitable<void> run_process() {
        co_await (read_stream(true) && read_stream(false));
        exit_ = co_await process_->wait();
    }

    asio::awaitable<void> write_stdin() {
        if (invocation_.initial_stdin)
            co_await process_->write_stdin_and_close(*invocation_.initial_stdin);
    }

    // Enforces timeout and maxTime, and carries out kills (from them or from interrupt()).
    asio::awaitable<void> watchdog() {
        for (;;) {
            if (!kill_message_.empty()) break;
            auto deadline = Clock::time_point::max();
            std::string reason;
            if (invocation_.timeout) {
                deadline = last_output_ + seconds(*invocation_.timeout);
                reason = "command timed out: " + format_number(*invocation_.timeout) +
                         " seconds without output running " + invocation_.fake_command;
            }
            if (invocation_.max_time && start_ + seconds(*invocation_.max_time) < deadline) {
                deadline = start_ + seconds(*invocation_.max_time);
                reason = "command timed out: " + format_number(*invocation_.max_time) +
                         " seconds elapsed running " + invocation_.fake_command;
            }
            if (Clock::now() >= deadline) {
                request_kill(reason);
                break;
            }
            // Woken at the deadline, or early by request_kill(); output in between only
            // moves the next deadline.
            watchdog_timer_.expires_at(deadline);
            auto [ec] = co_await watchdog_timer_.async_wait(use_tuple);
            if (ec && kill_message_.empty()) co_return;  // cancelled: the command is over
        }
        co_await kill();
    }

    asio::awaitable<void> kill() {
        output_->add_header("\n" + kill_message_ + ", attempting to kill\n");
        co_await output_->send_ready();
        killed_ = true;
        asio::steady_timer timer(executor_);
        if (invocation_.sigterm_time) {
            process_->signal_all(SIGTERM);
            timer.expires_after(seconds(*invocation_.sigterm_time));
            auto [ec] = co_await timer.async_wait(use_tuple);
            if (ec) co_return;
        }
        process_->signal_all(invocation_.interrupt_signal);
        process_->close_pipes();
        timer.expires_after(kBackupKillTimeout);
        auto [ec] = co_await timer.async_wait(use_tuple);
        if (ec) co_return;
        if (process_->has_exited()) {
            // Dead, its pipes closed: run_process() is about to finish and cancel us. Returning
            // now would end the `||` first and lose the exit status.
            co_await asio::steady_timer(executor_, std::chrono::hours(24 * 365))
                .async_wait(use_tuple);
            co_return;
        }
        output_->add_header("SIG" + invocation_.interrupt_signal_name +
                            " failed to kill process\n");
        output_->add_header("using fake rc=-1\n");
        output_->add_status("rc", Value{-1});
        throw CommandFailed("SIG" + invocation_.interrupt_signal_name + " failed to kill process");
    }

    void poll_logfiles() {
        for (auto& watch : logfiles_) {
            auto data = watch.poll();
            if (data.empty()) continue;
            last_output_ = Clock::now();
            output_->add_log(watch.name, data);
        }
    }

    asio::awaitable<void> watch_logfiles() {
        asio::steady_timer timer(executor_);
        for (;;) {
            timer.expires_after(kLogfilePollInterval);
            auto [ec] = co_await timer.async_wait(use_tuple);
            if (ec) co_return;
            if (logfiles_.empty()) continue;
            poll_logfiles();
            co_await output_->send_ready();
        }
    }

    asio::any_io_executor executor_;
    ShellInvocation invocation_;
    std::vector<LogfileWatch> logfiles_;
    CommandOutput* output_ = nullptr;
    std::unique_ptr<io::Subprocess> process_;
    io::ExitStatus exit_;
    Clock::time_point start_;
    Clock::time_point last_output_;
    asio::steady_timer watchdog_timer_;
    std::string kill_message_;
    bool killed_ = false;
    int* rc_out_ = nullptr;
};

}  // namespace

CommandResult make_shell_command(const WorkerEnvironment& environment, const protocol::Map& args) {
    auto invocation = prepare_shell_invocation(environment, args);
    if (!invocation) return invocation.error();
    return std::unique_ptr<Command>(new ShellCommand(environment, std::move(*invocation)));
}

std::unique_ptr<Command> make_helper_process(const WorkerEnvironment& environment,
                                             ShellInvocation invocation, int* rc_out) {
    return std::unique_ptr<Command>(new ShellCommand(environment, std::move(invocation), rc_out));
}

}  // namespace kiln::worker
