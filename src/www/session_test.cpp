// SPDX-License-Identifier: Apache-2.0
// Session tokens (JWT HS256 as Buildbot's), cookies, and the shared session key.
#include "www/crypto.hpp"
#include "www/session.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kiln::www {
namespace {

using ::testing::HasSubstr;

constexpr std::int64_t kNow = 1'700'000'000;

boost::json::object alice_info() {
    return boost::json::parse(R"({"username":"alice","email":"a@x","full_name":"Alice",
                                  "groups":["kiln-admins"]})")
        .as_object();
}

// What a session token is made of, for tampering.
struct Parts {
    std::string header, claims, signature;
};

Parts split(const std::string& token) {
    const auto first = token.find('.');
    const auto last = token.rfind('.');
    return {token.substr(0, first), token.substr(first + 1, last - first - 1),
            token.substr(last + 1)};
}

std::string sign(const std::string& key, const std::string& header_json,
                 const std::string& claims_json) {
    const auto signed_part = base64url_encode(header_json) + "." + base64url_encode(claims_json);
    return signed_part + "." + base64url_encode(hmac_sha256(key, signed_part));
}

TEST(SessionCodec, a_token_decodes_to_its_user_info_until_it_expires) {
    const SessionCodec codec{"key"};
    const auto token = codec.encode(alice_info(), kNow + 60);
    auto decoded = codec.decode(token, kNow);
    ASSERT_TRUE(decoded) << decoded.error().message;
    EXPECT_EQ(*decoded, alice_info());
    EXPECT_TRUE(codec.decode(token, kNow + 59));
    auto expired = codec.decode(token, kNow + 60);
    ASSERT_FALSE(expired);
    EXPECT_THAT(expired.error().message, HasSubstr("expired"));
}

TEST(SessionCodec, its_tokens_are_standard_hs256_jwts) {
    const SessionCodec codec{"key"};
    const auto parts = split(codec.encode(alice_info(), kNow + 60));
    EXPECT_EQ(boost::json::parse(*base64url_decode(parts.header)),
              boost::json::parse(R"({"alg":"HS256","typ":"JWT"})"));
    const auto claims = boost::json::parse(*base64url_decode(parts.claims));
    EXPECT_EQ(claims.at("exp"), boost::json::value(kNow + 60));
    EXPECT_EQ(claims.at("user_info"), boost::json::value(alice_info()));
    EXPECT_EQ(*base64url_decode(parts.signature),
              hmac_sha256("key", parts.header + "." + parts.claims));
}

TEST(SessionCodec, reads_a_token_pyjwt_made_for_buildbot) {
    // /usr/bin/python3 -c 'import jwt; print(jwt.encode({"user_info": {...}, "exp":
    // 4102444800}, "bb-secret", algorithm="HS256"))' with PyJWT 2.6.0 (Buildbot 3.7's).
    const std::string token =
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VyX2luZm8iOnsidXNlcm5hbWUiOiJhbGljZSIsImVtYW"
        "lsIjoiYUB4IiwiZnVsbF9uYW1lIjoiQWxpY2UiLCJncm91cHMiOlsia2lsbi1hZG1pbnMiXX0sImV4cCI6NDEw"
        "MjQ0NDgwMH0.J-aGdZoAMJ-WNtR3_ULjBFumnhJh46ogdWONQbK8X9I";
    auto decoded = SessionCodec{"bb-secret"}.decode(token, kNow);
    ASSERT_TRUE(decoded) << decoded.error().message;
    EXPECT_EQ(*decoded, alice_info());
    EXPECT_FALSE(SessionCodec{"other-secret"}.decode(token, kNow));
}

TEST(SessionCodec, refuses_tampered_claims_signatures_and_other_keys) {
    const SessionCodec codec{"key"};
    const auto token = codec.encode(alice_info(), kNow + 60);
    const auto parts = split(token);
    // Claims changed (an admin group added), signature kept.
    auto claims = boost::json::parse(*base64url_decode(parts.claims)).as_object();
    claims["user_info"].as_object()["groups"] = boost::json::array{"kiln-admins", "root"};
    const auto forged = parts.header + "." + base64url_encode(boost::json::serialize(claims)) +
                        "." + parts.signature;
    auto refused = codec.decode(forged, kNow);
    ASSERT_FALSE(refused);
    EXPECT_THAT(refused.error().message, HasSubstr("bad signature"));
    // Signature changed.
    auto bad_signature = token;
    bad_signature.back() = bad_signature.back() == 'A' ? 'B' : 'A';
    EXPECT_FALSE(codec.decode(bad_signature, kNow));
    // Another key.
    EXPECT_FALSE(SessionCodec{"other"}.decode(token, kNow));
    // Expiry pushed out.
    claims = boost::json::parse(*base64url_decode(parts.claims)).as_object();
    claims["exp"] = kNow + 1'000'000;
    EXPECT_FALSE(codec.decode(parts.header + "." +
                                  base64url_encode(boost::json::serialize(claims)) + "." +
                                  parts.signature,
                              kNow));
}

