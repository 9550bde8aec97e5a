// SPDX-License-Identifier: Apache-2.0
#include "config/lua_runtime.hpp"

#include "config/detail/lua_json.hpp"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <lua.hpp>
#include <regex>
#include <sstream>
#include <utility>

namespace kiln::config {
namespace {

constexpr int kHookInterval = 1000;
const char kRuntimeKey = 0;

// The bootstrap chunk: the `kiln` module, `require`, `package` and the wrapped `load`. It gets
// its private helpers as arguments so the config never sees them.
constexpr std::string_view kBootstrap = R"lua(
local where, load_master_file, object_mt = ...
local pack, select, setmetatable, type, rawset, error = table.pack, select, setmetatable, type, rawset, error

local function object(kind, args, file, line, extra, positional)
  return setmetatable({ kind = kind, args = args, file = file, line = line, extra = extra,
                        positional = positional }, object_mt)
end

-- k.<name>{...} for every name: the loader decides which kinds a place accepts.
local function generic(kind)
  return setmetatable({}, {
    __call = function(_, args, ...)
      local file, line = where(2)
      local o = object(kind, args, file, line, select("#", ...), false)
      return o
    end,
    __index = function(t, name)
      if type(name) ~= "string" then return nil end
      local sub = generic(kind .. "." .. name)
      rawset(t, name, sub)
      return sub
    end,
  })
end

local k = {}
for _, kind in ipairs({ "secret", "interpolate", "property" }) do
  k[kind] = function(...)
    local file, line = where(2)
    local o = object(kind, pack(...), file, line, 0, true)
    return o
  end
end
setmetatable(k, { __index = function(t, name)
  if type(name) ~= "string" or name:sub(1, 1) == "_" then return nil end
  local g = generic(name)
  rawset(t, name, g)
  return g
end })

local loaded, loading = {}, {}
package = { preload = { kiln = function() return k end }, loaded = loaded }

function require(name)
  if type(name) ~= "string" then
    error("bad argument #1 to 'require' (string expected, got " .. type(name) .. ")", 2)
  end
  local value = loaded[name]
  if value ~= nil then return value end
  local preload = package.preload[name]
  if preload then
    value = preload(name)
  else
    if loading[name] then error("require: module '" .. name .. "' requires itself", 2) end
    local chunk, message, located = load_master_file(name)
    if not chunk then error(message, located and 0 or 2) end
    loading[name] = true
    value = chunk(name)
    loading[name] = nil
  end
  if value == nil then value = true end
  loaded[name] = value
  return value
end

local raw_load = load
function load(chunk, chunkname, mode, ...)
  if select("#", ...) == 0 then return raw_load(chunk, chunkname, "t") end
  return raw_load(chunk, chunkname, "t", ...)
end
)lua";

LuaRuntime& runtime_of(lua_State* state) {
    lua_rawgetp(state, LUA_REGISTRYINDEX, &kRuntimeKey);
    auto* runtime = static_cast<LuaRuntime*>(lua_touserdata(state, -1));
    lua_pop(state, 1);
    return *runtime;
}

void* allocate(void* user_data, void* block, std::size_t old_size, std::size_t new_size) {
    auto& accounting = *static_cast<LuaRuntime::Accounting*>(user_data);
    const std::size_t old_bytes = block ? old_size : 0;  // without a block it is a type tag
    if (new_size == 0) {
        std::free(block);  // NOLINT(cppcoreguidelines-no-malloc): Lua's allocator contract
        accounting.used -= old_bytes;
        return nullptr;
    }
    if (accounting.enforce && new_size > old_bytes &&
        accounting.used + (new_size - old_bytes) > accounting.limit) {
        accounting.limit_hit = true;
        return nullptr;
    }
    void* resized = std::realloc(block, new_size);  // NOLINT(cppcoreguidelines-no-malloc)
    if (!resized) return nullptr;
    accounting.used = accounting.used - old_bytes + new_size;
    return resized;
}

void count_hook(lua_State* state, lua_Debug* event) {
    auto& accounting = runtime_of(state).accounting();
    if (event->event == LUA_HOOKLINE) {
        if (lua_getinfo(state, "S", event) && event->source[0] == '@') {
            // Copy the file name only when the source string changes: this runs per line.
            if (event->source != accounting.last_source_pointer) {
                accounting.last_source_pointer = event->source;
                std::strncpy(accounting.last_source, event->source + 1,
                             sizeof(accounting.last_source) - 1);
            }
            accounting.last_line = event->currentline;
        }
        return;
    }
    accounting.executed += kHookInterval;
    if (accounting.executed > accounting.budget) {
        // From now on every instruction raises, so a config that catches this error with
        // pcall cannot continue at any level.
        lua_sethook(state, count_hook, LUA_MASKCOUNT, 1);
        luaL_error(state, "instruction limit exceeded (a runaway loop?)");
    }
}

// Adds a traceback; stops enforcing the cap so the message itself can be built.
int message_handler(lua_State* state) {
    runtime_of(state).accounting().enforce = false;
    const char* message = lua_tostring(state, 1);
    if (!message) {
        if (luaL_callmeta(state, 1, "__tostring") && lua_type(state, -1) == LUA_TSTRING) {
            message = lua_tostring(state, -1);
        } else {
            message =
                lua_pushfstring(state, "(error object is a %s value)", luaL_typename(state, 1));
        }
    }
    luaL_traceback(state, state, message, 1);
    return 1;
}

// where(level) -> file, line of the nearest Lua function at or above `level`.
int where(lua_State* state) {
    int level = static_cast<int>(luaL_optinteger(state, 1, 2));
    lua_Debug info;
    if (lua_getstack(state, level - 1, &info) && lua_getinfo(state, "t", &info) &&
        info.istailcall) {
        const auto& accounting = runtime_of(state).accounting();
        if (accounting.last_line > 0) {
            lua_pushstring(state, accounting.last_source);
            lua_pushinteger(state, accounting.last_line);
            return 2;
        }
    }
    while (lua_getstack(state, level, &info)) {
        if (lua_getinfo(state, "Sl", &info) && info.currentline > 0) {
            lua_pushstring(state, info.source[0] == '@' ? info.source + 1 : info.short_src);
            lua_pushinteger(state, info.currentline);
            return 2;
        }
        ++level;
    }
    lua_pushstring(state, "?");
    lua_pushinteger(state, 0);
    return 2;
}

struct LoadedModule {
    bool ok = false;
    bool located = false;  // the message already names file:line
    std::string message;
};

LoadedModule load_module_file(LuaRuntime& runtime, const std::string& name) {
    static const std::regex valid_name{R"(^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$)"};
    if (!std::regex_match(name, valid_name))
        return {false, false,
                "require: module '" + name +
                    "' is not allowed: only .lua files inside the master directory can be "
                    "required, by names like 'lib.helpers'"};
    std::string relative = name;
    for (auto& c : relative)
        if (c == '.') c = '/';
    relative += ".lua";
    std::error_code error;
    auto root = std::filesystem::weakly_canonical(runtime.master_dir(), error);
    auto path = std::filesystem::weakly_canonical(runtime.master_dir() / relative, error);
    auto inside = path.lexically_relative(root);
    if (error || inside.empty() || *inside.begin() == "..")
        return {false, false,
                "require: module '" + name + "' resolves outside the master directory"};
    std::ifstream file{path, std::ios::binary};
    if (!file)
        return {false, false,
                "module '" + name + "' not found: no file '" + relative +
                    "' in the master directory"};
    std::ostringstream text;
    text << file.rdbuf();
    if (auto failure = runtime.load_chunk(text.str(), relative)) return {false, true, *failure};
    return {true, false, {}};
}

// load_master_file(name) -> chunk | nil, message, located
int load_master_file(lua_State* state) {
    auto& runtime = runtime_of(state);
    auto& accounting = runtime.accounting();
    const bool enforced = std::exchange(accounting.enforce, false);  // C++ below must not longjmp
    if (lua_type(state, 1) != LUA_TSTRING) {
        lua_pushnil(state);
        lua_pushstring(state, "require: module name must be a string");
        lua_pushboolean(state, 0);
        accounting.enforce = enforced;
        return 3;
    }
    int results = 1;
    {
        LoadedModule loaded = load_module_file(runtime, lua_tostring(state, 1));
        if (!loaded.ok) {
            lua_pushnil(state);
            lua_pushlstring(state, loaded.message.data(), loaded.message.size());
            lua_pushboolean(state, loaded.located ? 1 : 0);
            results = 3;
        }
    }
    accounting.enforce = enforced;
    return results;
}

}  // namespace

