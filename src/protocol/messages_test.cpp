// SPDX-License-Identifier: Apache-2.0
#include "protocol/codec.hpp"
#include "protocol/messages.hpp"

#include <gtest/gtest.h>

using namespace kiln::protocol;
using kiln::core::ErrorKind;

TEST(Messages, rejects_envelopes_without_op_or_seq_number) {
    EXPECT_FALSE(parse_message(Value{Array{}}));
    EXPECT_FALSE(parse_message(Value{Map{{"seq_number", Value{1}}}}));
    EXPECT_FALSE(parse_message(Value{Map{{"op", Value{"print"}}}}));
    EXPECT_FALSE(parse_message(Value{Map{{"op", Value{"print"}}, {"seq_number", Value{-1}}}}));
    EXPECT_FALSE(parse_message(Value{Map{{"op", Value{3}}, {"seq_number", Value{1}}}}));
}

TEST(Messages, unknown_ops_get_the_stock_error_text) {
    Request request{"start_build", 4, {}};
    auto typed = parse_master_request(request);
    ASSERT_FALSE(typed);
    EXPECT_EQ(typed.error().kind, ErrorKind::not_found);
    EXPECT_EQ(typed.error().message, "Command start_build does not exist.");
    EXPECT_FALSE(parse_worker_request(Request{"keepalive", 1, {}}));
}

TEST(Messages, missing_fields_are_named) {
    auto typed = parse_master_request(Request{"start_command", 1, {{"command_id", Value{"3"}}}});
    ASSERT_FALSE(typed);
    EXPECT_NE(typed.error().message.find("command_name"), std::string::npos);
    auto settings = parse_master_request(
        Request{"set_worker_settings", 1, {{"args", Value{Map{{"newline_re", Value{"x"}}}}}}});
    ASSERT_FALSE(settings);
    EXPECT_NE(settings.error().message.find("max_line_length"), std::string::npos);
}

TEST(Messages, response_flags_failure_by_the_presence_of_is_exception) {
    Response failed{7, Value{"boom"}, true};
    auto parsed = decode_message(encode_response(failed));
    ASSERT_TRUE(parsed);
    const auto& response = std::get<Response>(*parsed);
    EXPECT_TRUE(response.is_exception);
    EXPECT_EQ(response.seq_number, 7u);
    EXPECT_EQ(response.result, Value{"boom"});
}

TEST(Messages, text_fields_accept_bin_as_the_python_peers_may_send) {
    Request request{"start_command",
                    2,
                    {{"command_id", Value{Binary{"5"}}},
                     {"command_name", Value{Binary{"shell"}}},
                     {"args", Value{Map{}}}}};
    auto typed = parse_master_request(request);
    ASSERT_TRUE(typed);
    EXPECT_EQ(std::get<StartCommand>(*typed).command_name, "shell");
}

TEST(Messages, line_chunks_tolerate_missing_positions_and_times) {
    auto full = LineChunk::from_value(LineChunk{"a\nbc\n", {1, 4}, {1.0, 2.0}}.to_value());
    ASSERT_TRUE(full);
    EXPECT_EQ(full->newline_positions, (std::vector<std::int64_t>{1, 4}));
    auto bare = LineChunk::from_value(Value{Array{Value{"x\n"}}});
    ASSERT_TRUE(bare);
    EXPECT_EQ(bare->text, "x\n");
    EXPECT_FALSE(LineChunk::from_value(Value{Array{}}));
}

TEST(PendingRequests, matches_out_of_order_responses_once_each) {
    PendingRequests<std::string> pending;
    EXPECT_EQ(pending.add("a"), 0u);
    EXPECT_EQ(pending.add("b"), 1u);
    EXPECT_EQ(pending.add("c"), 2u);
    EXPECT_EQ(pending.take(2), "c");
    EXPECT_EQ(pending.take(0), "a");
    EXPECT_FALSE(pending.take(2).has_value());
    EXPECT_FALSE(pending.take(9).has_value());
    auto rest = pending.take_all();
    ASSERT_EQ(rest.size(), 1u);
    EXPECT_EQ(rest[0], "b");
    EXPECT_EQ(pending.size(), 0u);
}

