// SPDX-License-Identifier: Apache-2.0
// JSON text as Buildbot's REST API writes it: object keys sorted, compact (',' and ':') for
// clients that accept application/json, pretty (two-space indent) otherwise.
#pragma once

#include <string>

#include <boost/json/value.hpp>

namespace kiln::www {

enum class JsonStyle { compact, pretty };

std::string to_sorted_json(const boost::json::value& value, JsonStyle style = JsonStyle::compact);
// Appends to out (streams build a body piece by piece).
void append_sorted_json(std::string& out, const boost::json::value& value, JsonStyle style,
                        int depth = 0);

}  // namespace kiln::www
