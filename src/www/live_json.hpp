// SPDX-License-Identifier: Apache-2.0
// live_json: JSON text as Buildbot's live-update channels write it with Python's json.dumps:
// keys in the object's own order, non-ASCII escaped as \uXXXX (ensure_ascii), floats as Python's
// repr, and either compact separators (/ws frames) or Python's default ", " and ": " (/sse).
// Also python_str(), the str() of a decoded JSON value, which Buildbot quotes in /ws errors.
#pragma once

#include <string>
#include <string_view>

#include <boost/json/fwd.hpp>

namespace kiln::www {

enum class LiveJsonStyle {
    compact,  // separators (",", ":"): the /ws frames
    python,   // json.dumps defaults (", ", ": "): the /sse data lines
};

// Appends the JSON text of `value` to `out`. Strings that are not valid UTF-8 get U+FFFD for
// each bad byte; NaN and infinities are written NaN, Infinity, -Infinity as Python does.
void append_live_json(std::string& out, const boost::json::value& value, LiveJsonStyle style);
void append_live_json(std::string& out, const boost::json::object& object, LiveJsonStyle style);
// Appends `text` as a JSON string literal (quotes included).
void append_live_json_string(std::string& out, std::string_view text);

std::string live_json(const boost::json::value& value, LiveJsonStyle style);

// Python's str() of the value json.loads would have made of `value`: None, True, 42, 'text'
// inside containers, ['a', 1], {'k': 'v'}. A top-level string is returned as it is.
std::string python_str(const boost::json::value& value);

}  // namespace kiln::www
