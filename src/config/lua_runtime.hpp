// SPDX-License-Identifier: Apache-2.0
// LuaRuntime: the sandboxed Lua 5.4 state a master.lua runs in, and that keeps the config's
// functions (renderables, do_step_if, ...) alive afterwards. Single-threaded: use it only from
// the master's executor. Shared-owned by MasterConfig and every Callable taken from it.
#pragma once

#include "config/errors.hpp"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>

struct lua_State;

namespace kiln::config {

struct LuaLimits {
    // Cap on the Lua heap; an allocation past it fails the running chunk or call.
    std::size_t memory_bytes = std::size_t{256} << 20;
    // Virtual-machine instructions allowed for loading master.lua: a runaway loop fails
    // after a few seconds (a line hook runs during loads), a real config needs far fewer.
    std::uint64_t load_instructions = 50'000'000;
    // Instructions allowed for each later call of a config function (a renderable, ...).
    std::uint64_t call_instructions = 20'000'000;
};

class LuaRuntime {
public:
    // A fresh sandbox: base library without dofile/loadfile/collectgarbage, string (without
    // dump), table, math, utf8, os.{getenv,time,date,clock,difftime}; `require` loads "kiln"
    // or .lua files from master_dir only; `load` accepts text chunks only.
    static std::shared_ptr<LuaRuntime> create(std::filesystem::path master_dir, LuaLimits limits);
    ~LuaRuntime();
    LuaRuntime(const LuaRuntime&) = delete;
    LuaRuntime& operator=(const LuaRuntime&) = delete;

    // ---- for the config module's own use ----
    lua_State* state() const { return state_; }
    const std::filesystem::path& master_dir() const { return master_dir_; }
    const LuaLimits& limits() const { return limits_; }

    // Calls the function below `arguments` arguments on the stack in protected mode, with the
    // memory cap and `instructions` budget enforced. On success leaves `results` values; on
    // failure leaves nothing and returns the message (with a traceback of config frames).
    std::optional<std::string> protected_call(int arguments, int results,
                                              std::uint64_t instructions);
    // Loads a text chunk, named by `display_name` in messages; pushes the function, or returns
    // the syntax error (stack unchanged). Remembers the text for function fingerprints.
    std::optional<std::string> load_chunk(const std::string& text, const std::string& display_name);
    // Source text of lines [first, last] of a loaded chunk; empty when unknown.
    std::string source_lines(const std::string& display_name, int first, int last) const;
    // Pushes the kiln object metatable (identifies values made by k.* constructors).
    void push_object_metatable();

    // Allocation accounting, exposed for the allocator and the hooks.
    struct Accounting {
        std::size_t used = 0;
        std::size_t limit = 0;
        bool enforce = false;
        bool limit_hit = false;
        std::uint64_t executed = 0;
        std::uint64_t budget = 0;
        // The last config line that started executing: where a constructor reached by a tail
        // call (`return k.shell{...}`) was written, since its caller's frame is gone.
        char last_source[256] = {};
        int last_line = 0;
        const char* last_source_pointer = nullptr;
    };
    Accounting& accounting() { return accounting_; }

private:
    LuaRuntime(std::filesystem::path master_dir, LuaLimits limits);
    void open_sandbox();

    std::filesystem::path master_dir_;
    LuaLimits limits_;
    Accounting accounting_;
    lua_State* state_ = nullptr;
    std::map<std::string, std::string, std::less<>> sources_;
};

}  // namespace kiln::config