TEST(SessionCodec, refuses_algorithms_other_than_hs256_even_with_a_valid_mac) {
    const SessionCodec codec{"key"};
    const std::string claims = R"({"user_info":{"username":"alice"},"exp":1800000000})";
    EXPECT_TRUE(codec.decode(sign("key", R"({"alg":"HS256","typ":"JWT"})", claims), kNow));
    for (const char* header :
         {R"({"alg":"none","typ":"JWT"})", R"({"alg":"HS512"})", R"({})", R"({"alg":"hs256"})"}) {
        auto decoded = codec.decode(sign("key", header, claims), kNow);
        ASSERT_FALSE(decoded) << header;
        EXPECT_THAT(decoded.error().message, HasSubstr("HS256")) << header;
    }
    // An unsigned token ("alg": "none" with an empty signature).
    EXPECT_FALSE(codec.decode(
        base64url_encode(R"({"alg":"none"})") + "." + base64url_encode(claims) + ".", kNow));
}

TEST(SessionCodec, refuses_malformed_tokens) {
    const SessionCodec codec{"key"};
    const std::vector<std::string> tokens = {
        "", "abc", "a.b", "a.b.c", "..", std::string(kMaxSessionTokenBytes + 1, 'a')};
    for (const auto& token : tokens)
        EXPECT_FALSE(codec.decode(token, kNow)) << token;
    // Signed but not JSON, no exp, no user_info.
    EXPECT_FALSE(codec.decode(sign("key", R"({"alg":"HS256"})", "not json"), kNow));
    EXPECT_FALSE(codec.decode(sign("key", R"({"alg":"HS256"})", R"({"user_info":{}})"), kNow));
    EXPECT_FALSE(codec.decode(sign("key", R"({"alg":"HS256"})", R"({"exp":1800000000})"), kNow));
    EXPECT_FALSE(
        codec.decode(sign("key", R"({"alg":"HS256"})", R"({"exp":"later","user_info":{}})"), kNow));
}

io::HttpRequest with_headers(std::vector<io::HttpHeader> headers) {
    io::HttpRequest request;
    request.method = "GET";
    request.target = "/";
    request.headers = std::move(headers);
    return request;
}

TEST(Cookies, find_cookie_picks_the_named_cookie_among_others_and_headers) {
    auto request = with_headers({{"Accept", "*/*"},
                                 {"Cookie", "XTWISTED_SESSION=wrong; theme=dark"},
                                 {"cookie", " a=1;TWISTED_SESSION=tok.en.sig ; b=2"}});
    EXPECT_EQ(find_cookie(request, "TWISTED_SESSION"), "tok.en.sig");
    EXPECT_EQ(find_cookie(request, "theme"), "dark");
    EXPECT_EQ(find_cookie(request, "b"), "2");
    EXPECT_EQ(find_cookie(request, "TWISTED_SECURE_SESSION"), std::nullopt);
    EXPECT_EQ(find_cookie(with_headers({{"Cookie", "TWISTED_SESSION=\"q\""}}), "TWISTED_SESSION"),
              "q");
    EXPECT_EQ(find_cookie(with_headers({{"Cookie", "TWISTED_SESSION"}}), "TWISTED_SESSION"),
              std::nullopt);
    EXPECT_EQ(find_cookie(with_headers({}), "TWISTED_SESSION"), std::nullopt);
}

TEST(Cookies, set_cookie_value_has_the_session_attributes) {
    EXPECT_EQ(set_cookie_value("TWISTED_SESSION", "v", false),
              "TWISTED_SESSION=v; Path=/; HttpOnly; SameSite=Lax");
    EXPECT_EQ(set_cookie_value("TWISTED_SECURE_SESSION", "v", true),
              "TWISTED_SECURE_SESSION=v; Path=/; HttpOnly; SameSite=Lax; Secure");
}

TEST(SessionKey, is_created_once_in_the_database_and_shared_afterwards) {
    auto opened = db::open_database("sqlite::memory:", ".");
    ASSERT_TRUE(opened) << opened.error().message;
    db::upgrade_schema(**opened);
    bus::Bus bus;
    data::Context context{**opened, bus};
    data::ObjectState state{context};
    boost::asio::io_context io;
    auto load = [&] {
        auto future = boost::asio::co_spawn(io, load_session_key(state), boost::asio::use_future);
        io.restart();
        io.run();
        return future.get();
    };
    const auto first = load();
    EXPECT_EQ(first.size(), 64u);
    EXPECT_EQ(first.find_first_not_of("0123456789abcdef"), std::string::npos);
    EXPECT_EQ(load(), first);
    // Buildbot's place for it, so Buildbot masters on the same database share it too.
    auto stored = (*opened)->read_sync([](db::Connection& c) {
        return c
            .query_one("SELECT s.value_json FROM object_state s JOIN objects o ON "
                       "o.id = s.objectid WHERE o.name = 'www' AND o.class_name = "
                       "'buildbot.www.service.WWWService' AND s.name = 'session_secret'")
            ->text(0);
    });
    EXPECT_EQ(stored, "\"" + first + "\"");
}

}  // namespace
}  // namespace kiln::www
