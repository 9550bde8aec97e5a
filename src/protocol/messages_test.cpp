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
