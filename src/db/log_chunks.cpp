// SPDX-License-Identifier: Apache-2.0
// Log chunks: Buildbot's line-range chunks (data-model.md §4), compressed with zstd.
#include "db/log_chunks.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <zstd.h>

namespace kiln::db {

namespace {

constexpr int kZstdLevel = 1;  // fast; logs compress well even so
// A chunk never holds more than kMaxLogChunkBytes; this only guards against a corrupt
// frame header asking for a huge buffer.
constexpr unsigned long long kMaxDecodedChunkBytes = 16ULL << 20;

constexpr std::string_view kInsertChunk =
    "INSERT INTO logchunks (logid, first_line, last_line, content, compressed) "
    "VALUES (?, ?, ?, ?, ?)";

// The database thread compresses, so each thread keeps its own zstd contexts.
ZSTD_CCtx* compression_context() {
    thread_local const std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> context{
        ZSTD_createCCtx(), &ZSTD_freeCCtx};
    if (!context) throw std::bad_alloc();
    return context.get();
}

ZSTD_DCtx* decompression_context() {
    thread_local const std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> context{
        ZSTD_createDCtx(), &ZSTD_freeDCtx};
    if (!context) throw std::bad_alloc();
    return context.get();
}

std::string chunk_name(std::int64_t logid, std::int64_t first_line) {
    return "log " + std::to_string(logid) + ", chunk at line " + std::to_string(first_line);
}

struct EncodedChunk {
    Blob content;
    LogChunkCompression compression;
};

// zstd when that is smaller than the text, raw otherwise (as Buildbot keeps gzip).
EncodedChunk encode_chunk(std::string_view content) {
    std::string compressed(ZSTD_compressBound(content.size()), '\0');
    const std::size_t size =
        ZSTD_compressCCtx(compression_context(), compressed.data(), compressed.size(),
                          content.data(), content.size(), kZstdLevel);
    if (!ZSTD_isError(size) && size < content.size()) {
        compressed.resize(size);
        return {Blob{std::move(compressed)}, LogChunkCompression::zstd};
    }
    return {Blob{std::string(content)}, LogChunkCompression::raw};
}

[[noreturn]] void unreadable(std::int64_t logid, std::int64_t first_line,
                             std::int64_t compression) {
    static constexpr std::array<std::string_view, 4> kNames{"raw", "gzip", "bzip2", "lz4"};
    const std::string name = compression >= 0 && compression < 4
                                 ? std::string(kNames[static_cast<std::size_t>(compression)])
                                 : "unknown";
    throw DatabaseError(chunk_name(logid, first_line) + " is stored with " + name +
                        " compression (" + std::to_string(compression) +
                        "), which Kiln cannot read; only raw (0) and zstd (4) are supported");
}

// The text size of a chunk without decompressing it, or nullopt when Kiln cannot read it.
std::optional<std::size_t> decoded_size(const std::string& bytes, std::int64_t compression) {
    if (compression == static_cast<std::int64_t>(LogChunkCompression::raw)) return bytes.size();
    if (compression != static_cast<std::int64_t>(LogChunkCompression::zstd)) return std::nullopt;
    const auto size = ZSTD_getFrameContentSize(bytes.data(), bytes.size());
    if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN ||
        size > kMaxDecodedChunkBytes)
        return std::nullopt;
    return static_cast<std::size_t>(size);
}

std::string decode_chunk(std::string bytes, std::int64_t compression, std::int64_t logid,
                         std::int64_t first_line) {
    if (compression == static_cast<std::int64_t>(LogChunkCompression::raw)) return bytes;
    if (compression != static_cast<std::int64_t>(LogChunkCompression::zstd))
        unreadable(logid, first_line, compression);
    const auto size = decoded_size(bytes, compression);
    if (!size) throw DatabaseError(chunk_name(logid, first_line) + ": bad zstd frame header");
    std::string text(*size, '\0');
    const std::size_t written = ZSTD_decompressDCtx(decompression_context(), text.data(),
                                                    text.size(), bytes.data(), bytes.size());
    if (ZSTD_isError(written) || written != text.size())
        throw DatabaseError(chunk_name(logid, first_line) + ": corrupt zstd data (" +
                            (ZSTD_isError(written) ? ZSTD_getErrorName(written) : "short") + ")");
    return text;
}

// Offset where line n (0-based) of the chunk content starts, or npos if it has fewer lines.
std::size_t line_offset(std::string_view content, std::int64_t n) {
    std::size_t offset = 0;
    for (std::int64_t line = 0; line < n; ++line) {
        const auto newline = content.find('\n', offset);
        if (newline == std::string_view::npos) return std::string_view::npos;
        offset = newline + 1;
    }
    return offset;
}

// memchr is vectorised in glibc; a byte loop here was a quarter of the master's log CPU.
std::int64_t count_newlines(std::string_view text) {
    std::int64_t count = 0;
    const char* p = text.data();
    const char* end = p + text.size();
    while (p < end) {
        const auto* found =
            static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
        if (!found) break;
        ++count;
        p = found + 1;
    }
    return count;
}

std::int64_t count_lines(std::string_view content) { return count_newlines(content) + 1; }

// The longest prefix of at most limit bytes that does not end inside a UTF-8 sequence.
// text.size() > limit.
std::size_t utf8_prefix(std::string_view text, std::size_t limit) {
    std::size_t cut = limit;
    // At most three continuation bytes (10xxxxxx) belong to the sequence the cut splits.
    for (int step = 0; step < 3 && cut > 0; ++step) {
        if ((static_cast<unsigned char>(text[cut]) & 0xC0U) != 0x80U) break;
        --cut;
    }
    return cut;
}

void insert_chunk(Connection& connection, std::int64_t logid, std::int64_t first_line,
                  std::int64_t last_line, std::string_view content) {
    auto encoded = encode_chunk(content);
    const std::array<Field, 5> params{logid, first_line, last_line, std::move(encoded.content),
                                      static_cast<std::int64_t>(encoded.compression)};
    connection.execute(kInsertChunk, params);
}

std::int64_t stored_line_count(Connection& connection, std::int64_t logid) {
    const std::array<Field, 1> params{logid};
    auto row = connection.query_one("SELECT num_lines FROM logs WHERE id = ?", params);
    if (!row) throw DatabaseError("no log with id " + std::to_string(logid));
    return row->integer(0);
}

}  // namespace

