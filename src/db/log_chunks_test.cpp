// SPDX-License-Identifier: Apache-2.0
// Log chunks: round trips through append and read, Buildbot's 64 KiB split and long-line
// truncation, idempotent resends, compaction, zstd, and reading Buildbot's own chunks.
#include "db/database.hpp"
#include "db/log_chunks.hpp"
#include "db/sqlite_database.hpp"

#include <array>
#include <functional>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <zstd.h>

namespace kiln::db {
namespace {

struct StoredChunk {
    std::int64_t first_line;
    std::int64_t last_line;
    std::string content;  // decompressed
    std::int64_t compressed;
    std::size_t stored_size;
};

class LogChunks : public ::testing::Test {
protected:
    void SetUp() override {
        upgrade_schema(*database_);
        logid_ = database_->write_sync(&create_log);
    }

    // A log needs a step, which needs a build, its request, buildset, builder and master.
    static std::int64_t create_log(Connection& c) {
        const auto master = c.insert("INSERT INTO masters (name, name_hash, active, last_active) "
                                     "VALUES ('m', 'hm', 1, 0) RETURNING id");
        const auto builder =
            c.insert("INSERT INTO builders (name, name_hash) VALUES ('b', 'hb') RETURNING id");
        const auto buildset = c.insert("INSERT INTO buildsets (submitted_at, complete, results) "
                                       "VALUES (0, 0, -1) RETURNING id");
        const std::array<Field, 2> request_params{buildset, builder};
        const auto request =
            c.insert("INSERT INTO buildrequests (buildsetid, builderid, priority, submitted_at) "
                     "VALUES (?, ?, 0, 0) RETURNING id",
                     request_params);
        const std::array<Field, 3> build_params{builder, request, master};
        const auto build =
            c.insert("INSERT INTO builds (number, builderid, buildrequestid, masterid, started_at, "
                     "state_string) VALUES (1, ?, ?, ?, 0, 'building') RETURNING id",
                     build_params);
        const std::array<Field, 1> step_params{build};
        const auto step =
            c.insert("INSERT INTO steps (number, name, buildid, state_string, "
                     "urls_json) VALUES (0, 'shell', ?, 'running', '[]') RETURNING id",
                     step_params);
        const std::array<Field, 1> log_params{step};
        return c.insert("INSERT INTO logs (name, slug, stepid, complete, num_lines, type) "
                        "VALUES ('stdio', 'stdio', ?, 0, 0, 's') RETURNING id",
                        log_params);
    }

    LogAppendResult append(std::string_view text,
                           std::optional<std::int64_t> expected_first_line = std::nullopt) {
        return database_->write_sync(
            [&](Connection& c) { return append_log_lines(c, logid_, text, expected_first_line); });
    }

    std::string read(std::int64_t first_line, std::int64_t last_line) {
        return database_->read_sync([&](Connection& c) {
            std::string text;
            read_log_lines(c, logid_, first_line, last_line,
                           [&text](std::string_view block) { text += block; });
            return text;
        });
    }

    std::int64_t num_lines() {
        return database_->read_sync([this](Connection& c) {
            const std::array<Field, 1> params{logid_};
            return c.query_one("SELECT num_lines FROM logs WHERE id = ?", params)->integer(0);
        });
    }

    std::vector<StoredChunk> chunks() {
        return database_->read_sync([this](Connection& c) {
            std::vector<StoredChunk> out;
            const std::array<Field, 1> params{logid_};
            c.query("SELECT first_line, last_line, content, compressed FROM logchunks "
                    "WHERE logid = ? ORDER BY first_line",
                    params, [&out](const Row& row) {
                        auto bytes = row.blob(2);
                        std::string content = bytes;
                        if (row.integer(3) == 4) {
                            content.resize(ZSTD_getFrameContentSize(bytes.data(), bytes.size()));
                            ZSTD_decompress(content.data(), content.size(), bytes.data(),
                                            bytes.size());
                        }
                        out.push_back({row.integer(0), row.integer(1), content, row.integer(3),
                                       bytes.size()});
                    });
            return out;
        });
    }

