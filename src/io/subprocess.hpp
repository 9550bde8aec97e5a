// SPDX-License-Identifier: Apache-2.0
// Child processes for remote commands: pipes or a pseudo-terminal, a process group of their
// own, exit notification through a pidfd, and kills that reach every descendant.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <sys/types.h>

namespace kiln::io {

namespace asio = boost::asio;

struct SpawnOptions {
    std::vector<std::string> argv;         // argv[0] is searched on the child's PATH
    std::string workdir;                   // must exist
    std::vector<std::string> environment;  // "NAME=value" entries: the child's whole environment
    bool use_pty = false;                  // stdout and stderr become one stream (stdout)
    bool has_stdin = false;                // false: the child's stdin is at EOF at once
};

// How a child ended: exit_code, or the signal that killed it.
struct ExitStatus {
    int exit_code = 0;
    int signal = 0;  // non-zero when killed by a signal
};

class Subprocess {
public:
    // Starts the child. Throws std::system_error when it cannot be started, including when
    // the program cannot be executed (the message names argv[0] and the errno text).
    static std::unique_ptr<Subprocess> spawn(asio::any_io_executor executor,
                                             const SpawnOptions& options);
    ~Subprocess();
    Subprocess(const Subprocess&) = delete;
    Subprocess& operator=(const Subprocess&) = delete;

    pid_t pid() const;

    // Writes all of `data` to the child's stdin (has_stdin must be set), then closes it.
    asio::awaitable<void> write_stdin_and_close(std::string data);

    // The next chunk of output (up to 64 KiB), or an empty optional at end of stream. With a
    // PTY, everything arrives on stdout and stderr ends at once.
    asio::awaitable<std::optional<std::string>> read_stdout();
    asio::awaitable<std::optional<std::string>> read_stderr();

    // Waits until the child has exited and returns how. Safe to call once.
    asio::awaitable<ExitStatus> wait();
    bool has_exited() const;

    // Sends `signal` to the child's process group and to every process descended from the
    // child (found through /proc), so grandchildren that left the group are reached too.
    // Returns false when nothing was left to signal.
    bool signal_all(int signal);

    // Closes our ends of the child's pipes (pending reads end).
    void close_pipes();

private:
    struct Impl;
    explicit Subprocess(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// Signal number for a name such as "KILL", "TERM" or "SIGINT"; empty when unknown.
std::optional<int> signal_from_name(std::string_view name);

// Every pid whose parent chain leads to `root` (not including root), read from /proc.
std::vector<pid_t> descendants_of(pid_t root);

}  // namespace kiln::io
