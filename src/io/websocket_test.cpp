// SPDX-License-Identifier: Apache-2.0
// HTTP Basic credentials as the upgrade request carries them.
#include "io/websocket.hpp"

#include <gtest/gtest.h>

using kiln::io::basic_authorization;
using kiln::io::parse_basic_authorization;
using Credentials = std::pair<std::string, std::string>;

TEST(BasicAuthorization, composes_the_header_the_stock_worker_sends) {
    EXPECT_EQ(basic_authorization("ref-worker", "ref-pass"), "Basic cmVmLXdvcmtlcjpyZWYtcGFzcw==");
}

TEST(BasicAuthorization, parses_the_header_the_stock_worker_sends) {
    EXPECT_EQ(parse_basic_authorization("Basic cmVmLXdvcmtlcjpyZWYtcGFzcw=="),
              (Credentials{"ref-worker", "ref-pass"}));
}

TEST(BasicAuthorization, round_trips_empty_and_non_ascii_credentials) {
    for (const auto& [name, password] : std::vector<Credentials>{
             {"", ""}, {"w", ""}, {"", "p"}, {"w\xc3\xa9rker", "p\xe2\x82\xac\x01 x"}}) {
        EXPECT_EQ(parse_basic_authorization(basic_authorization(name, password)),
                  (Credentials{name, password}))
            << name << ":" << password;
    }
}

TEST(BasicAuthorization, splits_at_the_first_colon_so_the_password_may_contain_colons) {
    EXPECT_EQ(parse_basic_authorization(basic_authorization("worker", "a:b::c")),
              (Credentials{"worker", "a:b::c"}));
}

TEST(BasicAuthorization, accepts_the_scheme_in_any_case_and_surrounding_spaces) {
    const auto token = basic_authorization("w", "p").substr(6);
    EXPECT_EQ(parse_basic_authorization("basic " + token), (Credentials{"w", "p"}));
    EXPECT_EQ(parse_basic_authorization("BASIC " + token), (Credentials{"w", "p"}));
    EXPECT_EQ(parse_basic_authorization("  Basic   " + token + " "), (Credentials{"w", "p"}));
}

TEST(BasicAuthorization, rejects_credentials_without_a_colon) {
    EXPECT_FALSE(parse_basic_authorization("Basic d29ya2Vy").has_value());  // "worker"
}

TEST(BasicAuthorization, rejects_bad_base64) {
    EXPECT_FALSE(parse_basic_authorization("Basic dzpw!!==").has_value());
    EXPECT_FALSE(parse_basic_authorization("Basic dzpwx").has_value());  // bad length
    EXPECT_FALSE(parse_basic_authorization("Basic dz pw").has_value());
}

TEST(BasicAuthorization, rejects_other_schemes_and_a_missing_token) {
    const auto token = basic_authorization("w", "p").substr(6);
    EXPECT_FALSE(parse_basic_authorization("Bearer " + token).has_value());
    EXPECT_FALSE(parse_basic_authorization("Basicx " + token).has_value());
    EXPECT_FALSE(parse_basic_authorization("Basic" + token).has_value());
    EXPECT_FALSE(parse_basic_authorization(token).has_value());
    EXPECT_FALSE(parse_basic_authorization("Basic").has_value());
    EXPECT_FALSE(parse_basic_authorization("Basic ").has_value());
    EXPECT_FALSE(parse_basic_authorization("").has_value());
}
