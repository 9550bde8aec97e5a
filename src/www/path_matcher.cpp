// SPDX-License-Identifier: Apache-2.0
#include "www/path_matcher.hpp"

#include "www/resource_types.hpp"

#include <charconv>

namespace kiln::www {

namespace {

std::optional<std::int64_t> decimal(std::string_view text) {
    if (text.empty() || text.size() > 18) return std::nullopt;
    for (char c : text)
        if (c < '0' || c > '9') return std::nullopt;
    std::int64_t value = 0;
    std::from_chars(text.data(), text.data() + text.size(), value);
    return value;
}

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::string decode_segment(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size()) {
            const int high = hex_digit(text[i + 1]);
            const int low = hex_digit(text[i + 2]);
            if (high >= 0 && low >= 0) {
                out += static_cast<char>(high * 16 + low);
                i += 2;
                continue;
            }
        }
        out += text[i];
    }
    return out;
}

}  // namespace

std::optional<std::int64_t> PathArgs::integer(std::string_view name) const {
    auto found = values_.find(name);
    if (found == values_.end()) return std::nullopt;
    if (const auto* value = std::get_if<std::int64_t>(&found->second)) return *value;
    return std::nullopt;
}

std::optional<std::string> PathArgs::text(std::string_view name) const {
    auto found = values_.find(name);
    if (found == values_.end()) return std::nullopt;
    if (const auto* value = std::get_if<std::string>(&found->second)) return *value;
    return std::nullopt;
}

std::size_t PathMatcher::add(std::string_view pattern) {
    Pattern entry{std::string(pattern), {}};
    std::size_t start = 0;
    while (!pattern.empty() && start <= pattern.size()) {
        const auto slash = pattern.find('/', start);
        entry.segments.emplace_back(pattern.substr(start, slash - start));
        if (slash == std::string_view::npos) break;
        start = slash + 1;
    }
    patterns_.push_back(std::move(entry));
    return patterns_.size() - 1;
}

std::optional<PathMatcher::Match>
PathMatcher::match(const std::vector<std::string>& segments) const {
    for (std::size_t index = 0; index < patterns_.size(); ++index) {
        const auto& pattern = patterns_[index];
        if (pattern.segments.size() != segments.size()) continue;
        PathArgs args;
        bool ok = true;
        for (std::size_t i = 0; i < segments.size() && ok; ++i) {
            const auto& want = pattern.segments[i];
            const auto& got = segments[i];
            const auto colon = want.find(':');
            if (colon == std::string::npos) {
                ok = want == got;
            } else if (want.starts_with("n:")) {
                auto value = decimal(got);
                ok = value.has_value();
                if (ok) args.set(want.substr(2), *value);
            } else if (want.starts_with("i:")) {
                ok = is_identifier(got);
                if (ok) args.set(want.substr(2), got);
            } else {
                args.set(want.substr(colon + 1), got);
            }
        }
        if (ok) return Match{index, std::move(args)};
    }
    return std::nullopt;
}

std::vector<std::string> split_path(std::string_view path) {
    std::vector<std::string> segments;
    if (path.empty()) return segments;
    std::size_t start = 0;
    for (;;) {
        const auto slash = path.find('/', start);
        segments.push_back(decode_segment(path.substr(start, slash - start)));
        if (slash == std::string_view::npos) break;
        start = slash + 1;
    }
    return segments;
}

}  // namespace kiln::www
