// SPDX-License-Identifier: Apache-2.0
// Batches a command's updates the way Buildbot's worker does: consecutive output of the same
// stream is merged, and a batch is sent when it is full (buffer_size), when buffer_timeout has
// passed since its first entry, or when the command ends. Output that does not fit is split at
// line boundaries so that batches are filled.
#pragma once

#include "protocol/messages.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace kiln::worker {

// One [key, value] pair of an update. Output lines stay a LineChunk until they are encoded
// (no Value per line).
struct UpdateEntry {
    std::string key;
    std::string logname;                       // for key "log"
    std::optional<protocol::LineChunk> lines;  // stdout, stderr, header, log
    protocol::Value value;                     // any other key

    // The value as the protocol has it ([logname, triple] for "log").
    protocol::Value to_value() const;
    // Appends the msgpack of [key, value], byte for byte as encode() of the Values.
    void encode(std::string& out) const;
};

using UpdateEntries = std::vector<UpdateEntry>;

class UpdateBuffer {
public:
    explicit UpdateBuffer(std::size_t buffer_size = 65536);

    // Output lines for "stdout", "stderr" or "header".
    void add_lines(const std::string& stream, protocol::LineChunk lines);
    // Output lines of a watched logfile.
    void add_log(const std::string& logname, protocol::LineChunk lines);
    // Any other key: rc, elapsed, stat, files, ...
    void add_status(const std::string& key, protocol::Value value);

    // Batches that are complete and must be sent now, in order (leaves none).
    std::vector<UpdateEntries> take_ready();
    // Closes the current batch so that take_ready() returns it too.
    void flush();

    bool has_buffered() const { return !entries_.empty(); }

private:
    void add(UpdateEntry entry, std::size_t size);
    void append_lines(UpdateEntry entry, std::size_t size);
    std::size_t space_left() const;
    void send_buffered();
    static std::size_t size_of(const protocol::LineChunk& lines);

    std::size_t buffer_size_;
    std::size_t buffered_bytes_ = 0;
    UpdateEntries entries_;
    std::vector<UpdateEntries> ready_;
};

}  // namespace kiln::worker
