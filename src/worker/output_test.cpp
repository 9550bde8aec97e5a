// SPDX-License-Identifier: Apache-2.0
#include "protocol/codec.hpp"
#include "worker/line_boundary_finder.hpp"
#include "worker/shell_format.hpp"
#include "worker/update_buffer.hpp"

#include <gtest/gtest.h>

using namespace kiln::worker;
using kiln::protocol::LineChunk;
using kiln::protocol::Value;

namespace {

std::string all_text(LineBoundaryFinder& finder, std::initializer_list<std::string_view> pieces) {
    std::string text;
    for (auto piece : pieces)
        if (auto lines = finder.append(piece, 1.0)) text += lines->text;
    if (auto rest = finder.flush()) text += rest->text;
    return text;
}

}  // namespace

TEST(LineBoundaryFinder, normalises_newlines_like_the_stock_newline_re) {
    LineBoundaryFinder finder;
    EXPECT_EQ(all_text(finder, {"progress 1\rprogress 2\rdone\r\n"}),
              "progress 1\nprogress 2\ndone\n");
    LineBoundaryFinder ansi;
    EXPECT_EQ(all_text(ansi, {"a\x1b[ub\x1b[12;3Hc\x1b[2Jd\x1b[1;1fe\b\b\bf\n"}),
              "a\nb\nc\nd\ne\nf\n");
}

TEST(LineBoundaryFinder, joins_a_crlf_split_across_pieces) {
    LineBoundaryFinder finder;
    EXPECT_EQ(all_text(finder, {"one\r", "\ntwo\r", "\n"}), "one\ntwo\n");
}

TEST(LineBoundaryFinder, keeps_partial_lines_until_flushed_with_a_newline) {
    LineBoundaryFinder finder;
    EXPECT_FALSE(finder.append("partial", 1.0).has_value());
    auto lines = finder.append(" line\nnext", 2.0);
    ASSERT_TRUE(lines);
    EXPECT_EQ(lines->text, "partial line\n");
    EXPECT_EQ(lines->line_times, std::vector<double>{1.0});  // when its first character came
    auto rest = finder.flush();
    ASSERT_TRUE(rest);
    EXPECT_EQ(rest->text, "next\n");
    EXPECT_EQ(rest->newline_positions, std::vector<std::int64_t>{4});
}

TEST(LineBoundaryFinder, cuts_long_lines_without_losing_any_character) {
    LineBoundaryFinder finder(4096);
    std::string line;
    for (int i = 0; i < 10000; ++i)
        line += static_cast<char>('a' + i % 26);
    auto text = all_text(finder, {line + "\n"});
    std::string joined;
    std::size_t pieces = 0;
    std::size_t start = 0;
    while (start < text.size()) {
        auto end = text.find('\n', start);
        ASSERT_LE(end - start, 4095u);
        joined += text.substr(start, end - start);
        start = end + 1;
        ++pieces;
    }
    EXPECT_EQ(joined, line);  // the stock worker loses the middle of such a line
    EXPECT_EQ(pieces, 3u);
}

TEST(LineBoundaryFinder, counts_positions_and_lengths_in_characters_not_bytes) {
    LineBoundaryFinder finder(4);
    auto lines = finder.append("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\n", 1.0);  // 4 x U+00E9
    ASSERT_TRUE(lines);
    EXPECT_EQ(lines->text, "\xc3\xa9\xc3\xa9\xc3\xa9\n\xc3\xa9\n");
    EXPECT_EQ(lines->newline_positions, (std::vector<std::int64_t>{3, 5}));
}

