// SPDX-License-Identifier: Apache-2.0
// Running a program in the background: pid file, log file, and stopping it again by pid.
#pragma once

#include "core/expected.hpp"

#include <chrono>
#include <filesystem>
#include <optional>

#include <sys/types.h>

namespace kiln::io {

// The pid in `pidfile` when that process is alive.
std::optional<pid_t> running_pid(const std::filesystem::path& pidfile);

// Detaches into the background (fork, setsid), sends stdout and stderr to `logfile` (appended)
// and writes `pidfile`. Returns in the child; the parent exits 0 once the child is detached.
// Call it before any thread is started. Fails if `pidfile` names a live process.
core::Expected<void> daemonize(const std::filesystem::path& pidfile,
                               const std::filesystem::path& logfile);

// Writes the current pid to `pidfile` (foreground runs), refusing if one is alive.
core::Expected<void> write_pidfile(const std::filesystem::path& pidfile);

// Sends SIGTERM to the process in `pidfile` and waits until it is gone (SIGKILL after
// `timeout`). not_found when nothing runs.
core::Expected<void> stop_process(const std::filesystem::path& pidfile,
                                  std::chrono::seconds timeout);

}  // namespace kiln::io
