// SPDX-License-Identifier: Apache-2.0
#include "core/base64.hpp"
#include "core/expected.hpp"
#include "core/results.hpp"

#include <gtest/gtest.h>

using namespace kiln::core;

TEST(Base64, encodes_the_reference_worker_credentials_as_the_stock_worker_does) {
    EXPECT_EQ(base64_encode("ref-worker:ref-pass"), "cmVmLXdvcmtlcjpyZWYtcGFzcw==");
}

TEST(Base64, round_trips_every_length_and_byte_value) {
    std::string bytes;
    for (int i = 0; i < 300; ++i) {
        bytes += static_cast<char>(i * 7 % 256);
        auto decoded = base64_decode(base64_encode(bytes));
        ASSERT_TRUE(decoded.has_value()) << i;
        EXPECT_EQ(*decoded, bytes);
    }
}

TEST(Base64, rejects_malformed_text) {
    EXPECT_FALSE(base64_decode("abc").has_value());
    EXPECT_FALSE(base64_decode("ab=c").has_value());
    EXPECT_FALSE(base64_decode("a!cd").has_value());
    EXPECT_FALSE(base64_decode("ab==abcd").has_value());
}

TEST(Results, uses_buildbot_numbers_and_names) {
    EXPECT_EQ(static_cast<int>(Results::cancelled), 6);
    EXPECT_EQ(to_string(Results::exception), "exception");
    EXPECT_EQ(results_from_string("retry"), Results::retry);
    EXPECT_FALSE(results_from_string("nope").has_value());
}

TEST(Results, worst_follows_buildbot_precedence) {
    EXPECT_EQ(worst(Results::success, Results::warnings), Results::warnings);
    EXPECT_EQ(worst(Results::skipped, Results::success), Results::success);
    EXPECT_EQ(worst(Results::failure, Results::exception), Results::exception);
    EXPECT_EQ(worst(Results::cancelled, Results::retry), Results::cancelled);
}

TEST(Expected, holds_a_value_or_an_error) {
    Expected<int> ok = 5;
    Expected<int> bad = fail(ErrorKind::bad_input, "no");
    ASSERT_TRUE(ok);
    EXPECT_EQ(*ok, 5);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().kind, ErrorKind::bad_input);
}

#include "core/ascii.hpp"

TEST(AsciiRun, stops_at_the_first_non_ascii_byte_whatever_its_alignment) {
    using kiln::core::ascii_run;
    EXPECT_EQ(ascii_run(""), 0u);
    EXPECT_EQ(ascii_run("plain ascii text, longer than eight"), 35u);
    for (std::size_t at = 0; at < 20; ++at) {
        std::string text(24, 'a');
        text[at] = '\xc3';
        EXPECT_EQ(ascii_run(text), at) << at;
        EXPECT_EQ(ascii_run(text, at), 0u);
    }
    EXPECT_EQ(ascii_run("ab\xc3\xa9"
                        "cd",
                        4),
              2u);
}
