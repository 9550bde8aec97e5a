// SPDX-License-Identifier: Apache-2.0
// check_csrf: what a session-authenticated state-changing request must show, and who is exempt;
// url_origin's normalisation.
#include "www/csrf.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kiln::www {
namespace {

using ::testing::HasSubstr;

constexpr std::string_view kUrl = "https://ci.example.org/";

io::HttpRequest post(std::vector<io::HttpHeader> headers) {
    io::HttpRequest request;
    request.method = "POST";
    request.target = "/api/v2/builds/1";
    request.headers = std::move(headers);
    request.body = R"({"jsonrpc":"2.0","method":"stop","id":1,"params":{}})";
    return request;
}

Authentication by(CredentialKind kind) {
    Authentication authentication;
    authentication.credentials = kind;
    authentication.user.anonymous = kind == CredentialKind::none;
    authentication.user.username = "alice";
    return authentication;
}

std::string outcome(const io::HttpRequest& request, CredentialKind kind = CredentialKind::session,
                    std::string_view url = kUrl) {
    auto checked = check_csrf(request, by(kind), url);
    if (checked) return "accepted";
    EXPECT_EQ(checked.error().kind, core::ErrorKind::forbidden);
    return checked.error().message;
}

const io::HttpHeader kJson{"Content-Type", "application/json"};

TEST(Csrf, accepts_what_the_web_ui_sends) {
    EXPECT_EQ(
        outcome(
            post({kJson, {"Origin", "https://ci.example.org"}, {"Sec-Fetch-Site", "same-origin"}})),
        "accepted");
    EXPECT_EQ(outcome(post({{"content-type", "Application/JSON; charset=utf-8"},
                            {"origin", "HTTPS://CI.example.org:443"}})),
              "accepted");
    EXPECT_EQ(outcome(post({kJson, {"Referer", "https://ci.example.org/#/builders/1"}})),
              "accepted")
        << "an older browser without Origin, but with a same-origin Referer";
    EXPECT_EQ(outcome(post({kJson})), "accepted") << "nothing says it is cross-site";
    EXPECT_EQ(outcome(post({kJson, {"Sec-Fetch-Site", "none"}})), "accepted")
        << "typed by the user";
}

TEST(Csrf, refuses_a_session_request_from_another_site) {
    EXPECT_THAT(outcome(post({kJson, {"Sec-Fetch-Site", "cross-site"}})),
                HasSubstr("Sec-Fetch-Site is 'cross-site'"));
    EXPECT_THAT(outcome(post({kJson, {"Sec-Fetch-Site", "same-site"}})),
                HasSubstr("Sec-Fetch-Site is 'same-site'"))
        << "a sibling subdomain is another origin";
    EXPECT_THAT(outcome(post({kJson, {"Origin", "https://evil.example"}})),
                HasSubstr("Origin 'https://evil.example' is not 'https://ci.example.org'"));
    EXPECT_THAT(outcome(post({kJson, {"Origin", "http://ci.example.org"}})),
                HasSubstr("is not 'https://ci.example.org'"))
        << "the scheme is part of the origin";
    EXPECT_THAT(outcome(post({kJson, {"Origin", "https://ci.example.org:8443"}})),
                HasSubstr("is not"));
    EXPECT_THAT(outcome(post({kJson, {"Origin", "null"}})), HasSubstr("Origin 'null'"));
    EXPECT_THAT(outcome(post({kJson, {"Referer", "https://evil.example/page"}})),
                HasSubstr("the Referer is not on 'https://ci.example.org'"));
}

TEST(Csrf, refuses_a_session_request_a_form_could_send) {
    for (const char* type : {"application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                             "text/plain", "application/json-patch+json"})
        EXPECT_THAT(outcome(post({{"Content-Type", type}, {"Origin", "https://ci.example.org"}})),
                    HasSubstr("the Content-Type must be application/json"))
            << type;
    EXPECT_THAT(outcome(post({})), HasSubstr("Content-Type"));
}

TEST(Csrf, does_not_apply_to_scripts_with_explicit_credentials_nor_to_anonymous_requests) {
    const auto cross_site_form = post({{"Content-Type", "text/plain"},
                                       {"Origin", "https://evil.example"},
                                       {"Sec-Fetch-Site", "cross-site"}});
    EXPECT_EQ(outcome(cross_site_form, CredentialKind::basic), "accepted");
    EXPECT_EQ(outcome(cross_site_form, CredentialKind::bearer), "accepted");
    EXPECT_EQ(outcome(cross_site_form, CredentialKind::none), "accepted")
        << "anonymous requests carry no privilege a cookie gave (the JSON-RPC content-type "
           "rule still applies to them)";
    EXPECT_THAT(outcome(cross_site_form, CredentialKind::session), HasSubstr("refused"));
}

TEST(Csrf, a_configured_url_without_an_origin_accepts_no_origin) {
    EXPECT_THAT(outcome(post({kJson, {"Origin", "http://localhost:8010"}}), CredentialKind::session,
                        "localhost:8010"),
                HasSubstr("is not the configured url's origin"));
}

TEST(UrlOrigin, keeps_scheme_host_and_a_non_default_port) {
    EXPECT_EQ(url_origin("http://localhost:8010/"), "http://localhost:8010");
    EXPECT_EQ(url_origin("HTTPS://CI.Example.org/kiln/#/x"), "https://ci.example.org");
    EXPECT_EQ(url_origin("http://ci:80"), "http://ci");
    EXPECT_EQ(url_origin("https://ci:443/"), "https://ci");
    EXPECT_EQ(url_origin("https://ci:0443/"), "https://ci");
    EXPECT_EQ(url_origin("http://user:pw@ci:8080/x"), "http://ci:8080");
    EXPECT_EQ(url_origin("http://[::1]:8010/"), "http://[::1]:8010");
    EXPECT_EQ(url_origin("http://[::1]/"), "http://[::1]");
    EXPECT_EQ(url_origin("http://ci?x=1"), "http://ci");
    EXPECT_EQ(url_origin("ftp://ci/"), "");
    EXPECT_EQ(url_origin("null"), "");
    EXPECT_EQ(url_origin("http://ci:80a/"), "");
    EXPECT_EQ(url_origin("http:///x"), "");
}

}  // namespace
}  // namespace kiln::www
