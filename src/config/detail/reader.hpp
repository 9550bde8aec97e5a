// SPDX-License-Identifier: Apache-2.0
// Reader and Fields: walk the Lua values master.lua returned and turn them into config
// values, recording every problem as a ConfigError instead of stopping at the first.
// Only raw accesses are used (no metamethods run), so nothing here raises a Lua error.
#pragma once

#include "config/callable.hpp"
#include "config/errors.hpp"
#include "config/renderable.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

struct lua_State;

namespace kiln::config {
class LuaRuntime;
}

namespace kiln::config::detail {

// Restores the Lua stack height when it goes out of scope.
class StackGuard {
public:
    explicit StackGuard(lua_State* state);
    ~StackGuard();
    StackGuard(const StackGuard&) = delete;
    StackGuard& operator=(const StackGuard&) = delete;

private:
    lua_State* state_;
    int top_;
};

// A value made by a k.<kind>{...} or k.<kind>(...) call.
struct KilnObject {
    std::string kind;
    SourceLocation where;
    int args = 0;             // absolute stack index of its argument table (pushed)
    bool positional = false;  // k.secret("x"): args is {n = count, ...}
    int extra_arguments = 0;  // k.shell({...}, more): a mistake
};

// Where a converted value's functions, secrets and renderables go in generic options.
struct OpaqueParts {
    std::map<std::string, Callable, std::less<>> functions;
    std::map<std::string, Renderable, std::less<>> renderables;
};

class Reader {
public:
    Reader(std::shared_ptr<LuaRuntime> runtime, std::vector<ConfigError>& errors,
           std::map<std::string, std::string>& secrets);

    lua_State* state() const { return state_; }
    LuaRuntime& runtime() const { return *runtime_; }
    void error(const SourceLocation& where, std::string message);
    std::size_t error_count() const { return errors_.size(); }

    // When the value at `index` is a kiln object, pushes its argument table and describes it.
    std::optional<KilnObject> object(int index);
    std::string type_name(int index);

    // A function at `index` (must be one) as a Callable.
    Callable callable(int index);
    // Any value usable where a renderable is allowed. Secrets are refused.
    std::optional<Renderable> renderable(int index, const SourceLocation& where,
                                         const std::string& what, int depth = 0);
    // Plain data only (no functions, renderables or secrets).
    std::optional<boost::json::value> plain(int index, const SourceLocation& where,
                                            const std::string& what);
    // A string, or k.secret("name") resolved from secrets/<name>. Messages never show the value.
    std::optional<std::string> string_or_secret(int index, const SourceLocation& where,
                                                const std::string& what);
    // Anything, for options parsed generically: functions, renderables and secrets become
    // {"$function"|"$renderable": "<JSON pointer>"} / {"$secret": "name"} placeholders.
    boost::json::value opaque(int index, const SourceLocation& where, const std::string& what,
                              const std::string& pointer, OpaqueParts& parts, int depth = 0);
    // Resolves k.secret(...) arguments; records it in the secrets map.
    std::optional<std::string> resolve_secret(const KilnObject& secret);

private:
    std::string fingerprint(int index, int depth);

    std::shared_ptr<LuaRuntime> runtime_;
    lua_State* state_;
    std::vector<ConfigError>& errors_;
    std::map<std::string, std::string>& secrets_;
};

// The keys of one constructor's table. Reports unknown keys (with a suggestion), non-string
// keys, and type errors for the typed getters; a getter returns nullopt when the key is
// absent or wrong (already reported).
class Fields {
public:
    Fields(Reader& reader, int table, std::string context, SourceLocation where,
           std::vector<std::string_view> known);

    const SourceLocation& where() const { return where_; }
    const std::string& context() const { return context_; }
    Reader& reader() const { return reader_; }
    bool has(std::string_view key) const;
    // Pushes the raw value of `key` (nil when absent).
    void push(std::string_view key) const;
    void missing(std::string_view key) const;
    void wrong_type(std::string_view key, std::string_view expected, int index) const;
    void invalid(std::string_view key, const std::string& problem) const;

    std::optional<std::string> string(std::string_view key, bool required = false) const;
    std::optional<bool> boolean(std::string_view key) const;
    std::optional<std::int64_t> integer(std::string_view key, std::int64_t minimum,
                                        std::int64_t maximum) const;
    std::optional<double> number(std::string_view key, double minimum) const;
    std::optional<std::vector<std::string>> string_list(std::string_view key) const;
    std::optional<Renderable> renderable(std::string_view key) const;
    std::optional<boost::json::value> plain(std::string_view key) const;
    std::optional<Callable> function(std::string_view key) const;
    // A bool or a function.
    std::optional<Predicate> predicate(std::string_view key) const;
    // properties = { name = value }: constants into `constants` (with `source`), the rest into
    // `renderables` (or an error when `allow_renderables` is false).
    void properties(std::string_view key, core::Properties& constants,
                    std::map<std::string, Renderable, std::less<>>* renderables,
                    std::string_view source) const;

private:
    Reader& reader_;
    int table_;
    std::string context_;
    SourceLocation where_;
};

// The closest of `candidates` to `word`, when it is close enough to be a likely typo.
std::optional<std::string_view> suggest(std::string_view word,
                                        const std::vector<std::string_view>& candidates);

// Buildbot's identifier rule (data model §2.5): at most 50 characters, the first a letter,
// '_' or '-', the rest letters, digits, '_' or '-'; non-ASCII letters allowed.
bool is_identifier(std::string_view name);

}  // namespace kiln::config::detail
