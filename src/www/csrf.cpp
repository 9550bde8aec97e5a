// SPDX-License-Identifier: Apache-2.0
#include "www/csrf.hpp"

#include "www/detail/http.hpp"

#include <algorithm>

namespace kiln::www {

namespace {

std::string lowercase(std::string_view text) {
    std::string result(text);
    std::transform(result.begin(), result.end(), result.begin(), [](char c) {
        return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    });
    return result;
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
        text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
        text.remove_suffix(1);
    return text;
}

core::Error refuse(std::string why) {
    return core::fail(core::ErrorKind::forbidden, "cross-site request refused: " + std::move(why));
}

}  // namespace

std::string url_origin(std::string_view url) {
    const auto scheme_end = url.find("://");
    if (scheme_end == std::string_view::npos) return {};
    const auto scheme = lowercase(url.substr(0, scheme_end));
    if (scheme != "http" && scheme != "https") return {};
    auto authority = url.substr(scheme_end + 3);
    authority = authority.substr(0, authority.find_first_of("/?#"));
    if (const auto at = authority.rfind('@'); at != std::string_view::npos)
        authority = authority.substr(at + 1);  // user:password@ is not part of an origin
    std::string_view host = authority;
    std::string_view port;
    const auto bracket = authority.rfind(']');
    const auto colon = authority.rfind(':');
    if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
        host = authority.substr(0, colon);
        port = authority.substr(colon + 1);
    }
    if (host.empty() ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return {};
    while (port.size() > 1 && port.front() == '0')
        port.remove_prefix(1);
    std::string origin = scheme + "://" + lowercase(host);
    const bool default_port =
        (scheme == "http" && port == "80") || (scheme == "https" && port == "443");
    if (!port.empty() && !default_port) origin += ":" + std::string(port);
    return origin;
}

core::Expected<void> check_csrf(const io::HttpRequest& request,
                                const Authentication& authentication,
                                std::string_view configured_url) {
    if (authentication.credentials != CredentialKind::session) return {};
    if (auto site = request.header("sec-fetch-site")) {
        const auto value = lowercase(trim(*site));
        if (value != "same-origin" && value != "none")
            return refuse("Sec-Fetch-Site is '" + value + "'");
    }
    const auto expected = url_origin(configured_url);
    if (auto origin = request.header("origin")) {
        const auto given = url_origin(trim(*origin));
        if (given.empty() || given != expected)
            return refuse(
                "Origin '" + std::string(trim(*origin)) + "' is not " +
                (expected.empty() ? "the configured url's origin" : "'" + expected + "'"));
    } else if (auto referer = request.header("referer")) {
        if (url_origin(trim(*referer)) != expected || expected.empty())
            return refuse("the Referer is not on '" + expected + "'");
    }
    const auto content_type = request.header("content-type");
    const auto media_type =
        content_type ? lowercase(trim(content_type->substr(0, content_type->find(';')))) : "";
    if (media_type != "application/json")
        return refuse("the Content-Type must be application/json");
    return {};
}

}  // namespace kiln::www