    void insert_raw_chunk(std::int64_t first, std::int64_t last, std::string content,
                          std::int64_t compressed) {
        database_->write_sync([&](Connection& c) {
            const std::array<Field, 5> params{logid_, first, last, Blob{content}, compressed};
            c.execute("INSERT INTO logchunks (logid, first_line, last_line, content, compressed) "
                      "VALUES (?, ?, ?, ?, ?)",
                      params);
            const std::array<Field, 2> count{last + 1, logid_};
            c.execute("UPDATE logs SET num_lines = ? WHERE id = ?", count);
        });
    }

    // Each chunk's lines are contiguous with the next, and its content has as many lines.
    void expect_well_formed_chunks(std::int64_t total_lines) {
        std::int64_t next = 0;
        for (const auto& chunk : chunks()) {
            EXPECT_EQ(chunk.first_line, next);
            EXPECT_LE(chunk.content.size(), kMaxLogChunkBytes);
            const auto newlines = std::count(chunk.content.begin(), chunk.content.end(), '\n');
            EXPECT_EQ(chunk.last_line - chunk.first_line, newlines);
            next = chunk.last_line + 1;
        }
        EXPECT_EQ(next, total_lines);
    }

    std::unique_ptr<Database> database_ = SqliteDatabase::open_memory();
    std::int64_t logid_ = 0;
};

// Forwards to a real connection and counts the rows its queries return.
class CountingConnection : public Connection {
public:
    explicit CountingConnection(Connection& inner)
        : inner_(inner) {}
    std::int64_t execute(std::string_view sql, std::span<const Field> params) override {
        return inner_.execute(sql, params);
    }
    void query(std::string_view sql, std::span<const Field> params,
               const std::function<void(const Row&)>& on_row) override {
        inner_.query(sql, params, [&](const Row& row) {
            ++rows;
            on_row(row);
        });
    }
    void execute_script(std::string_view sql) override { inner_.execute_script(sql); }

