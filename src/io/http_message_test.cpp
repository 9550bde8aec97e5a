// SPDX-License-Identifier: Apache-2.0
// HttpRequest/HttpResponse helpers, reason phrases and the response heads the server writes.
#include "core/version.hpp"
#include "io/detail/http_head.hpp"
#include "io/http_server.hpp"

#include <chrono>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

namespace {

using kiln::io::HttpHeader;
using kiln::io::HttpRequest;
using kiln::io::HttpResponse;
using kiln::io::detail::format_response_head;
using kiln::io::detail::Framing;

// Thu, 01 Jan 1970 00:00:00 GMT plus one day, one hour, two minutes and three seconds.
const auto kSomeTime = std::chrono::system_clock::time_point{} + std::chrono::hours(25) +
                       std::chrono::minutes(2) + std::chrono::seconds(3);
const std::string kServerLine = "Server: Kiln/" + std::string(kiln::core::kVersion) + "\r\n";
const std::string kDateLine = "Date: Fri, 02 Jan 1970 01:02:03 GMT\r\n";

TEST(HttpRequest, finds_the_first_header_of_a_name_whatever_its_case) {
    HttpRequest request;
    request.headers = {{"Accept", "text/html"}, {"X-Token", "one"}, {"x-token", "two"}};
    EXPECT_EQ(request.header("x-TOKEN"), "one");
    EXPECT_EQ(request.header("accept"), "text/html");
    EXPECT_FALSE(request.header("Cookie").has_value());
}

TEST(HttpRequest, splits_the_target_into_path_and_query) {
    HttpRequest request;
    request.target = "/api/v2/builds?limit=10&order=-number";
    EXPECT_EQ(request.path(), "/api/v2/builds");
    EXPECT_EQ(request.query(), "limit=10&order=-number");
    request.target = "/plain";
    EXPECT_EQ(request.path(), "/plain");
    EXPECT_EQ(request.query(), "");
    request.target = "/empty?";
    EXPECT_EQ(request.path(), "/empty");
    EXPECT_EQ(request.query(), "");
}

TEST(HttpResponse, set_header_replaces_every_header_of_that_name_by_one) {
    HttpResponse response;
    response.headers = {{"Cache-Control", "no-cache"}, {"X-A", "1"}, {"cache-control", "x"}};
    response.set_header("CACHE-CONTROL", "max-age=60");
    ASSERT_EQ(response.headers.size(), 2u);
    EXPECT_EQ(response.headers[0].name, "CACHE-CONTROL");
    EXPECT_EQ(response.headers[0].value, "max-age=60");
    EXPECT_EQ(response.headers[1].name, "X-A");
    response.set_header("X-B", "2");
    ASSERT_EQ(response.headers.size(), 3u);
    EXPECT_EQ(response.headers[2].value, "2");
}

TEST(HttpResponse, text_sets_the_status_body_and_content_type) {
    const auto response = HttpResponse::text(404, "gone\n");
    EXPECT_EQ(response.status, 404);
    EXPECT_EQ(response.body, "gone\n");
    ASSERT_EQ(response.headers.size(), 1u);
    EXPECT_EQ(response.headers[0].name, "Content-Type");
    EXPECT_EQ(response.headers[0].value, "text/plain; charset=utf-8");
    EXPECT_EQ(HttpResponse::text(200, "{}", "application/json").headers[0].value,
              "application/json");
}

TEST(ReasonPhrase, names_known_statuses_and_calls_others_unknown) {
    EXPECT_EQ(kiln::io::reason_phrase(200), "OK");
    EXPECT_EQ(kiln::io::reason_phrase(404), "Not Found");
    EXPECT_EQ(kiln::io::reason_phrase(431), "Request Header Fields Too Large");
    EXPECT_EQ(kiln::io::reason_phrase(799), "Unknown");
    EXPECT_EQ(kiln::io::reason_phrase(-1), "Unknown");
    EXPECT_EQ(kiln::io::reason_phrase(100000), "Unknown");
}

TEST(ResponseHead, lists_the_headers_then_server_date_and_length) {
    auto response = HttpResponse::text(200, "hello");
    const auto head = format_response_head(response, Framing::content_length, 5, true, kSomeTime);
    EXPECT_EQ(head, "HTTP/1.1 200 OK\r\n"
                    "Content-Type: text/plain; charset=utf-8\r\n" +
                        kServerLine + kDateLine + "Content-Length: 5\r\n\r\n");
}

TEST(ResponseHead, writes_the_framing_itself_and_closes_when_asked) {
    HttpResponse response;
    response.status = 201;
    response.reason = "Made";
    response.headers = {{"Content-Length", "999"},
                        {"Transfer-Encoding", "gzip"},
                        {"Connection", "keep-alive"},
                        {"Server", "custom"},
                        {"Date", "whenever"}};
    const auto head = format_response_head(response, Framing::chunked, 0, false, kSomeTime);
    EXPECT_EQ(head, "HTTP/1.1 201 Made\r\n"
                    "Server: custom\r\n"
                    "Date: whenever\r\n"
                    "Transfer-Encoding: chunked\r\n"
                    "Connection: close\r\n\r\n");
    response.headers.clear();
    response.status = 204;
    response.reason.clear();
    EXPECT_EQ(format_response_head(response, Framing::none, 0, true, kSomeTime),
              "HTTP/1.1 204 No Content\r\n" + kServerLine + kDateLine + "\r\n");
}

TEST(ResponseHead, refuses_what_would_break_the_head) {
    const auto refuses = [](HttpResponse response) {
        EXPECT_THROW(format_response_head(response, Framing::content_length, 0, true, kSomeTime),
                     std::invalid_argument);
    };
    auto injected = HttpResponse::text(200, "");
    injected.headers.push_back({"X-Note", "a\r\nSet-Cookie: b"});
    refuses(injected);
    auto bad_name = HttpResponse::text(200, "");
    bad_name.headers.push_back({"Bad Name", "x"});
    refuses(bad_name);
    auto bad_reason = HttpResponse::text(200, "");
    bad_reason.reason = "OK\r\nX: y";
    refuses(bad_reason);
    refuses(HttpResponse::text(101, ""));
    refuses(HttpResponse::text(600, ""));
}

TEST(ResponseHead, upgrade_answers_keep_only_the_headers_beast_does_not_write) {
    HttpResponse decision;
    decision.status = 101;
    decision.headers = {{"Sec-WebSocket-Protocol", "kiln"},
                        {"Upgrade", "other"},
                        {"Connection", "close"},
                        {"Sec-WebSocket-Accept", "forged"},
                        {"Set-Cookie", "session=1"}};
    const auto headers = kiln::io::detail::upgrade_response_headers(decision);
    ASSERT_EQ(headers.size(), 2u);
    EXPECT_EQ(headers[0], (std::pair<std::string, std::string>{"Sec-WebSocket-Protocol", "kiln"}));
    EXPECT_EQ(headers[1], (std::pair<std::string, std::string>{"Set-Cookie", "session=1"}));
    decision.headers.push_back({"X-Bad", "a\nb"});
    EXPECT_THROW(kiln::io::detail::upgrade_response_headers(decision), std::invalid_argument);
}

TEST(ResponseHead, a_connection_close_header_or_flag_closes) {
    auto response = HttpResponse::text(200, "");
    EXPECT_FALSE(kiln::io::detail::wants_close(response));
    response.headers.push_back({"connection", "Close"});
    EXPECT_TRUE(kiln::io::detail::wants_close(response));
    response.headers.clear();
    response.close_connection = true;
    EXPECT_TRUE(kiln::io::detail::wants_close(response));
}

}  // namespace
