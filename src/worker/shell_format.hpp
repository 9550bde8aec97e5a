// SPDX-License-Identifier: Apache-2.0
// Turns the `shell` command's arguments into what runs (argv, environment, workdir) and what
// is shown (header lines), with the stock worker's semantics for env merging and display.
#pragma once

#include "core/expected.hpp"
#include "io/subprocess.hpp"
#include "worker/command.hpp"

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace kiln::worker {

struct ShellInvocation {
    io::SpawnOptions spawn;
    std::string workdir;
    std::string fake_command;  // shown in time-out messages: obfuscated parts hidden
    std::vector<std::string> header_lines;
    std::optional<std::string> initial_stdin;
    bool want_stdout = true;
    bool want_stderr = true;
    std::optional<double> timeout;
    std::optional<double> max_time;
    std::optional<double> sigterm_time;
    int interrupt_signal = 9;
    std::string interrupt_signal_name = "KILL";
    std::map<std::string, std::pair<std::string, bool>> logfiles;  // name -> (file, follow)
    bool send_rc = true;  // false for helper processes of rmdir/cpdir: rc is returned instead
};

core::Expected<ShellInvocation> prepare_shell_invocation(const WorkerEnvironment& environment,
                                                         const protocol::Map& args);

// The child's environment (§5.3): list values joined with ':', PYTHONPATH keeps the worker's,
// nil removes, ${NAME} expands from the worker's environment; PWD is the workdir.
core::Expected<std::map<std::string, std::string>>
merge_environment(const std::map<std::string, std::string>& worker_environment,
                  const protocol::Value* overrides, const std::string& workdir);

// 1200 -> "1200", 2.5 -> "2.5" (Python's str of an int or float).
std::string format_number(double value);
// "elapsedTime=0.007010\n"
std::string format_elapsed(double seconds);
// POSIX shell quoting, as Python's shlex.quote.
std::string shell_quote(std::string_view word);
// Python's repr of a bytes object: b'...'
std::string python_bytes_repr(std::string_view bytes);

}  // namespace kiln::worker
