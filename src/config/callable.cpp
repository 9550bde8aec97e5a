// SPDX-License-Identifier: Apache-2.0
#include "config/callable.hpp"

#include "config/detail/lua_json.hpp"
#include "config/lua_runtime.hpp"

#include <lua.hpp>

namespace kiln::config {

struct Callable::Reference {
    std::shared_ptr<LuaRuntime> runtime;
    int reference = LUA_NOREF;
    SourceLocation where;
    std::string fingerprint;

    Reference(std::shared_ptr<LuaRuntime> runtime_, int reference_, SourceLocation where_,
              std::string fingerprint_)
        : runtime(std::move(runtime_))
        , reference(reference_)
        , where(std::move(where_))
        , fingerprint(std::move(fingerprint_)) {}
    ~Reference() { luaL_unref(runtime->state(), LUA_REGISTRYINDEX, reference); }
    Reference(const Reference&) = delete;
    Reference& operator=(const Reference&) = delete;
};

Callable::Callable(std::shared_ptr<LuaRuntime> runtime, int reference, SourceLocation where,
                   std::string fingerprint)
    : reference_(std::make_shared<const Reference>(std::move(runtime), reference, std::move(where),
                                                   std::move(fingerprint))) {}

const SourceLocation& Callable::where() const { return reference_->where; }
const std::string& Callable::fingerprint() const { return reference_->fingerprint; }

core::Expected<boost::json::value> Callable::call(std::span<const boost::json::value> arguments,
                                                  const core::Properties* properties) const {
    auto& runtime = *reference_->runtime;
    lua_State* state = runtime.state();
    const int top = lua_gettop(state);
    const auto location = reference_->where.to_string();
    if (!lua_checkstack(state, static_cast<int>(arguments.size()) + 8))
        return core::fail(core::ErrorKind::internal, location + ": too many arguments");
    lua_rawgeti(state, LUA_REGISTRYINDEX, reference_->reference);
    for (const auto& argument : arguments)
        detail::push_json(state, argument);
    if (properties) detail::push_properties(state, *properties);
    const int count = static_cast<int>(arguments.size()) + (properties ? 1 : 0);
    if (auto failure = runtime.protected_call(count, 1, runtime.limits().call_instructions)) {
        lua_settop(state, top);
        return core::fail(core::ErrorKind::bad_input,
                          "function defined at " + location + " failed: " + *failure);
    }
    auto result = detail::lua_to_json(state, -1);
    lua_settop(state, top);
    if (!result)
        return core::fail(core::ErrorKind::bad_input, "function defined at " + location +
                                                          " returned " + result.error().message +
                                                          ", which is not a plain value");
    return result;
}

core::Expected<bool> Predicate::evaluate(std::span<const boost::json::value> arguments,
                                         const core::Properties* properties) const {
    if (!function) return value;
    auto result = function->call(arguments, properties);
    if (!result) return result.error();
    return !(result->is_null() || (result->is_bool() && !result->get_bool()));
}

}  // namespace kiln::config