std::shared_ptr<LuaRuntime> LuaRuntime::create(std::filesystem::path master_dir, LuaLimits limits) {
    return std::shared_ptr<LuaRuntime>(new LuaRuntime(std::move(master_dir), limits));
}

LuaRuntime::LuaRuntime(std::filesystem::path master_dir, LuaLimits limits)
    : master_dir_(std::move(master_dir))
    , limits_(limits) {
    accounting_.limit = limits.memory_bytes;
    state_ = lua_newstate(allocate, &accounting_);
    if (!state_) throw std::bad_alloc();
    lua_pushlightuserdata(state_, this);
    lua_rawsetp(state_, LUA_REGISTRYINDEX, &kRuntimeKey);
    open_sandbox();
}

LuaRuntime::~LuaRuntime() {
    if (state_) lua_close(state_);
}

void LuaRuntime::open_sandbox() {
    lua_State* L = state_;
    luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
    luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
    luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
    luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
    luaL_requiref(L, LUA_UTF8LIBNAME, luaopen_utf8, 1);
    lua_pop(L, 5);
    luaL_requiref(L, LUA_OSLIBNAME, luaopen_os, 0);
    // os: only the clock and the environment.
    lua_newtable(L);
    for (const char* name : {"getenv", "time", "date", "clock", "difftime"}) {
        lua_getfield(L, -2, name);
        lua_setfield(L, -2, name);
    }
    lua_setglobal(L, "os");
    lua_pop(L, 1);  // the full os library
    for (const char* name : {"dofile", "loadfile", "collectgarbage"}) {
        lua_pushnil(L);
        lua_setglobal(L, name);
    }
    lua_getglobal(L, "string");
    lua_pushnil(L);
    lua_setfield(L, -2, "dump");
    lua_pop(L, 1);

    lua_newtable(L);  // the object metatable
    lua_pushliteral(L, "kiln object");
    lua_setfield(L, -2, "__metatable");
    lua_setfield(L, LUA_REGISTRYINDEX, detail::kObjectMetatableName);

    if (luaL_loadbufferx(L, kBootstrap.data(), kBootstrap.size(), "=kiln", "t") != LUA_OK)
        throw std::logic_error(lua_tostring(L, -1));
    lua_pushcfunction(L, where);
    lua_pushcfunction(L, load_master_file);
    push_object_metatable();
    if (lua_pcall(L, 3, 0, 0) != LUA_OK) throw std::logic_error(lua_tostring(L, -1));
}

