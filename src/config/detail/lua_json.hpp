// SPDX-License-Identifier: Apache-2.0
// Conversions between Lua values and Boost.JSON values, for calls into config functions.
#pragma once

#include "core/expected.hpp"
#include "core/properties.hpp"

#include <boost/json/value.hpp>

struct lua_State;

namespace kiln::config::detail {

constexpr int kMaxNesting = 64;
// The registry field holding the metatable of objects made by k.* constructors.
constexpr const char* kObjectMetatableName = "kiln.object_metatable";

// Pushes one value (objects -> tables, arrays -> sequences, null -> nil). Never raises a Lua
// error while the memory cap is off; returns false (pushing nil) when nested too deeply.
bool push_json(lua_State* state, const boost::json::value& value, int depth = 0);
// Pushes a table of property name -> value.
void push_properties(lua_State* state, const core::Properties& properties);

// Converts plain data: nil, booleans, numbers, strings and tables of them. A table is an
// array when its keys are exactly 1..n (an empty table is []), else an object whose keys
// are strings or integers (written in decimal). Functions, userdata, kiln objects and
// cycles are errors naming `what`.
core::Expected<boost::json::value> lua_to_json(lua_State* state, int index, int depth = 0);

// Whether the table at `index` is an object made by a k.* constructor.
bool is_kiln_object(lua_State* state, int index);

// Lua-style type name for messages; kiln objects read as "k.<kind>{...}".
std::string describe_type(lua_State* state, int index);

}  // namespace kiln::config::detail