TEST(LineBoundaryFinder, gives_the_same_lines_and_positions_in_any_pieces) {
    // ASCII and not, short lines, lines longer than the limit, and CRLFs: the fast path
    // (ASCII lines under the limit) and the general one must agree piece by piece.
    std::string text;
    for (int i = 0; i < 200; ++i) {
        text += std::string(static_cast<std::size_t>(i % 37), static_cast<char>('a' + i % 26));
        if (i % 17 == 0) text += "\xc3\xa9";
        if (i % 29 == 0) text += std::string(150, 'L');  // longer than the limit below
        text += i % 23 == 0 ? "\r\n" : "\n";
    }
    auto lines_of = [&](std::size_t piece) {
        LineBoundaryFinder finder(100);
        std::vector<std::string> lines;
        auto take = [&](const std::optional<LineChunk>& chunk) {
            if (!chunk) return;
            ASSERT_EQ(chunk->newline_positions.size(), chunk->line_times.size());
            std::size_t start = 0;
            std::int64_t chars = 0;
            for (std::size_t i = 0; i < chunk->line_times.size(); ++i) {
                auto end = chunk->text.find('\n', start);
                ASSERT_NE(end, std::string::npos);
                for (std::size_t j = start; j <= end; ++j)
                    if ((static_cast<unsigned char>(chunk->text[j]) & 0xc0) != 0x80) ++chars;
                EXPECT_EQ(chunk->newline_positions[i], chars - 1);
                lines.push_back(chunk->text.substr(start, end - start));
                start = end + 1;
            }
            EXPECT_EQ(start, chunk->text.size());
        };
        double time = 0;
        for (std::size_t at = 0; at < text.size(); at += piece)
            take(finder.append_owned(text.substr(at, piece), ++time));
        take(finder.flush());
        return lines;
    };
    const auto whole = lines_of(text.size());
    for (std::size_t piece : {1u, 7u, 64u, 1000u})
        EXPECT_EQ(lines_of(piece), whole) << piece;
    std::size_t long_pieces = 0;  // cut at the limit: 99 characters
    for (const auto& line : whole) {
        std::size_t chars = 0;
        for (char c : line)
            if ((static_cast<unsigned char>(c) & 0xc0) != 0x80) ++chars;
        EXPECT_LE(chars, 99u);
        if (chars == 99) ++long_pieces;
    }
    EXPECT_GT(long_pieces, 0u);
}

TEST(LineBoundaryFinder, a_line_keeps_the_time_of_its_first_character_on_the_fast_path) {
    LineBoundaryFinder finder;
    EXPECT_FALSE(finder.append_owned("start", 1.0));
    auto lines = finder.append_owned(" end\nnext\nlast", 2.0);
    ASSERT_TRUE(lines);
    EXPECT_EQ(lines->text, "start end\nnext\n");
    EXPECT_EQ(lines->line_times, (std::vector<double>{1.0, 2.0}));
    EXPECT_EQ(lines->newline_positions, (std::vector<std::int64_t>{9, 14}));
    auto more = finder.append_owned("\n", 3.0);
    ASSERT_TRUE(more);
    EXPECT_EQ(more->text, "last\n");
    EXPECT_EQ(more->line_times, std::vector<double>{2.0});
}

TEST(Utf8Decoder, returns_valid_owned_input_as_it_is_and_decodes_the_rest) {
    Utf8Decoder decoder;
    EXPECT_EQ(decoder.decode_owned("plain \xc3\xa9\n"), "plain \xc3\xa9\n");
    EXPECT_EQ(decoder.decode_owned("cut \xe2\x82"), "cut ");
    EXPECT_EQ(decoder.decode_owned("\xac ok"), "\xe2\x82\xac ok");
    EXPECT_EQ(decoder.decode_owned("bad \xff"), "bad \xef\xbf\xbd");
}

TEST(UpdateBuffer, entries_encode_as_their_values_do) {
    UpdateBuffer buffer(65536);
    buffer.add_lines("stdout", LineChunk{"a\n", {1}, {1.5}});
    buffer.add_log("build.log", LineChunk{"l\n", {1}, {2.5}});
    buffer.add_status("rc", Value{3});
    buffer.flush();
    auto batches = buffer.take_ready();
    ASSERT_EQ(batches.size(), 1u);
    ASSERT_EQ(batches[0].size(), 3u);
    for (const auto& entry : batches[0]) {
        std::string direct;
        entry.encode(direct);
        EXPECT_EQ(direct, kiln::protocol::encode(
                              Value{kiln::protocol::Array{Value{entry.key}, entry.to_value()}}))
            << entry.key;
    }
    EXPECT_EQ(batches[0][1].to_value(),
              (Value{kiln::protocol::Array{Value{"build.log"},
                                           LineChunk{"l\n", {1}, {2.5}}.to_value()}}));
}

