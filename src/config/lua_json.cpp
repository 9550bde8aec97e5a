// SPDX-License-Identifier: Apache-2.0
#include "config/detail/lua_json.hpp"

#include <cmath>
#include <limits>
#include <lua.hpp>
#include <string>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

namespace kiln::config::detail {
namespace {

bool has_object_metatable(lua_State* state, int index) {
    if (!lua_getmetatable(state, index)) return false;
    lua_getfield(state, LUA_REGISTRYINDEX, kObjectMetatableName);
    const bool ours = lua_rawequal(state, -1, -2) != 0;
    lua_pop(state, 2);
    return ours;
}

}  // namespace

bool is_kiln_object(lua_State* state, int index) {
    return lua_type(state, index) == LUA_TTABLE && has_object_metatable(state, index);
}

std::string describe_type(lua_State* state, int index) {
    if (is_kiln_object(state, index)) {
        lua_getfield(state, index, "kind");
        std::string kind = lua_tostring(state, -1) ? lua_tostring(state, -1) : "?";
        lua_pop(state, 1);
        return "k." + kind + "{...}";
    }
    return lua_typename(state, lua_type(state, index));
}

bool push_json(lua_State* state, const boost::json::value& value, int depth) {
    if (depth > kMaxNesting || !lua_checkstack(state, 3)) {
        lua_pushnil(state);
        return false;
    }
    bool ok = true;
    switch (value.kind()) {
    case boost::json::kind::null: lua_pushnil(state); break;
    case boost::json::kind::bool_: lua_pushboolean(state, value.get_bool() ? 1 : 0); break;
    case boost::json::kind::int64: lua_pushinteger(state, value.get_int64()); break;
    case boost::json::kind::uint64:
        if (value.get_uint64() <=
            static_cast<std::uint64_t>(std::numeric_limits<lua_Integer>::max()))
            lua_pushinteger(state, static_cast<lua_Integer>(value.get_uint64()));
        else
            lua_pushnumber(state, static_cast<lua_Number>(value.get_uint64()));
        break;
    case boost::json::kind::double_: lua_pushnumber(state, value.get_double()); break;
    case boost::json::kind::string: {
        const auto& text = value.get_string();
        lua_pushlstring(state, text.data(), text.size());
        break;
    }
    case boost::json::kind::array: {
        const auto& array = value.get_array();
        lua_createtable(state, static_cast<int>(array.size()), 0);
        lua_Integer position = 1;
        for (const auto& element : array) {
            ok = push_json(state, element, depth + 1) && ok;
            lua_rawseti(state, -2, position++);
        }
        break;
    }
    case boost::json::kind::object: {
        const auto& object = value.get_object();
        lua_createtable(state, 0, static_cast<int>(object.size()));
        for (const auto& member : object) {
            lua_pushlstring(state, member.key().data(), member.key().size());
            ok = push_json(state, member.value(), depth + 1) && ok;
            lua_rawset(state, -3);
        }
        break;
    }
    }
    return ok;
}

void push_properties(lua_State* state, const core::Properties& properties) {
    lua_createtable(state, 0, static_cast<int>(properties.size()));
    for (const auto& [name, property] : properties.all()) {
        lua_pushlstring(state, name.data(), name.size());
        push_json(state, property.value);
        lua_rawset(state, -3);
    }
}

core::Expected<boost::json::value> lua_to_json(lua_State* state, int index, int depth) {
    index = lua_absindex(state, index);
    switch (lua_type(state, index)) {
    case LUA_TNIL: return boost::json::value{};
    case LUA_TBOOLEAN: return boost::json::value(lua_toboolean(state, index) != 0);
    case LUA_TNUMBER:
        if (lua_isinteger(state, index))
            return boost::json::value(static_cast<std::int64_t>(lua_tointeger(state, index)));
        if (!std::isfinite(lua_tonumber(state, index)))
            return core::fail(core::ErrorKind::bad_input, "a number that is not finite");
        return boost::json::value(static_cast<double>(lua_tonumber(state, index)));
    case LUA_TSTRING: {
        std::size_t length = 0;
        const char* text = lua_tolstring(state, index, &length);
        return boost::json::value(boost::json::string(std::string_view(text, length)));
    }
    case LUA_TTABLE: break;
    default:
        return core::fail(core::ErrorKind::bad_input,
                          std::string("a ") + lua_typename(state, lua_type(state, index)));
    }
    if (is_kiln_object(state, index))
        return core::fail(core::ErrorKind::bad_input, describe_type(state, index));
    if (depth > kMaxNesting || !lua_checkstack(state, 4))
        return core::fail(core::ErrorKind::bad_input, "a table nested too deeply (a cycle?)");
    // First pass: is it a sequence 1..n?
    lua_Integer count = 0;
    bool sequence = true;
    lua_pushnil(state);
    while (lua_next(state, index)) {
        ++count;
        if (!lua_isinteger(state, -2) || lua_tointeger(state, -2) < 1) sequence = false;
        lua_pop(state, 1);
    }
    if (sequence && static_cast<lua_Integer>(lua_rawlen(state, index)) != count) sequence = false;
    if (sequence) {
        boost::json::array array;
        for (lua_Integer position = 1; position <= count; ++position) {
            lua_rawgeti(state, index, position);
            auto element = lua_to_json(state, -1, depth + 1);
            lua_pop(state, 1);
            if (!element) return element;
            array.push_back(std::move(*element));
        }
        return boost::json::value(std::move(array));
    }
    boost::json::object object;
    lua_pushnil(state);
    while (lua_next(state, index)) {
        std::string key;
        if (lua_type(state, -2) == LUA_TSTRING) {
            key = lua_tostring(state, -2);
        } else if (lua_isinteger(state, -2)) {
            key = std::to_string(lua_tointeger(state, -2));
        } else {
            std::string type = lua_typename(state, lua_type(state, -2));
            lua_pop(state, 2);
            return core::fail(core::ErrorKind::bad_input, "a table with a " + type + " key");
        }
        auto element = lua_to_json(state, -1, depth + 1);
        lua_pop(state, 1);
        if (!element) {
            lua_pop(state, 1);
            return core::fail(core::ErrorKind::bad_input,
                              element.error().message + " (at key '" + key + "')");
        }
        object[key] = std::move(*element);
    }
    return boost::json::value(std::move(object));
}

}  // namespace kiln::config::detail
