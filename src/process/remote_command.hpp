// SPDX-License-Identifier: Apache-2.0
// What a remote command is made of on the master side: the command to start (RemoteCommand),
// its outcome (CommandResult), the observer that receives its `update`s, the file-transfer
// endpoints the worker reads from and writes to, and the WorkerLost exception.
#pragma once

#include "protocol/value.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>

namespace kiln::process {

namespace asio = boost::asio;

// The connection to the worker broke (socket error, close, or an unanswered keepalive or
// request) while a command ran or a request was outstanding. A build turns it into RETRY.
class WorkerLost : public std::runtime_error {
public:
    explicit WorkerLost(const std::string& reason)
        : std::runtime_error("worker lost: " + reason) {}
};

// One `update`'s events as the worker sent them: [key, value] in order. Keys include stdout,
// stderr, header (value [text, newline_positions, line_times]; protocol::LineChunk reads it),
// log ([logname, [text, ...]]), rc (int), elapsed (float), stat, files.
using UpdateEvents = std::vector<std::pair<std::string, protocol::Value>>;

// Receives a command's updates, one `update` message at a time, in arrival order. The master
// acknowledges an update to the worker only after on_updates returns: store, then acknowledge.
// An exception answers the update with an error, interrupts the command and ends run_command
// with that exception once the command completed (within interrupt_grace); the observer is not
// called again for that command.
class RemoteCommandObserver {
public:
    virtual ~RemoteCommandObserver() = default;
    virtual asio::awaitable<void> on_updates(UpdateEvents events) = 0;
};

// Destination of upload_file. Calls arrive in order: write* close [utime]. An exception is
// answered to the worker as an error (its text), which makes the worker fail the command. If
// the command ends without close(), the implementation discards what it received when it is
// destroyed.
class FileWriter {
public:
    virtual ~FileWriter() = default;
    virtual asio::awaitable<void> write(std::string bytes) = 0;
    virtual asio::awaitable<void> close() = 0;
    // Seconds since the epoch; sent after close() when the step asked for keepstamp.
    virtual asio::awaitable<void> utime(double access_time, double modified_time) = 0;
};

// Destination of upload_directory: a tar stream (compressed as the command's `compress` arg
// says), then unpack() once at the end.
class DirectoryWriter {
public:
    virtual ~DirectoryWriter() = default;
    virtual asio::awaitable<void> write(std::string bytes) = 0;
    virtual asio::awaitable<void> unpack() = 0;
};

// Source of download_file: read() returns at most max_bytes; an empty string means end of
// file. close() when the worker is done.
class FileReader {
public:
    virtual ~FileReader() = default;
    virtual asio::awaitable<std::string> read(std::size_t max_bytes) = 0;
    virtual asio::awaitable<void> close() = 0;
};

// A command to start on the worker. `args` go on the wire as they are: the master sends
// absolute worker paths (worker-protocol.md §4.1), so the step builds them from the worker's
// basedir. Stock argument sets:
//   shell            {command, workdir, env, want_stdout, want_stderr, logfiles, timeout,
//                     maxTime, sigtermTime, interruptSignal, usePTY, logEnviron, initial_stdin}
//   upload_file      {path, maxsize, blocksize, keepstamp, workdir, workersrc} + file_writer
//   upload_directory {path, maxsize, blocksize, compress, workdir, workersrc}
//                    + directory_writer
//   download_file    {path, maxsize, blocksize, mode, workdir, workerdest} + file_reader
//   mkdir/rmdir {paths}, cpdir {from_path, to_path}, stat/glob/listdir/rmfile {path}
// The worker routes transfer requests by command id: no writer/reader key goes into args.
// Pointers are not owned and must outlive run_command.
struct RemoteCommand {
    std::string name;                         // command_name: "shell", "upload_file", ...
    protocol::Map args;                       // command arguments
    std::optional<std::string> builder_name;  // absent for setup-time commands
    // Leave empty for a fresh id; set it (new_command_id()) to interrupt the command later.
    std::string command_id;
    RemoteCommandObserver* observer = nullptr;    // null: updates only feed CommandResult
    FileWriter* file_writer = nullptr;            // upload_file
    DirectoryWriter* directory_writer = nullptr;  // upload_directory
    FileReader* file_reader = nullptr;            // download_file
};

// How a remote command ended (it ran to `complete`, or could not start).
struct CommandResult {
    std::string command_id;
    bool was_started = true;  // false: the worker refused start_command (see failure)
    // Set when the worker refused to start the command or completed it with a failure
    // (`complete` args): the step ends in EXCEPTION.
    std::optional<std::string> failure;
    bool was_interrupted = false;    // interrupt() was sent: the step is CANCELLED whatever rc
    std::optional<std::int64_t> rc;  // the last `rc` update, if any
    // Every update value except stdout/stderr/header/log, per key in arrival order
    // (rc, elapsed, stat, files, ...).
    std::map<std::string, std::vector<protocol::Value>> status;

    bool is_success() const { return was_started && !failure && rc == 0; }
};

// A fresh command id: decimal, from a process-wide counter ("1", "2", ...), as Buildbot does.
std::string new_command_id();

}  // namespace kiln::process
