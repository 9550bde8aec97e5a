// SPDX-License-Identifier: Apache-2.0
#include "protocol/codec.hpp"

#include <gtest/gtest.h>

using namespace kiln::protocol;

namespace {

std::string hex(std::string_view bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (char ch : bytes) {
        auto c = static_cast<unsigned char>(ch);
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out;
}

std::string unhex(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i + 1 < text.size(); i += 2)
        out += static_cast<char>(std::stoi(std::string(text.substr(i, 2)), nullptr, 16));
    return out;
}

}  // namespace

TEST(Codec, encodes_integers_in_the_smallest_format_as_python_msgpack_does) {
    EXPECT_EQ(hex(encode(Value{0})), "00");
    EXPECT_EQ(hex(encode(Value{127})), "7f");
    EXPECT_EQ(hex(encode(Value{200})), "ccc8");
    EXPECT_EQ(hex(encode(Value{16384})), "cd4000");
    EXPECT_EQ(hex(encode(Value{70000})), "ce00011170");
    EXPECT_EQ(hex(encode(Value{-1})), "ff");
    EXPECT_EQ(hex(encode(Value{-33})), "d0df");
    EXPECT_EQ(hex(encode(Value{-200})), "d1ff38");
}

TEST(Codec, encodes_floats_as_float64_and_text_as_str_and_bytes_as_bin) {
    EXPECT_EQ(hex(encode(Value{0.5})), "cb3fe0000000000000");
    EXPECT_EQ(hex(encode(Value{"ab"})), "a26162");
    EXPECT_EQ(hex(encode(Value{Binary{"ab"}})), "c4026162");
    EXPECT_EQ(hex(encode(Value{std::string(40, 'x')})).substr(0, 4), "d928");
}

TEST(Codec, round_trips_every_type_and_keeps_map_order) {
    Value value{Map{{"z", Value{}},
                    {"a", Value{true}},
                    {"n", Value{-123456789012LL}},
                    {"u", Value{18446744073709551615ULL}},
                    {"f", Value{1.25}},
                    {"s", Value{"héllo"}},
                    {"b", Value{Binary{std::string("\0\xff", 2)}}},
                    {"l", Value{Array{Value{1}, Value{Array{}}, Value{Map{}}}}}}};
    auto decoded = decode(encode(value));
    ASSERT_TRUE(decoded) << decoded.error().message;
    EXPECT_EQ(*decoded, value);
    EXPECT_EQ(decoded->if_map()->front().first, "z");
}

TEST(Codec, decodes_float32_as_a_number) {
    auto decoded = decode(unhex("ca3fc00000"));
    ASSERT_TRUE(decoded);
    EXPECT_EQ(decoded->as_number(), 1.5);
}

TEST(Codec, rejects_invalid_utf8_in_str_like_the_stock_peers) {
    auto decoded = decode(unhex("a2c328"));
    ASSERT_FALSE(decoded);
    EXPECT_NE(decoded.error().message.find("UTF-8"), std::string::npos);
}

TEST(Codec, rejects_integer_map_keys) { EXPECT_FALSE(decode(unhex("810101"))); }

TEST(Codec, rejects_truncated_trailing_and_empty_input) {
    EXPECT_FALSE(decode(""));
    EXPECT_FALSE(decode(unhex("82a26f70")));
    EXPECT_FALSE(decode(unhex("c0c0")));
    EXPECT_FALSE(decode(unhex("dd7fffffff")));  // array claiming 2^31 entries, no data
}

TEST(Codec, rejects_nesting_beyond_the_limit) {
    std::string deep(100, '\x91');
    deep += '\xc0';
    EXPECT_FALSE(decode(deep));
    DecodeLimits generous;
    generous.max_depth = 200;
    EXPECT_TRUE(decode(deep, generous));
}

TEST(Codec, rejects_ext_types) { EXPECT_FALSE(decode(unhex("d40102"))); }

TEST(Utf8, accepts_valid_and_rejects_overlong_surrogate_and_truncated_sequences) {
    EXPECT_TRUE(is_valid_utf8("plain ascii"));
    EXPECT_TRUE(is_valid_utf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));
    EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));          // overlong '/'
    EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));      // surrogate
    EXPECT_FALSE(is_valid_utf8("\xe2\x82"));          // truncated
    EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // beyond U+10FFFF
}