LogAppendResult append_log_lines(Connection& connection, std::int64_t logid, std::string_view text,
                                 std::optional<std::int64_t> expected_first_line) {
    if (!text.empty() && text.back() != '\n')
        throw std::invalid_argument("log text must be whole lines, each ending in a newline");
    const std::int64_t stored = stored_line_count(connection, logid);
    const std::int64_t first_line = expected_first_line.value_or(stored);
    if (first_line < 0 || first_line > stored)
        throw std::invalid_argument("append to log " + std::to_string(logid) + " at line " +
                                    std::to_string(first_line) + ", but it holds " +
                                    std::to_string(stored) + " lines");
    const auto line_count = count_newlines(text);
    LogAppendResult result{first_line, first_line + line_count - 1,
                           std::max(stored, first_line + line_count), 0};
    if (stored >= result.num_lines) return result;  // nothing new (or a full resend)

    // Skip the lines a previous attempt stored; drop the final newline (chunks omit it).
    std::string_view rest = text.substr(line_offset(text, stored - first_line));
    result.new_bytes = static_cast<std::int64_t>(rest.size());
    rest.remove_suffix(1);
    std::int64_t line = stored;
    for (bool has_more = true; has_more;) {
        std::string_view chunk = rest;
        if (rest.size() <= kMaxLogChunkBytes) {
            has_more = false;
        } else if (const auto split = rest.rfind('\n', kMaxLogChunkBytes);
                   split != std::string_view::npos) {
            chunk = rest.substr(0, split);
            rest = rest.substr(split + 1);
        } else {
            // One line longer than a chunk: keep what fits and drop the rest of that line.
            chunk = rest.substr(0, utf8_prefix(rest, kMaxLogChunkBytes));
            const auto end_of_line = rest.find('\n');
            has_more = end_of_line != std::string_view::npos;
            if (has_more) rest = rest.substr(end_of_line + 1);
        }
        const std::int64_t chunk_lines = count_lines(chunk);
        insert_chunk(connection, logid, line, line + chunk_lines - 1, chunk);
        line += chunk_lines;
    }
    const std::array<Field, 2> params{line, logid};
    connection.execute("UPDATE logs SET num_lines = ? WHERE id = ?", params);
    return result;
}