TEST(Messages, line_chunks_encode_without_values_exactly_as_the_value_encoding) {
    LineChunk chunk;
    chunk.text = "h\xc3\xa9llo\n";
    // Every integer format boundary, and floats of all kinds.
    for (std::int64_t p :
         {0LL,   1LL,     31LL,    32LL,         127LL,        128LL,         255LL,
          256LL, 65535LL, 65536LL, 4294967295LL, 4294967296LL, -1LL,          -32LL,
          -33LL, -128LL,  -129LL,  -32768LL,     -32769LL,     -2147483648LL, -2147483649LL})
        chunk.newline_positions.push_back(p);
    for (double t : {0.0, 1.5, 1700000000.123456, -2.0})
        chunk.line_times.push_back(t);
    std::string direct;
    encode_line_chunk(chunk, direct);
    EXPECT_EQ(direct, encode(chunk.to_value()));

    // Sizes that change the str and array headers.
    for (std::size_t size : {31u, 32u, 255u, 256u, 65535u, 65536u}) {
        LineChunk big{std::string(size - 1, 'x') + "\n", {}, {}};
        for (std::size_t i = 0; i < size % 20 + (size > 60000 ? 70000 : 0); ++i) {
            big.newline_positions.push_back(static_cast<std::int64_t>(i));
            big.line_times.push_back(0.25);
        }
        std::string out;
        encode_line_chunk(big, out);
        EXPECT_EQ(out, encode(big.to_value())) << size;
    }
}

TEST(Messages, requests_encoded_in_pieces_match_encode_request) {
    Map fields{{"args", Value{Array{Value{Array{Value{"rc"}, Value{0}}}}}},
               {"command_id", Value{"12"}}};
    std::string pieces;
    begin_request("update", fields.size(), pieces);
    for (const auto& [key, value] : fields) {
        MessageWriter writer(pieces);
        writer.str(key);
        writer.value(value);
    }
    end_request(300, pieces);
    EXPECT_EQ(pieces, encode_request("update", 300, fields));
}

TEST(Messages, updates_parsed_from_a_movable_request_equal_those_from_a_copy) {
    Value chunk = LineChunk{"a\nb\n", {1, 3}, {1.0, 2.0}}.to_value();
    Request request{"update",
                    5,
                    {{"args", Value{Array{Value{Array{Value{"stdout"}, chunk}},
                                          Value{Array{Value{"rc"}, Value{1}}}}}},
                     {"command_id", Value{"7"}}}};
    auto copied = parse_worker_request(request);
    auto moved = parse_worker_request(std::move(request));
    ASSERT_TRUE(copied);
    ASSERT_TRUE(moved);
    const auto& a = std::get<Update>(*copied);
    const auto& b = std::get<Update>(*moved);
    EXPECT_EQ(a.command_id, "7");
    EXPECT_EQ(a.updates, b.updates);
    ASSERT_EQ(b.updates.size(), 2u);
    EXPECT_EQ(b.updates[0].second, chunk);
    EXPECT_EQ(LineChunk::text_of(b.updates[0].second), "a\nb\n");
    EXPECT_EQ(LineChunk::text_of(Value{"bare\n"}), "bare\n");
    EXPECT_FALSE(LineChunk::text_of(Value{Array{}}));
    EXPECT_FALSE(LineChunk::text_of(Value{3}));
}

TEST(Codec, decodes_every_format_the_encoder_and_python_msgpack_write) {
    // Integers at each format boundary, both signs; str/bin/array/map headers of each width.
    Array items;
    for (std::int64_t i :
         {0LL, 127LL, 128LL, 255LL, 256LL, 65535LL, 65536LL, 4294967295LL, 4294967296LL, -1LL,
          -32LL, -33LL, -128LL, -129LL, -32768LL, -32769LL, -2147483648LL, -2147483649LL})
        items.emplace_back(i);
    items.emplace_back(18446744073709551615ULL);
    items.emplace_back(std::string(40, 's'));
    items.emplace_back(std::string(300, 's'));
    items.emplace_back(std::string(70000, 's'));
    items.emplace_back(Binary{std::string(300, 'b')});
    items.emplace_back(Binary{std::string(70000, 'b')});
    items.emplace_back(Array(20, Value{1}));
    Map many;
    for (int i = 0; i < 20; ++i)
        many.emplace_back("k" + std::to_string(i), Value{i});
    items.emplace_back(std::move(many));
    Value value{std::move(items)};
    auto decoded = decode(encode(value));
    ASSERT_TRUE(decoded) << decoded.error().message;
    EXPECT_EQ(*decoded, value);
    // A map key that is bin is accepted as text (the Python peers use both).
    auto bin_key = decode(std::string("\x81\xc4\x01k\x01", 5));
    ASSERT_TRUE(bin_key);
    EXPECT_EQ(bin_key->find("k")->as_int(), 1);
}
