// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the change hook dialects: reading fields of an untrusted JSON payload with
// precise complaints (the first one is kept), ISO 8601 times, the request's arguments (query
// string and form body, as Twisted's request.args), and the JSON body itself.
#pragma once

#include "core/expected.hpp"
#include "io/http_server.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

namespace kiln::www::detail {

// Reads fields by dotted path ("repository.html_url") below a value; records the first problem
// ("'repository.html_url' must be a string") and answers empty values after it.
class PayloadReader {
public:
    explicit PayloadReader(std::string what = "payload")
        : what_(std::move(what)) {}

    // The value at the path, or nullptr when a part is missing or not an object.
    static const boost::json::value* find(const boost::json::value& root, std::string_view path);

    std::string string(const boost::json::value& root, std::string_view path);
    // Missing or null: nullopt.
    std::optional<std::string> optional_string(const boost::json::value& root,
                                               std::string_view path);
    std::int64_t integer(const boost::json::value& root, std::string_view path);
    bool boolean_or(const boost::json::value& root, std::string_view path, bool fallback);
    // A list of strings; missing or null: empty.
    std::vector<std::string> strings(const boost::json::value& root, std::string_view path);
    // An array; missing or null: empty.
    const boost::json::array& array(const boost::json::value& root, std::string_view path);
    // An ISO 8601 time as epoch seconds.
    std::int64_t time(const boost::json::value& root, std::string_view path);
    // "Name <email>" from an object with name and email.
    std::string person(const boost::json::value& root, std::string_view path);

    void fail(std::string message);
    bool has_failed() const { return error_.has_value(); }
    // The first problem, as an Error (bad_input).
    core::Error error() const;

private:
    const boost::json::value* require(const boost::json::value& root, std::string_view path);
    void wrong(std::string_view path, std::string_view expected);

    std::string what_;
    std::optional<std::string> error_;
};

// "2015-05-05T19:40:15-04:00", "2015-05-05T23:40:27Z", "2015-05-05 23:40:27 UTC", with optional
// fractions of a second, as epoch seconds; nullopt when the text is none of these.
std::optional<std::int64_t> parse_iso8601(std::string_view text);

// The request's arguments: the query string's, then (replacing those of the same name) the
// form body's when the body is application/x-www-form-urlencoded. Each name keeps every value.
using HookArguments = std::map<std::string, std::vector<std::string>, std::less<>>;
core::Expected<HookArguments> hook_arguments(const io::HttpRequest& request);
// The first value of an argument.
std::optional<std::string> first(const HookArguments& arguments, std::string_view name);

// The request's media type ("application/json"), lowercase, without parameters.
std::string media_type(const io::HttpRequest& request);

// The body parsed as JSON (at most 64 levels deep); the error says what is wrong with it.
core::Expected<boost::json::value> parse_json_body(std::string_view text);

}  // namespace kiln::www::detail
