// SPDX-License-Identifier: Apache-2.0
#include "io/daemon.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <thread>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace kiln::io {

using core::ErrorKind;
using core::fail;

std::optional<pid_t> running_pid(const std::filesystem::path& pidfile) {
    std::ifstream in(pidfile);
    long pid = 0;
    if (!(in >> pid) || pid <= 0) return std::nullopt;
    if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) return std::nullopt;
    return static_cast<pid_t>(pid);
}

core::Expected<void> write_pidfile(const std::filesystem::path& pidfile) {
    if (auto pid = running_pid(pidfile); pid && *pid != ::getpid())
        return fail(ErrorKind::conflict, "already running with pid " + std::to_string(*pid) + " (" +
                                             pidfile.string() + ")");
    std::ofstream out(pidfile, std::ios::trunc);
    out << ::getpid() << "\n";
    if (!out) return fail(ErrorKind::internal, "cannot write " + pidfile.string());
    return {};
}

core::Expected<void> daemonize(const std::filesystem::path& pidfile,
                               const std::filesystem::path& logfile) {
    if (auto pid = running_pid(pidfile))
        return fail(ErrorKind::conflict, "already running with pid " + std::to_string(*pid) + " (" +
                                             pidfile.string() + ")");
    int log = ::open(logfile.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (log < 0)
        return fail(ErrorKind::bad_input,
                    "cannot open " + logfile.string() + ": " + std::strerror(errno));
    int ready[2];
    if (::pipe(ready) != 0) return fail(ErrorKind::internal, "pipe failed");
    pid_t child = ::fork();
    if (child < 0)
        return fail(ErrorKind::internal, std::string("fork failed: ") + std::strerror(errno));
    if (child > 0) {
        // Wait until the daemon has written its pid file, so 'start' then 'stop' works.
        ::close(ready[1]);
        char byte = 0;
        auto n = ::read(ready[0], &byte, 1);
        ::_exit(n == 1 ? 0 : 1);
    }
    ::close(ready[0]);
    ::setsid();
    int null = ::open("/dev/null", O_RDONLY);
    ::dup2(null, 0);
    ::dup2(log, 1);
    ::dup2(log, 2);
    ::close(null);
    ::close(log);
    auto written = write_pidfile(pidfile);
    if (!written) return written;
    char byte = 1;
    [[maybe_unused]] auto n = ::write(ready[1], &byte, 1);
    ::close(ready[1]);
    return {};
}

core::Expected<void> stop_process(const std::filesystem::path& pidfile,
                                  std::chrono::seconds timeout) {
    auto pid = running_pid(pidfile);
    if (!pid)
        return fail(ErrorKind::not_found, "not running (no live pid in " + pidfile.string() + ")");
    ::kill(*pid, SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (::kill(*pid, 0) != 0) {
            std::filesystem::remove(pidfile);
            return {};
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ::kill(*pid, SIGKILL);
    std::filesystem::remove(pidfile);
    return fail(ErrorKind::unavailable, "did not stop within " + std::to_string(timeout.count()) +
                                            " s: killed pid " + std::to_string(*pid));
}

}  // namespace kiln::io