    std::int64_t rows = 0;

private:
    Connection& inner_;
};

// Lines of random length (a few very long), ASCII and multi-byte UTF-8.
std::vector<std::string> random_lines(std::mt19937& random, std::size_t bytes) {
    static const std::array<std::string, 6> kPieces{"build ", "ok ", "é", "€", "ошибка ", "0x1f "};
    std::vector<std::string> lines;
    std::size_t total = 0;
    while (total < bytes) {
        std::string line;
        const auto pieces = random() % 50 == 0 ? random() % 3000 : random() % 30;
        for (std::size_t i = 0; i < pieces; ++i) {
            line += kPieces[random() % kPieces.size()];
            line += std::to_string(random() % 1000);
        }
        total += line.size() + 1;
        lines.push_back(std::move(line));
    }
    return lines;
}

std::string join_lines(const std::vector<std::string>& lines, std::size_t first, std::size_t last) {
    std::string text;
    for (auto i = first; i <= last && i < lines.size(); ++i)
        text += lines[i] + "\n";
    return text;
}

TEST_F(LogChunks, read_back_megabytes_appended_in_pieces_of_varying_size) {
    std::mt19937 random(20240601);
    const auto lines = random_lines(random, 4 << 20);
    for (std::size_t at = 0; at < lines.size();) {
        const auto count = std::min<std::size_t>(1 + random() % 3000, lines.size() - at);
        const auto result = append(join_lines(lines, at, at + count - 1));
        EXPECT_EQ(result.first_line, static_cast<std::int64_t>(at));
        at += count;
        EXPECT_EQ(result.last_line, static_cast<std::int64_t>(at) - 1);
        EXPECT_EQ(result.num_lines, static_cast<std::int64_t>(at));
    }
    const auto total = static_cast<std::int64_t>(lines.size());
    EXPECT_EQ(num_lines(), total);
    expect_well_formed_chunks(total);
    EXPECT_EQ(read(0, total - 1), join_lines(lines, 0, lines.size() - 1));
    for (int i = 0; i < 40; ++i) {
        const auto first = random() % lines.size();
        const auto last = first + random() % 5000;
        EXPECT_EQ(read(static_cast<std::int64_t>(first), static_cast<std::int64_t>(last)),
                  join_lines(lines, first, last))
            << "lines " << first << ".." << last;
    }

    database_->write_sync([this](Connection& c) { compact_log(c, logid_); });
    expect_well_formed_chunks(total);
    EXPECT_EQ(read(0, total - 1), join_lines(lines, 0, lines.size() - 1));
    EXPECT_EQ(read(1000, 1999), join_lines(lines, 1000, 1999));
}

TEST_F(LogChunks, split_an_append_larger_than_64_kib_at_the_last_line_boundary_that_fits) {
    std::string text;
    for (int i = 0; i < 3000; ++i)
        text += std::string(99, static_cast<char>('a' + i % 26)) + "\n";
    append(text);  // 300,000 bytes: 100-byte lines, so 655 whole lines fit in 65,536 bytes
    const auto stored = chunks();
    ASSERT_EQ(stored.size(), 5U);
    EXPECT_EQ(stored[0].first_line, 0);
    EXPECT_EQ(stored[0].last_line, 654);
    EXPECT_EQ(stored[0].content.size(), 655U * 100 - 1);
    EXPECT_EQ(stored[1].first_line, 655);
    expect_well_formed_chunks(3000);
    EXPECT_EQ(read(0, 2999), text);
}

TEST_F(LogChunks, read_only_the_chunks_that_hold_the_lines_asked_for) {
    std::string text;
    for (int i = 0; i < 655 * 40; ++i)
        text += std::string(99, static_cast<char>('a' + i % 26)) + "\n";
    append(text);  // 40 chunks of 655 lines
    ASSERT_EQ(chunks().size(), 40U);
    const auto rows = database_->read_sync([this](Connection& c) {
        CountingConnection counting{c};
        std::string lines;
        read_log_lines(counting, logid_, 655 * 39 + 10, 655 * 39 + 20,
                       [&lines](std::string_view block) { lines += block; });
        EXPECT_EQ(lines.size(), 11U * 100);
        return counting.rows;
    });
    // A raw download reads a log piece by piece: reading every earlier chunk for each piece
    // made a 1 GB download quadratic.
    EXPECT_EQ(rows, 2) << "the probe for the first chunk and that chunk, not the 39 before it";
}

TEST_F(LogChunks, truncate_a_line_longer_than_64_kib_on_a_utf8_boundary_and_drop_its_rest) {
    std::string long_line = "a";
    for (int i = 0; i < 40000; ++i)
        long_line += "é";  // 2 bytes each: 80,001 bytes
    const auto result = append("before\n" + long_line + "\nafter\n");
    EXPECT_EQ(result.num_lines, 3);
    // 65,536 bytes would end inside an 'é' ("a" + 32,767.5 of them): cut before it.
    const auto line1 = read(1, 1);
    EXPECT_EQ(line1.size(), 1 + 65535U);
    EXPECT_EQ(line1, long_line.substr(0, 65535) + "\n");
    EXPECT_EQ(read(0, 0), "before\n");
    EXPECT_EQ(read(2, 2), "after\n");
    EXPECT_EQ(num_lines(), 3);
}

TEST_F(LogChunks, store_a_resent_append_only_once) {
    const std::string first = "l0\nl1\nl2\nl3\n";
    const auto once = append(first, 0);
    const auto again = append(first, 0);
    EXPECT_EQ(again.first_line, once.first_line);
    EXPECT_EQ(again.last_line, once.last_line);
    EXPECT_EQ(again.num_lines, 4);
    EXPECT_EQ(once.new_bytes, 12);
    EXPECT_EQ(again.new_bytes, 0);
    // A resend overlapping the end: only the new lines are stored.
    const auto overlap = append("l2\nl3\nl4\nl5\n", 2);
    EXPECT_EQ(overlap.first_line, 2);
    EXPECT_EQ(overlap.last_line, 5);
    EXPECT_EQ(overlap.num_lines, 6);
    EXPECT_EQ(overlap.new_bytes, 6);
    EXPECT_EQ(read(0, 100), "l0\nl1\nl2\nl3\nl4\nl5\n");
    EXPECT_THROW(append("l9\n", 9), std::invalid_argument) << "a gap means lines were lost";
    EXPECT_EQ(num_lines(), 6);
}

TEST_F(LogChunks, refuse_text_that_does_not_end_in_a_newline) {
    EXPECT_THROW(append("partial"), std::invalid_argument);
    EXPECT_THROW(append("one\npartial"), std::invalid_argument);
    EXPECT_EQ(num_lines(), 0);
    EXPECT_EQ(append("").num_lines, 0);
}

TEST_F(LogChunks, keep_empty_lines_including_a_last_empty_line) {
    append("\n\nx\n\n");
    EXPECT_EQ(num_lines(), 4);
    EXPECT_EQ(read(0, 3), "\n\nx\n\n");
    EXPECT_EQ(read(3, 3), "\n");
}

TEST_F(LogChunks, compact_small_chunks_into_chunks_of_at_most_1000_lines_and_64_kib) {
    std::string all;
    for (int i = 0; i < 700; ++i) {
        std::string text;
        for (int j = 0; j < 3; ++j)
            text += "line " + std::to_string(i * 3 + j) + "\n";
        append(text);
        all += text;
    }
    ASSERT_EQ(chunks().size(), 700U);
    database_->write_sync([this](Connection& c) { compact_log(c, logid_); });
    const auto compacted = chunks();
    EXPECT_EQ(compacted.size(), 3U);  // 2100 lines in runs of at most 1000 (333 appends of 3)
    for (const auto& chunk : compacted)
        EXPECT_LE(chunk.last_line - chunk.first_line + 1, 1000);
    expect_well_formed_chunks(2100);
    EXPECT_EQ(read(0, 2099), all);
    EXPECT_EQ(read(998, 1001), "line 998\nline 999\nline 1000\nline 1001\n");
}

TEST_F(LogChunks, store_compressible_text_as_zstd_and_incompressible_text_raw) {
    std::string text;
    for (int i = 0; i < 500; ++i)
        text += "compiling module " + std::to_string(i % 7) + "\n";
    append(text);
    append("x\n");
    const auto stored = chunks();
    ASSERT_EQ(stored.size(), 2U);
    EXPECT_EQ(stored[0].compressed, 4);
    EXPECT_LT(stored[0].stored_size, text.size() / 5);
    EXPECT_EQ(stored[1].compressed, 0);
    EXPECT_EQ(stored[1].content, "x");
    EXPECT_EQ(read(0, 500), text + "x\n");
}

TEST_F(LogChunks, read_the_raw_chunks_buildbot_writes) {
    insert_raw_chunk(0, 2, "a\nb\nc", 0);
    insert_raw_chunk(3, 3, "d", 0);
    EXPECT_EQ(read(1, 3), "b\nc\nd\n");
    EXPECT_EQ(read(3, 10), "d\n");
    EXPECT_EQ(read(4, 10), "");
    EXPECT_EQ(append("e\n").first_line, 4);
    EXPECT_EQ(read(0, 4), "a\nb\nc\nd\ne\n");
}

TEST_F(LogChunks, refuse_buildbot_gzip_chunks_with_a_clear_error) {
    insert_raw_chunk(0, 0, "\x78\x9c not really zlib", 1);
    try {
        read(0, 0);
        FAIL() << "no exception";
    } catch (const DatabaseError& error) {
        EXPECT_NE(std::string(error.what()).find("gzip"), std::string::npos) << error.what();
    }
    append("next\n");
    database_->write_sync([this](Connection& c) { compact_log(c, logid_); });  // left alone
    EXPECT_EQ(chunks().size(), 2U);
}

TEST_F(LogChunks, refuse_an_unknown_log) {
    EXPECT_THROW(
        database_->write_sync([](Connection& c) { return append_log_lines(c, 999, "x\n"); }),
        DatabaseError);
}

}  // namespace
}  // namespace kiln::db
