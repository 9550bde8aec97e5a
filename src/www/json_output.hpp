// SPDX-License-Identifier: Apache-2.0
// JSON text as Buildbot's REST API writes it: object keys sorted, compact (',' and ':') for
// clients that accept application/json, pretty (two-space indent) otherwise.
#pragma once

#include <string>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

namespace kiln::www {

enum class JsonStyle { compact, pretty };

std::string to_sorted_json(const boost::json::value& value, JsonStyle style = JsonStyle::compact);
// The same for an object or an array, without first copying it into a json::value (which the
// conversion to `const value&` would do: a whole response body).
std::string to_sorted_json(const boost::json::object& object, JsonStyle style = JsonStyle::compact);
std::string to_sorted_json(const boost::json::array& array, JsonStyle style = JsonStyle::compact);
// Appends to out (streams build a body piece by piece).
void append_sorted_json(std::string& out, const boost::json::value& value, JsonStyle style,
                        int depth = 0);
void append_sorted_json(std::string& out, const boost::json::object& object, JsonStyle style,
                        int depth = 0);
void append_sorted_json(std::string& out, const boost::json::array& array, JsonStyle style,
                        int depth = 0);

}  // namespace kiln::www
