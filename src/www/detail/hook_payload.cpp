// SPDX-License-Identifier: Apache-2.0
#include "www/detail/hook_payload.hpp"

#include "www/detail/http.hpp"
#include "www/result_spec.hpp"

#include <charconv>

#include <boost/json/parse.hpp>

namespace kiln::www::detail {

namespace {

const boost::json::array& empty_array() {
    static const boost::json::array empty;
    return empty;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day) {
    year -= month <= 2 ? 1 : 0;
    const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
    const auto year_of_era = static_cast<unsigned>(year - era * 400);
    const unsigned shifted_month = month > 2 ? month - 3 : month + 9;  // March is 0
    const unsigned day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    const unsigned day_of_era =
        year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146097 + static_cast<std::int64_t>(day_of_era) - 719468;
}

// Reads `digits` decimal digits at text[at...]; advances `at`.
std::optional<unsigned> number_at(std::string_view text, std::size_t& at, std::size_t digits) {
    if (at + digits > text.size()) return std::nullopt;
    unsigned value = 0;
    for (std::size_t i = 0; i < digits; ++i) {
        const char c = text[at + i];
        if (c < '0' || c > '9') return std::nullopt;
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    at += digits;
    return value;
}

bool expect(std::string_view text, std::size_t& at, char wanted) {
    if (at >= text.size() || text[at] != wanted) return false;
    ++at;
    return true;
}

}  // namespace

const boost::json::value* PayloadReader::find(const boost::json::value& root,
                                              std::string_view path) {
    const boost::json::value* current = &root;
    while (!path.empty()) {
        const auto dot = path.find('.');
        const auto key = path.substr(0, dot);
        const auto* object = current->if_object();
        if (!object) return nullptr;
        current = object->if_contains(key);
        if (!current) return nullptr;
        path = dot == std::string_view::npos ? std::string_view{} : path.substr(dot + 1);
    }
    return current;
}

void PayloadReader::fail(std::string message) {
    if (!error_) error_ = std::move(message);
}

core::Error PayloadReader::error() const {
    return core::Error{core::ErrorKind::bad_input, error_.value_or(what_ + " is not valid")};
}

void PayloadReader::wrong(std::string_view path, std::string_view expected) {
    fail(what_ + ": '" + std::string(path) + "' must be " + std::string(expected));
}

const boost::json::value* PayloadReader::require(const boost::json::value& root,
                                                 std::string_view path) {
    if (has_failed()) return nullptr;
    const auto* value = find(root, path);
    if (!value) fail(what_ + ": '" + std::string(path) + "' is missing");
    return value;
}

std::string PayloadReader::string(const boost::json::value& root, std::string_view path) {
    const auto* value = require(root, path);
    if (!value) return {};
    if (!value->is_string()) {
        wrong(path, "a string");
        return {};
    }
    return std::string(value->get_string());
}

std::optional<std::string> PayloadReader::optional_string(const boost::json::value& root,
                                                          std::string_view path) {
    if (has_failed()) return std::nullopt;
    const auto* value = find(root, path);
    if (!value || value->is_null()) return std::nullopt;
    if (!value->is_string()) {
        wrong(path, "a string");
        return std::nullopt;
    }
    return std::string(value->get_string());
}

std::int64_t PayloadReader::integer(const boost::json::value& root, std::string_view path) {
    const auto* value = require(root, path);
    if (!value) return 0;
    if (value->is_int64()) return value->get_int64();
    if (value->is_uint64() && value->get_uint64() <= INT64_MAX)
        return static_cast<std::int64_t>(value->get_uint64());
    wrong(path, "an integer");
    return 0;
}

bool PayloadReader::boolean_or(const boost::json::value& root, std::string_view path,
                               bool fallback) {
    if (has_failed()) return fallback;
    const auto* value = find(root, path);
    if (!value || value->is_null()) return fallback;
    if (!value->is_bool()) {
        wrong(path, "a boolean");
        return fallback;
    }
    return value->get_bool();
}

std::vector<std::string> PayloadReader::strings(const boost::json::value& root,
                                                std::string_view path) {
    std::vector<std::string> out;
    for (const auto& item : array(root, path)) {
        if (!item.is_string()) {
            wrong(path, "a list of strings");
            return {};
        }
        out.emplace_back(item.get_string());
    }
    return out;
}

const boost::json::array& PayloadReader::array(const boost::json::value& root,
                                               std::string_view path) {
    if (has_failed()) return empty_array();
    const auto* value = find(root, path);
    if (!value || value->is_null()) return empty_array();
    if (!value->is_array()) {
        wrong(path, "a list");
        return empty_array();
    }
    return value->get_array();
}

std::int64_t PayloadReader::time(const boost::json::value& root, std::string_view path) {
    auto text = string(root, path);
    if (has_failed()) return 0;
    auto parsed = parse_iso8601(text);
    if (!parsed) {
        wrong(path, "an ISO 8601 time such as 2024-05-01T12:00:00Z");
        return 0;
    }
    return *parsed;
}

std::string PayloadReader::person(const boost::json::value& root, std::string_view path) {
    const std::string prefix = path.empty() ? "" : std::string(path) + ".";
    auto name = string(root, prefix + "name");
    auto email = optional_string(root, prefix + "email");
    if (!email || email->empty()) return name;
    return name + " <" + *email + ">";
}

std::optional<std::int64_t> parse_iso8601(std::string_view text) {
    std::size_t at = 0;
    auto year = number_at(text, at, 4);
    if (!year || !expect(text, at, '-')) return std::nullopt;
    auto month = number_at(text, at, 2);
    if (!month || !expect(text, at, '-')) return std::nullopt;
    auto day = number_at(text, at, 2);
    if (!day || at >= text.size() || (text[at] != 'T' && text[at] != 't' && text[at] != ' '))
        return std::nullopt;
    ++at;
    auto hour = number_at(text, at, 2);
    if (!hour || !expect(text, at, ':')) return std::nullopt;
    auto minute = number_at(text, at, 2);
    if (!minute || !expect(text, at, ':')) return std::nullopt;
    auto second = number_at(text, at, 2);
    if (!second) return std::nullopt;
    if (*month < 1 || *month > 12 || *day < 1 || *day > 31 || *hour > 23 || *minute > 59 ||
        *second > 60)
        return std::nullopt;
    if (at < text.size() && (text[at] == '.' || text[at] == ',')) {
        ++at;
        const auto start = at;
        while (at < text.size() && text[at] >= '0' && text[at] <= '9')
            ++at;
        if (at == start) return std::nullopt;
    }
    std::int64_t offset = 0;
    auto rest = text.substr(at);
    if (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    if (rest == "Z" || rest == "z" || rest == "UTC" || rest.empty()) {
        offset = 0;
    } else if (rest.front() == '+' || rest.front() == '-') {
        const int sign = rest.front() == '-' ? -1 : 1;
        std::size_t p = 1;
        auto offset_hours = number_at(rest, p, 2);
        if (!offset_hours) return std::nullopt;
        if (p < rest.size() && rest[p] == ':') ++p;
        auto offset_minutes = number_at(rest, p, 2);
        if (!offset_minutes || p != rest.size() || *offset_hours > 23 || *offset_minutes > 59)
            return std::nullopt;
        offset = sign * (std::int64_t{*offset_hours} * 3600 + std::int64_t{*offset_minutes} * 60);
    } else {
        return std::nullopt;
    }
    const auto days = days_from_civil(*year, *month, *day);
    return days * 86400 + std::int64_t{*hour} * 3600 + std::int64_t{*minute} * 60 + *second -
           offset;
}

core::Expected<HookArguments> hook_arguments(const io::HttpRequest& request) {
    HookArguments arguments;
    auto from_query = parse_query_string(request.query());
    if (!from_query) return from_query.error();
    for (auto& [name, value] : *from_query)
        arguments[name].push_back(std::move(value));
    if (media_type(request) == "application/x-www-form-urlencoded") {
        auto from_body = parse_query_string(request.body);
        if (!from_body) return from_body.error();
        HookArguments body;
        for (auto& [name, value] : *from_body)
            body[name].push_back(std::move(value));
        for (auto& [name, values] : body)
            arguments[name] = std::move(values);
    }
    return arguments;
}

std::optional<std::string> first(const HookArguments& arguments, std::string_view name) {
    auto found = arguments.find(name);
    if (found == arguments.end() || found->second.empty()) return std::nullopt;
    return found->second.front();
}

std::string media_type(const io::HttpRequest& request) {
    std::string type(request.header("Content-Type").value_or(""));
    type = type.substr(0, type.find(';'));
    while (!type.empty() && (type.back() == ' ' || type.back() == '\t'))
        type.pop_back();
    for (auto& c : type)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return type;
}

core::Expected<boost::json::value> parse_json_body(std::string_view text) {
    boost::json::parse_options options;
    options.max_depth = 64;
    boost::system::error_code ec;
    auto value = boost::json::parse(text, ec, {}, options);
    if (ec) return core::Error{core::ErrorKind::bad_input, "Error loading JSON: " + ec.message()};
    return value;
}

}  // namespace kiln::www::detail
