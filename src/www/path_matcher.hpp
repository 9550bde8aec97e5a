// SPDX-License-Identifier: Apache-2.0
// PathMatcher: Buildbot's REST path patterns ("builders/n:builderid/builds/n:number"): literal
// segments, n: decimal integers, i: identifiers, and : anything. Patterns with the path's
// segment count are tried in order; the first that matches wins (specs/rest-api.md §2.1).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace kiln::www {

class PathArgs {
public:
    void set(std::string name, std::int64_t value) { values_[std::move(name)] = value; }
    void set(std::string name, std::string value) { values_[std::move(name)] = std::move(value); }
    bool has(std::string_view name) const { return values_.find(name) != values_.end(); }
    // The integer argument (n:), if the pattern had it.
    std::optional<std::int64_t> integer(std::string_view name) const;
    // The text argument (i: or :), if the pattern had it.
    std::optional<std::string> text(std::string_view name) const;

private:
    std::map<std::string, std::variant<std::int64_t, std::string>, std::less<>> values_;
};

class PathMatcher {
public:
    // Adds a pattern (no leading or trailing slash; "" is the root); returns its index.
    std::size_t add(std::string_view pattern);

    struct Match {
        std::size_t index;
        PathArgs args;
    };
    // Matches "builders/1/builds" (already split from /api/v2/, percent-decoded segments).
    std::optional<Match> match(const std::vector<std::string>& segments) const;

    const std::string& pattern(std::size_t index) const { return patterns_[index].text; }
    std::size_t size() const { return patterns_.size(); }

private:
    struct Pattern {
        std::string text;
        std::vector<std::string> segments;
    };
    std::vector<Pattern> patterns_;
};

// "a/b/c" -> {"a","b","c"}; "" -> {}. Percent-decodes each segment.
std::vector<std::string> split_path(std::string_view path);

}  // namespace kiln::www
