// SPDX-License-Identifier: Apache-2.0
// HttpRequest and HttpResponse helpers, reason phrases, and response heads on the wire
// (detail/http_head.hpp). No I/O: http_server.cpp writes what this builds.
#include "io/detail/http_head.hpp"
#include "io/detail/server_websocket.hpp"
#include "io/http_server.hpp"

#include <algorithm>
#include <array>
#include <ctime>
#include <iterator>
#include <stdexcept>

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/rfc7230.hpp>
#include <boost/beast/http/status.hpp>

#include <spdlog/fmt/fmt.h>

namespace kiln::io {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;

constexpr std::string_view kCrlf = "\r\n";

// RFC 9110's token: the characters a header name may have.
bool is_token(std::string_view text) {
    constexpr std::string_view kSymbols = "!#$%&'*+-.^_`|~";
    return !text.empty() && std::all_of(text.begin(), text.end(), [&](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
               kSymbols.find(c) != std::string_view::npos;
    });
}

// A value that cannot end its line early (or hide a second header in it).
bool is_field_value(std::string_view text) {
    return text.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

bool has_name(const HttpHeader& header, std::string_view name) {
    return beast::iequals(header.name, name);
}

// Headers the server writes itself from the response's shape.
bool is_framing_header(const HttpHeader& header) {
    return has_name(header, "Content-Length") || has_name(header, "Transfer-Encoding") ||
           has_name(header, "Connection");
}

void check_header(const HttpHeader& header) {
    if (!is_token(header.name))
        throw std::invalid_argument("response header name '" + header.name + "' is not a token");
    if (!is_field_value(header.value))
        throw std::invalid_argument("response header '" + header.name +
                                    "' has a line break or NUL in its value");
}

// RFC 9110's IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
std::string http_date(std::chrono::system_clock::time_point when) {
    static constexpr std::array<std::string_view, 7> kDays{"Sun", "Mon", "Tue", "Wed",
                                                           "Thu", "Fri", "Sat"};
    static constexpr std::array<std::string_view, 12> kMonths{
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    const std::time_t seconds = std::chrono::system_clock::to_time_t(when);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    return fmt::format("{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
                       kDays[static_cast<std::size_t>(utc.tm_wday) % kDays.size()], utc.tm_mday,
                       kMonths[static_cast<std::size_t>(utc.tm_mon) % kMonths.size()],
                       utc.tm_year + 1900, utc.tm_hour, utc.tm_min, utc.tm_sec);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// The plain structs

std::optional<std::string_view> HttpRequest::header(std::string_view name) const {
    for (const auto& field : headers)
        if (beast::iequals(field.name, name)) return std::string_view(field.value);
    return std::nullopt;
}

std::string_view HttpRequest::path() const {
    const std::string_view whole = target;
    return whole.substr(0, whole.find('?'));
}

std::string_view HttpRequest::query() const {
    const std::string_view whole = target;
    const auto mark = whole.find('?');
    if (mark == std::string_view::npos) return {};
    return whole.substr(mark + 1);
}

void HttpResponse::set_header(std::string name, std::string value) {
    const auto is_same = [&name](const HttpHeader& header) { return has_name(header, name); };
    const auto first = std::find_if(headers.begin(), headers.end(), is_same);
    if (first == headers.end()) {
        headers.push_back(HttpHeader{.name = std::move(name), .value = std::move(value)});
        return;
    }
    // Drop later duplicates before `name` is moved from (is_same reads it).
    headers.erase(std::remove_if(std::next(first), headers.end(), is_same), headers.end());
    first->name = std::move(name);
    first->value = std::move(value);
}

HttpResponse HttpResponse::text(int status, std::string body, std::string content_type) {
    HttpResponse response;
    response.status = status;
    response.body = std::move(body);
    response.headers.push_back(
        HttpHeader{.name = "Content-Type", .value = std::move(content_type)});
    return response;
}

std::string_view reason_phrase(int status) {
    if (status < 100 || status > 999) return "Unknown";
    const auto known = http::int_to_status(static_cast<unsigned>(status));
    if (known == http::status::unknown) return "Unknown";
    const auto reason = http::obsolete_reason(known);
    return std::string_view(reason.data(), reason.size());
}

// ---------------------------------------------------------------------------------------------
// Response heads

namespace detail {

std::string format_response_head(const HttpResponse& response, Framing framing,
                                 std::uint64_t content_length, bool keep_alive,
                                 std::chrono::system_clock::time_point now) {
    if (response.status < 200 || response.status > 599)
        throw std::invalid_argument("response status " + std::to_string(response.status) +
                                    " is not between 200 and 599");
    if (!is_field_value(response.reason))
        throw std::invalid_argument("response reason has a line break or NUL");
    std::string head = "HTTP/1.1 " + std::to_string(response.status) + " ";
    head.append(response.reason.empty() ? reason_phrase(response.status) : response.reason);
    head.append(kCrlf);
    bool has_server = false;
    bool has_date = false;
    for (const auto& header : response.headers) {
        check_header(header);
        if (is_framing_header(header)) continue;
        has_server = has_server || has_name(header, "Server");
        has_date = has_date || has_name(header, "Date");
        head.append(header.name).append(": ").append(header.value).append(kCrlf);
    }
    if (!has_server) head.append("Server: ").append(product_name()).append(kCrlf);
    if (!has_date) head.append("Date: ").append(http_date(now)).append(kCrlf);
    switch (framing) {
    case Framing::none: break;
    case Framing::content_length:
        head.append("Content-Length: ").append(std::to_string(content_length)).append(kCrlf);
        break;
    case Framing::chunked: head.append("Transfer-Encoding: chunked").append(kCrlf); break;
    }
    if (!keep_alive) head.append("Connection: close").append(kCrlf);
    head.append(kCrlf);
    return head;
}

std::vector<std::pair<std::string, std::string>>
upgrade_response_headers(const HttpResponse& decision) {
    std::vector<std::pair<std::string, std::string>> headers;
    for (const auto& header : decision.headers) {
        check_header(header);
        if (is_framing_header(header) || has_name(header, "Upgrade") ||
            has_name(header, "Sec-WebSocket-Accept"))
            continue;
        headers.emplace_back(header.name, header.value);
    }
    return headers;
}

bool wants_close(const HttpResponse& response) {
    if (response.close_connection) return true;
    return std::any_of(response.headers.begin(), response.headers.end(), [](const auto& header) {
        return has_name(header, "Connection") && http::token_list{header.value}.exists("close");
    });
}

bool is_bodiless(int status) { return status == 204 || status == 304; }

}  // namespace detail
}  // namespace kiln::io