TEST(Utf8Decoder, replaces_invalid_bytes_and_keeps_sequences_split_across_pieces) {
    Utf8Decoder decoder;
    EXPECT_EQ(decoder.decode("ok \xe2\x82"), "ok ");
    EXPECT_EQ(decoder.decode("\xac!"), "\xe2\x82\xac!");
    EXPECT_EQ(decoder.decode("\xff"), "\xef\xbf\xbd");
    EXPECT_EQ(decoder.decode("\xe2\x82"
                             "A"),
              "\xef\xbf\xbd"
              "A");
    EXPECT_EQ(decoder.decode("\xc3", true), "\xef\xbf\xbd");
}

TEST(UpdateBuffer, merges_consecutive_output_of_one_stream) {
    UpdateBuffer buffer(65536);
    buffer.add_lines("stdout", LineChunk{"a\n", {1}, {1.0}});
    buffer.add_lines("stdout", LineChunk{"bc\n", {2}, {2.0}});
    buffer.add_lines("stderr", LineChunk{"e\n", {1}, {3.0}});
    buffer.add_status("rc", Value{0});
    EXPECT_TRUE(buffer.take_ready().empty());
    buffer.flush();
    auto batches = buffer.take_ready();
    ASSERT_EQ(batches.size(), 1u);
    ASSERT_EQ(batches[0].size(), 3u);
    auto merged = LineChunk::from_value(batches[0][0].to_value());
    ASSERT_TRUE(merged);
    EXPECT_EQ(merged->text, "a\nbc\n");
    EXPECT_EQ(merged->newline_positions, (std::vector<std::int64_t>{1, 4}));
    EXPECT_EQ(batches[0][2].key, "rc");
}

TEST(UpdateBuffer, sends_a_full_buffer_before_adding_more) {
    UpdateBuffer buffer(100);
    buffer.add_lines("stdout", LineChunk{std::string(59, 'x') + "\n", {59}, {1.0}});
    EXPECT_TRUE(buffer.take_ready().empty());
    buffer.add_lines("stderr", LineChunk{std::string(59, 'y') + "\n", {59}, {1.0}});
    EXPECT_EQ(buffer.take_ready().size(), 1u);
}

TEST(UpdateBuffer, fills_batches_with_output_larger_than_the_room_left) {
    UpdateBuffer buffer(100);
    buffer.add_lines("stdout", LineChunk{"x\n", {1}, {1.0}});  // 18 bytes buffered
    LineChunk more;
    for (int i = 0; i < 4; ++i) {
        more.text += "0123456789012345678\n";  // 20 + 16 = 36 bytes each
        more.newline_positions.push_back(static_cast<std::int64_t>(more.text.size()) - 1);
        more.line_times.push_back(2.0);
    }
    buffer.add_lines("stdout", more);
    auto ready = buffer.take_ready();
    ASSERT_EQ(ready.size(), 1u);  // 18 + 2 x 36 = 90 fit; the rest waits for more output
    auto first = LineChunk::from_value(ready[0][0].to_value());
    ASSERT_TRUE(first);
    EXPECT_EQ(first->text, "x\n0123456789012345678\n0123456789012345678\n");
    EXPECT_EQ(first->newline_positions, (std::vector<std::int64_t>{1, 21, 41}));
    buffer.flush();
    auto rest = buffer.take_ready();
    ASSERT_EQ(rest.size(), 1u);
    EXPECT_EQ(LineChunk::from_value(rest[0][0].to_value())->text,
              "0123456789012345678\n0123456789012345678\n");
}

