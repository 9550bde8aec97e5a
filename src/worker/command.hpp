// SPDX-License-Identifier: Apache-2.0
// Remote commands on the worker: what a command sees of the connection (MasterLink), how its
// output is line-split, batched and sent (CommandOutput), and the Command base class.
#pragma once

#include "core/expected.hpp"
#include "io/task_group.hpp"
#include "protocol/messages.hpp"
#include "worker/line_boundary_finder.hpp"
#include "worker/update_buffer.hpp"

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

namespace kiln::worker {

namespace asio = boost::asio;

// The connection was lost while a request was outstanding.
class ConnectionLost : public std::runtime_error {
public:
    ConnectionLost()
        : std::runtime_error("Connection lost") {}
};

// The connection to the master as commands use it.
class MasterLink {
public:
    virtual ~MasterLink() = default;
    // Sends a request and waits for its response. Throws ConnectionLost.
    virtual asio::awaitable<protocol::Response> call(std::string op, protocol::Map fields) = 0;
    // Sends a request without waiting for its response; waits only while too many are in
    // flight. Throws ConnectionLost.
    virtual asio::awaitable<void> notify(std::string op, protocol::Map fields) = 0;
    // The same for a request encoded up to its seq_number (protocol::begin_request and the
    // fields): the link appends protocol::end_request with the number it gives it.
    virtual asio::awaitable<void> notify_encoded(std::string message) = 0;
};

// Output settings from set_worker_settings.
struct OutputSettings {
    std::size_t max_line_length = 4096;
    double buffer_timeout = 5;
    std::size_t buffer_size = 65536;
};

// Seconds since the epoch, as a float (line times, utime).
double now_seconds();

// One command's output: decoding, line splitting, batching, and sending as `update`s.
class CommandOutput {
public:
    CommandOutput(asio::any_io_executor executor, MasterLink& link, std::string command_id,
                  OutputSettings settings);

    void add_stdout(std::string bytes);
    void add_stderr(std::string bytes);
    void add_log(const std::string& logname, std::string_view bytes);
    void add_header(std::string_view text);
    void add_status(const std::string& key, protocol::Value value);

    // Sends the batches that are full. Serialised: concurrent callers wait their turn, which
    // also makes a fast producer wait for a slow master.
    asio::awaitable<void> send_ready();
    // Completes partial lines (streams in sorted order, each with '\n') and sends everything.
    asio::awaitable<void> flush();
    // Sends the buffer buffer_timeout seconds after its first entry. Runs until cancelled.
    asio::awaitable<void> run_timer();

private:
    void add_text(const std::string& stream, std::string text);
    void buffer_lines(const std::string& stream, protocol::LineChunk lines);
    void mark_buffered();
    asio::awaitable<void> send_batches();

    MasterLink& link_;
    std::string command_id_;
    OutputSettings settings_;
    UpdateBuffer buffer_;
    std::map<std::string, Utf8Decoder> decoders_;  // per stream key
    std::map<std::string, LineBoundaryFinder>
        finders_;  // "stdout", "stderr", "header", "log:<name>"
    std::vector<UpdateEntries> outbox_;
    bool sending_ = false;
    io::AsyncEvent sent_;
    io::AsyncEvent buffered_;
    std::optional<asio::steady_timer::time_point> first_buffered_at_;
};

// A remote command. run() sends updates through `output` (the driver adds `elapsed` and
// sends `complete`); it throws CommandFailed for a worker-side failure.
class Command {
public:
    virtual ~Command() = default;
    virtual asio::awaitable<void> run(CommandOutput& output) = 0;
    // Asks the command to stop soon (interrupt_command or connection loss).
    virtual void interrupt(const std::string& why) {
        (void)why;
        interrupted_ = true;
    }
    bool is_interrupted() const { return interrupted_; }

protected:
    bool interrupted_ = false;
};

// A worker-side failure: `complete` carries this text.
class CommandFailed : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// What commands know about the worker.
struct WorkerEnvironment {
    asio::any_io_executor executor;
    std::string basedir;
    std::map<std::string, std::string> environ;  // the worker's own environment
};

// Creates a command from start_command's name and args. Errors use the stock texts
// ("unrecognized WorkerCommand 'x'", "MakeDirectory is missing args: paths").
core::Expected<std::unique_ptr<Command>>
make_command(const WorkerEnvironment& environment, MasterLink& link, const std::string& command_id,
             const std::string& name, const protocol::Map& args);

// --- argument helpers shared by the commands ----------------------------------------------

const protocol::Value* arg(const protocol::Map& args, std::string_view key);
std::optional<std::string> text_arg(const protocol::Map& args, std::string_view key);
// A number argument; nil or absent gives nullopt.
std::optional<double> number_arg(const protocol::Map& args, std::string_view key);
bool bool_arg(const protocol::Map& args, std::string_view key, bool fallback);

}  // namespace kiln::worker