void LuaRuntime::push_object_metatable() {
    lua_getfield(state_, LUA_REGISTRYINDEX, detail::kObjectMetatableName);
}

std::optional<std::string> LuaRuntime::protected_call(int arguments, int results,
                                                      std::uint64_t instructions) {
    lua_State* L = state_;
    const int function_index = lua_gettop(L) - arguments;
    lua_pushcfunction(L, message_handler);
    lua_insert(L, function_index);
    accounting_.executed = 0;
    accounting_.last_line = 0;
    accounting_.last_source_pointer = nullptr;
    accounting_.budget = instructions;
    accounting_.limit_hit = false;
    lua_sethook(L, count_hook, LUA_MASKCOUNT | LUA_MASKLINE, kHookInterval);
    accounting_.enforce = true;
    const int status = lua_pcall(L, arguments, results, function_index);
    accounting_.enforce = false;
    lua_sethook(L, nullptr, 0, 0);
    lua_remove(L, function_index);
    if (status == LUA_OK) return std::nullopt;
    std::string message;
    if (status == LUA_ERRMEM || accounting_.limit_hit) {
        message = "memory limit of " + std::to_string(limits_.memory_bytes >> 20) + " MiB exceeded";
    } else if (const char* text = lua_tostring(L, -1)) {
        message = text;
    } else {
        message = "error in error handling";
    }
    lua_pop(L, 1);
    lua_gc(L, LUA_GCCOLLECT);
    return message;
}

std::optional<std::string> LuaRuntime::load_chunk(const std::string& text,
                                                  const std::string& display_name) {
    const std::string chunk_name = "@" + display_name;
    if (luaL_loadbufferx(state_, text.data(), text.size(), chunk_name.c_str(), "t") != LUA_OK) {
        std::string message = lua_tostring(state_, -1) ? lua_tostring(state_, -1) : "load failed";
        lua_pop(state_, 1);
        return message;
    }
    sources_[display_name] = text;
    return std::nullopt;
}

std::string LuaRuntime::source_lines(const std::string& display_name, int first, int last) const {
    auto found = sources_.find(display_name);
    if (found == sources_.end() || first <= 0) return {};
    std::istringstream text{found->second};
    std::string line, result;
    for (int number = 1; std::getline(text, line) && number <= last; ++number)
        if (number >= first) result += line + "\n";
    return result;
}

}  // namespace kiln::config
