// SPDX-License-Identifier: Apache-2.0
// Log chunk storage in Buildbot's logchunks table: appending whole lines, reading line ranges
// chunk by chunk, and compacting a finished log. Each function runs inside a
// Database::write() (append, compact) or read() transaction, on the database's thread, which
// also does the (zstd) compression.
#pragma once

#include "db/database.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

namespace kiln::db {

// Largest content of one chunk, and most lines compaction puts in one (Buildbot's limits).
inline constexpr std::size_t kMaxLogChunkBytes = 65536;
inline constexpr std::int64_t kMaxCompactedChunkLines = 1000;

// logchunks.compressed: Buildbot's codes, plus zstd, which Kiln writes.
enum class LogChunkCompression : std::int64_t { raw = 0, gzip = 1, bzip2 = 2, lz4 = 3, zstd = 4 };

struct LogAppendResult {
    std::int64_t first_line;  // 0-based line number of the first line of the text
    std::int64_t last_line;   // of its last line
    std::int64_t num_lines;   // lines in the whole log after the append (logs.num_lines)
    std::int64_t new_bytes;   // bytes of text stored by this append (0 for a full resend)
};

// Appends text (whole lines, each ending in '\n'; else std::invalid_argument) to log logid,
// as chunks of at most kMaxLogChunkBytes split at line boundaries. A line longer than that
// is cut on a UTF-8 boundary and the rest of it dropped, as Buildbot does. Each chunk is
// stored zstd-compressed when that is smaller, raw otherwise.
//
// Retried appends: when expected_first_line is given it is the line number the text starts
// at; lines the log already holds (a resend after a lost acknowledgement) are skipped and the
// result is the same as for the first attempt. A gap (expected_first_line beyond the end of
// the log) throws std::invalid_argument. An unknown logid throws DatabaseError.
LogAppendResult append_log_lines(Connection& connection, std::int64_t logid, std::string_view text,
                                 std::optional<std::int64_t> expected_first_line = std::nullopt);

// Calls sink with the lines first_line..last_line (inclusive, 0-based) of log logid, each
// followed by '\n', in order, one block per stored chunk; lines beyond the end of the log
// are simply absent. Only the chunks holding the range are read (two index lookups, however
// long the log), and one chunk is decompressed in memory at a time. Reads raw and zstd
// chunks; other compressions (Buildbot's gzip, bzip2, lz4) throw DatabaseError.
void read_log_lines(Connection& connection, std::int64_t logid, std::int64_t first_line,
                    std::int64_t last_line,
                    const std::function<void(std::string_view line_block)>& sink);

// Merges runs of consecutive chunks into chunks of at most kMaxLogChunkBytes and
// kMaxCompactedChunkLines lines, recompressed; done once a log is finished. Chunks stored
// with a compression Kiln cannot read are left as they are.
void compact_log(Connection& connection, std::int64_t logid);

}  // namespace kiln::db