TEST(UpdateBuffer, splits_output_larger_than_a_buffer_at_line_boundaries) {
    UpdateBuffer buffer(100);
    LineChunk big;
    for (int i = 0; i < 20; ++i) {
        big.text += std::string(29, 'a' + static_cast<char>(i)) + "\n";
        big.newline_positions.push_back(static_cast<std::int64_t>(big.text.size()) - 1);
        big.line_times.push_back(i);
    }
    buffer.add_lines("stdout", big);
    buffer.flush();
    std::string joined;
    for (const auto& batch : buffer.take_ready()) {
        ASSERT_EQ(batch.size(), 1u);
        auto part = LineChunk::from_value(batch[0].to_value());
        ASSERT_TRUE(part);
        EXPECT_LE(part->text.size(), 100u);
        EXPECT_EQ(part->text.back(), '\n');
        joined += part->text;
    }
    EXPECT_EQ(joined, big.text);
}

TEST(UpdateBuffer, split_parts_carry_newline_positions_in_code_points_of_their_own_text) {
    UpdateBuffer buffer(100);
    LineChunk big;
    std::int64_t chars = 0;
    for (int i = 0; i < 20; ++i) {
        const std::string line =
            "\xc3\xa9" + std::string(static_cast<std::size_t>(10 + i), 'x') + "\n";
        big.text += line;
        chars += 1 + 10 + i + 1;  // 'é' is one code point
        big.newline_positions.push_back(chars - 1);
        big.line_times.push_back(i);
    }
    buffer.add_lines("stdout", big);
    buffer.flush();
    int parts = 0;
    for (const auto& batch : buffer.take_ready()) {
        auto part = LineChunk::from_value(batch[0].to_value());
        ASSERT_TRUE(part);
        std::vector<std::int64_t> expected;
        std::int64_t count = 0;
        for (char c : part->text) {
            if ((static_cast<unsigned char>(c) & 0xc0) != 0x80) ++count;
            if (c == '\n') expected.push_back(count - 1);
        }
        EXPECT_EQ(part->newline_positions, expected);
        ++parts;
    }
    EXPECT_GT(parts, 2);
}

TEST(ShellEnvironment, merges_lists_pythonpath_nil_and_braced_variables_as_the_stock_worker) {
    std::map<std::string, std::string> worker_env = {
        {"HOME", "/root"}, {"PATH", "/usr/bin"}, {"DROP", "x"}};
    Value overrides{kiln::protocol::Map{
        {"FOO", Value{"foo-${HOME}-${NO_SUCH_VAR}-$HOME"}},
        {"PATH", Value{kiln::protocol::Array{Value{"/opt/ref/bin"}, Value{"${PATH}"}}}},
        {"PYTHONPATH", Value{kiln::protocol::Array{Value{"/opt/ref/py"}}}},
        {"DROP", Value{}}}};
    auto env = merge_environment(worker_env, &overrides, "/tmp/w");
    ASSERT_TRUE(env);
    EXPECT_EQ(env->at("FOO"), "foo-/root--$HOME");
    EXPECT_EQ(env->at("PATH"), "/opt/ref/bin:/usr/bin");
    EXPECT_EQ(env->at("PYTHONPATH"), "/opt/ref/py:");
    EXPECT_FALSE(env->contains("DROP"));
    EXPECT_EQ(env->at("PWD"), "/tmp/w");
}

TEST(ShellEnvironment, rejects_values_that_are_not_strings_or_lists) {
    Value overrides{kiln::protocol::Map{{"N", Value{3}}}};
    auto env = merge_environment({}, &overrides, "/tmp");
    ASSERT_FALSE(env);
    EXPECT_NE(env.error().message.find("key 'N' is incorrect"), std::string::npos);
}

TEST(ShellFormat, quotes_and_reprs_like_python) {
    EXPECT_EQ(shell_quote("seq"), "seq");
    EXPECT_EQ(shell_quote("a b"), "'a b'");
    EXPECT_EQ(shell_quote("it's"), "'it'\"'\"'s'");
    EXPECT_EQ(shell_quote(""), "''");
    EXPECT_EQ(python_bytes_repr("a'b"), "b\"a'b\"");
    EXPECT_EQ(python_bytes_repr("x\\y\n\x01"), "b'x\\\\y\\n\\x01'");
    EXPECT_EQ(format_number(1200), "1200");
    EXPECT_EQ(format_number(2.5), "2.5");
    EXPECT_EQ(format_elapsed(0.00701), "elapsedTime=0.007010\n");
}
