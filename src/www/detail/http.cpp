// SPDX-License-Identifier: Apache-2.0
#include "www/detail/http.hpp"

namespace kiln::www::detail {

namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::string percent_decode(std::string_view text) {
    std::string decoded;
    decoded.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '+') {
            decoded += ' ';
        } else if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
                   hex_value(text[i + 2]) >= 0) {
            decoded += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
            i += 2;
        } else {
            decoded += text[i];
        }
    }
    return decoded;
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

std::optional<std::string_view> header(const io::HttpRequest& request, std::string_view name) {
    for (const auto& field : request.headers)
        if (iequals(field.name, name)) return std::string_view(field.value);
    return std::nullopt;
}

std::optional<std::string> query_parameter(const io::HttpRequest& request, std::string_view name) {
    const std::string_view target = request.target;
    const auto question = target.find('?');
    if (question == std::string_view::npos) return std::nullopt;
    std::string_view rest = target.substr(question + 1);
    if (const auto hash = rest.find('#'); hash != std::string_view::npos)
        rest = rest.substr(0, hash);
    while (!rest.empty()) {
        const auto end = rest.find('&');
        const auto pair = rest.substr(0, end);
        rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
        const auto equals = pair.find('=');
        const auto key = pair.substr(0, equals);
        if (percent_decode(key) != name) continue;
        return equals == std::string_view::npos ? std::string{}
                                                : percent_decode(pair.substr(equals + 1));
    }
    return std::nullopt;
}

io::HttpResponse text_response(int status, std::string body) {
    io::HttpResponse response;
    response.status = status;
    response.headers.push_back({"Content-Type", "text/plain; charset=utf-8"});
    response.body = std::move(body);
    return response;
}

}  // namespace kiln::www::detail
