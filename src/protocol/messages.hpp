// SPDX-License-Identifier: Apache-2.0
// The messages of Buildbot's msgpack_experimental_v7 worker protocol, both directions:
// the request/response envelope, and one typed struct per operation.
#pragma once

#include "core/expected.hpp"
#include "protocol/value.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

namespace kiln::protocol {

// --- envelope -----------------------------------------------------------------------------

// Any message other than a response. `fields` holds every key except op and seq_number, in
// wire order.
struct Request {
    std::string op;
    std::uint64_t seq_number = 0;
    Map fields;
};

struct Response {
    std::uint64_t seq_number = 0;
    Value result;
    bool is_exception = false;  // the key's presence on the wire, not its value, means failure
};

using Message = std::variant<Request, Response>;

// Checks the envelope: a map with a str `op` and an int `seq_number` >= 0.
core::Expected<Message> parse_message(Value value);
core::Expected<Message> decode_message(std::string_view bytes);

// Encodes as the stock peers do: op first, then the fields, then seq_number.
std::string encode_request(std::string_view op, std::uint64_t seq_number, const Map& fields);
// op, seq_number, result, and is_exception=true only on failure.
std::string encode_response(const Response& response);

// A request encoded in pieces, byte for byte as encode_request: begin_request (map header, op),
// then field_count encoded fields (key, value) appended by the caller, then end_request.
void begin_request(std::string_view op, std::size_t field_count, std::string& out);
void end_request(std::uint64_t seq_number, std::string& out);

// --- master -> worker ---------------------------------------------------------------------

struct Print {
    std::string message;
};
struct Keepalive {};
struct GetWorkerInfo {};
struct SetWorkerSettings {
    std::string newline_re;
    std::int64_t max_line_length = 4096;
    double buffer_timeout = 5;
    std::int64_t buffer_size = 65536;
};
struct StartCommand {
    std::string command_id;
    std::string command_name;
    Map args;
    std::optional<std::string> builder_name;  // absent for setup-time commands
};
struct InterruptCommand {
    std::string builder_name;
    std::string command_id;
    std::string why;
};
struct Shutdown {};

using MasterRequest = std::variant<Print, Keepalive, GetWorkerInfo, SetWorkerSettings, StartCommand,
                                   InterruptCommand, Shutdown>;

// --- worker -> master ---------------------------------------------------------------------

// One `update`: [key, value] pairs in the order the events happened.
struct Update {
    std::string command_id;
    std::vector<std::pair<std::string, Value>> updates;
};
struct Complete {
    std::string command_id;
    std::optional<std::string> failure;  // nil on success
};
struct UploadFileWrite {
    std::string command_id;
    std::string data;
};
struct UploadFileClose {
    std::string command_id;
};
struct UploadFileUtime {
    std::string command_id;
    double access_time = 0;
    double modified_time = 0;
};
struct UploadDirectoryWrite {
    std::string command_id;
    std::string data;
};
struct UploadDirectoryUnpack {
    std::string command_id;
};
struct ReadFile {
    std::string command_id;
    std::int64_t length = 0;
};
struct ReadFileClose {
    std::string command_id;
};

using WorkerRequest =
    std::variant<Update, Complete, UploadFileWrite, UploadFileClose, UploadFileUtime,
                 UploadDirectoryWrite, UploadDirectoryUnpack, ReadFile, ReadFileClose>;

// Typed views of a request. An unknown op gives ErrorKind::not_found with the stock text
// "Command <op> does not exist."; a missing or mistyped field gives bad_input naming it.
core::Expected<MasterRequest> parse_master_request(const Request& request);
core::Expected<WorkerRequest> parse_worker_request(const Request& request);
// The same, moving the update values out of `request` instead of copying them.
core::Expected<WorkerRequest> parse_worker_request(Request&& request);

std::string_view op_name(const MasterRequest& request);
std::string_view op_name(const WorkerRequest& request);

Map to_fields(const MasterRequest& request);
Map to_fields(const WorkerRequest& request);

std::string encode(const MasterRequest& request, std::uint64_t seq_number);
std::string encode(const WorkerRequest& request, std::uint64_t seq_number);

// --- update payloads ----------------------------------------------------------------------

// The [text, newline_positions, line_times] triple of stdout/stderr/header/log updates.
struct LineChunk {
    std::string text;  // one or more lines, each ending in '\n'
    std::vector<std::int64_t> newline_positions;
    std::vector<double> line_times;

    Value to_value() const;
    // Reads the triple; tolerates missing or inconsistent positions and times (only the text
    // is required), and bin instead of str.
    static core::Expected<LineChunk> from_value(const Value& value);
    // Only the text of a triple (or of a bare str/bin), without copying; nullopt if it has none.
    static std::optional<std::string_view> text_of(const Value& value);
};

// Appends the triple's msgpack encoding, byte for byte as encode(chunk.to_value()), without
// building a Value per line.
void encode_line_chunk(const LineChunk& chunk, std::string& out);

// The stock settings a Buildbot 3.7 master sends (§3.1).
SetWorkerSettings stock_worker_settings();

// The commands and versions a worker announces in worker_commands (all "3.1").
const std::vector<std::string>& stock_worker_commands();

// --- correlation --------------------------------------------------------------------------

// Numbers outgoing requests (from 0 per connection) and matches responses to them, in any
// order. Each response is matched at most once; unknown numbers are reported, not guessed.
template <typename Waiter>
class PendingRequests {
public:
    std::uint64_t add(Waiter waiter) {
        auto seq = next_++;
        waiting_.emplace(seq, std::move(waiter));
        return seq;
    }
    std::optional<Waiter> take(std::uint64_t seq_number) {
        auto it = waiting_.find(seq_number);
        if (it == waiting_.end()) return std::nullopt;
        Waiter waiter = std::move(it->second);
        waiting_.erase(it);
        return waiter;
    }
    // Every waiter still outstanding (on connection loss), leaving none.
    std::vector<Waiter> take_all() {
        std::vector<Waiter> all;
        all.reserve(waiting_.size());
        for (auto& [seq, waiter] : waiting_)
            all.push_back(std::move(waiter));
        waiting_.clear();
        return all;
    }
    std::size_t size() const { return waiting_.size(); }

private:
    std::uint64_t next_ = 0;
    std::unordered_map<std::uint64_t, Waiter> waiting_;
};

}  // namespace kiln::protocol