void read_log_lines(Connection& connection, std::int64_t logid, std::int64_t first_line,
                    std::int64_t last_line,
                    const std::function<void(std::string_view line_block)>& sink) {
    if (first_line < 0) throw std::invalid_argument("first_line must not be negative");
    if (last_line < first_line) return;
    // Where the chunk holding first_line starts (one index probe), so that the scan reads the
    // chunks of the range only. "first_line <= last AND last_line >= first" alone walks the
    // first_line index from the log's start: reading a long log piece by piece (raw
    // downloads) then read every earlier chunk again for each piece.
    const std::array<Field, 2> start_params{logid, first_line};
    const auto first_chunk = connection.query_one(
        "SELECT MAX(first_line) FROM logchunks WHERE logid = ? AND first_line <= ?", start_params);
    const std::int64_t scan_from =
        first_chunk && !first_chunk->is_null(0) ? first_chunk->integer(0) : first_line;
    const std::array<Field, 4> params{logid, scan_from, last_line, first_line};
    std::int64_t next_line = first_line;
    std::string block;
    connection.query(
        "SELECT first_line, last_line, content, compressed FROM logchunks "
        "WHERE logid = ? AND first_line >= ? AND first_line <= ? AND last_line >= ? "
        "ORDER BY first_line",
        params, [&](const Row& row) {
            const std::int64_t chunk_first = row.integer(0);
            const std::int64_t chunk_last = row.integer(1);
            if (chunk_last < next_line) return;  // overlaps lines already sent
            const std::string content = decode_chunk(row.is_null(2) ? std::string() : row.blob(2),
                                                     row.integer(3), logid, chunk_first);
            const std::int64_t start = std::max(next_line, chunk_first);
            const std::int64_t end = std::min(last_line, chunk_last);
            const auto begin = line_offset(content, start - chunk_first);
            const auto stop =
                end == chunk_last ? content.size() : line_offset(content, end - chunk_first + 1);
            if (begin == std::string::npos || stop == std::string::npos)
                throw DatabaseError(chunk_name(logid, chunk_first) + " holds fewer lines than " +
                                    std::to_string(chunk_last - chunk_first + 1));
            // stop is past the newline that ends line `end` (or the end of the content).
            block.assign(content, begin, stop - begin);
            if (end == chunk_last) block.push_back('\n');
            sink(block);
            next_line = end + 1;
        });
}

namespace {

struct ChunkSpan {
    std::int64_t first_line;
    std::int64_t last_line;
    std::optional<std::size_t> size;  // of its text; nullopt when Kiln cannot read it
};

// Runs of two or more consecutive chunks that fit together within the limits.
std::vector<std::pair<std::int64_t, std::int64_t>>
plan_merges(const std::vector<ChunkSpan>& chunks) {
    std::vector<std::pair<std::int64_t, std::int64_t>> merges;
    std::int64_t run_first = 0;
    std::int64_t run_last = 0;
    std::size_t run_size = 0;
    int run_chunks = 0;
    auto close_run = [&] {
        if (run_chunks > 1) merges.emplace_back(run_first, run_last);
        run_chunks = 0;
    };
    for (const auto& chunk : chunks) {
        if (!chunk.size) {
            close_run();
            continue;
        }
        const bool fits = run_chunks > 0 && chunk.first_line == run_last + 1 &&
                          run_size + 1 + *chunk.size <= kMaxLogChunkBytes &&
                          chunk.last_line - run_first + 1 <= kMaxCompactedChunkLines;
        if (!fits) {
            close_run();
            run_first = chunk.first_line;
            run_size = *chunk.size;
        } else {
            run_size += 1 + *chunk.size;  // joined by a newline
        }
        run_last = chunk.last_line;
        ++run_chunks;
    }
    close_run();
    return merges;
}

}  // namespace

void compact_log(Connection& connection, std::int64_t logid) {
    std::vector<ChunkSpan> chunks;
    const std::array<Field, 1> log_param{logid};
    connection.query("SELECT first_line, last_line, content, compressed FROM logchunks "
                     "WHERE logid = ? ORDER BY first_line",
                     log_param, [&chunks](const Row& row) {
                         const auto content = row.is_null(2) ? std::string() : row.blob(2);
                         chunks.push_back({row.integer(0), row.integer(1),
                                           decoded_size(content, row.integer(3))});
                     });

    for (const auto& [run_first, run_last] : plan_merges(chunks)) {
        const std::array<Field, 3> range{logid, run_first, run_last};
        std::string merged;
        bool is_first = true;
        connection.query("SELECT first_line, content, compressed FROM logchunks "
                         "WHERE logid = ? AND first_line >= ? AND last_line <= ? "
                         "ORDER BY first_line",
                         range, [&](const Row& row) {
                             if (!is_first) merged.push_back('\n');
                             is_first = false;
                             merged += decode_chunk(row.is_null(1) ? std::string() : row.blob(1),
                                                    row.integer(2), logid, row.integer(0));
                         });
        connection.execute("DELETE FROM logchunks "
                           "WHERE logid = ? AND first_line >= ? AND last_line <= ?",
                           range);
        insert_chunk(connection, logid, run_first, run_last, merged);
    }
}

}  // namespace kiln::db
