// SPDX-License-Identifier: Apache-2.0
// The plain HttpRequest/HttpResponse helpers of http_server.hpp (no Beast needed).
#include "io/http_server.hpp"

#include <algorithm>

namespace kiln::io {

namespace {

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               auto lower = [](char c) {
                   return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
               };
               return lower(x) == lower(y);
           });
}

}  // namespace

std::optional<std::string_view> HttpRequest::header(std::string_view name) const {
    for (const auto& h : headers)
        if (iequals(h.name, name)) return std::string_view(h.value);
    return std::nullopt;
}

std::string_view HttpRequest::path() const {
    std::string_view t = target;
    return t.substr(0, t.find('?'));
}

std::string_view HttpRequest::query() const {
    std::string_view t = target;
    const auto mark = t.find('?');
    return mark == std::string_view::npos ? std::string_view{} : t.substr(mark + 1);
}

void HttpResponse::set_header(std::string name, std::string value) {
    for (auto& h : headers)
        if (iequals(h.name, name)) {
            h.value = std::move(value);
            return;
        }
    headers.push_back({std::move(name), std::move(value)});
}

HttpResponse HttpResponse::text(int status, std::string body, std::string content_type) {
    HttpResponse response;
    response.status = status;
    response.set_header("Content-Type", std::move(content_type));
    response.body = std::move(body);
    return response;
}

std::string_view reason_phrase(int status) {
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    default: return "Unknown";
    }
}

}  // namespace kiln::io
