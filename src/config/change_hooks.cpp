// SPDX-License-Identifier: Apache-2.0
// www.change_hook (the dialects: base, github, gitlab) and www.change_hook_auth, parsed into
// ChangeHookConfig. Secrets come through k.secret and are never shown in messages.
#include "config/detail/parse.hpp"

#include <lua.hpp>
#include <regex>

namespace kiln::config::detail {
namespace {

// A dialect's value: true (enabled with defaults), false/nil (disabled) or a table of options.
// Returns the options table's stack index (pushed) when it is a table, 0 otherwise; `enabled`
// says whether the dialect is on.
int dialect_table(Reader& reader, const Fields& hooks, std::string_view key, bool& enabled) {
    lua_State* state = reader.state();
    hooks.push(key);
    const int index = lua_gettop(state);
    enabled = false;
    if (lua_isnil(state, index)) return 0;
    if (lua_type(state, index) == LUA_TBOOLEAN) {
        enabled = lua_toboolean(state, index) != 0;
        return 0;
    }
    if (lua_type(state, index) != LUA_TTABLE || reader.object(index)) {
        lua_settop(state, index);
        hooks.wrong_type(key, "true or a table of options", index);
        return 0;
    }
    lua_settop(state, index);
    enabled = true;
    return index;
}

std::optional<std::string> secret_option(Reader& reader, const Fields& fields,
                                         std::string_view key) {
    lua_State* state = reader.state();
    StackGuard guard{state};
    fields.push(key);
    if (lua_isnil(state, -1)) return std::nullopt;
    return reader.string_or_secret(-1, fields.where(),
                                   "'" + std::string(key) + "' in " + fields.context());
}

void parse_github(Reader& reader, const Fields& hooks, ChangeHookConfig& config) {
    lua_State* state = reader.state();
    StackGuard guard{state};
    bool enabled = false;
    const int table = dialect_table(reader, hooks, "github", enabled);
    if (!enabled) return;
    GitHubHookConfig github;
    if (table != 0) {
        Fields fields{reader,
                      table,
                      "'www.change_hook.github'",
                      hooks.where(),
                      {"secret", "strict", "codebase", "skips", "pullrequest_ref",
                       "github_property_whitelist"}};
        github.secret = secret_option(reader, fields, "secret");
        github.strict = fields.boolean("strict").value_or(false);
        github.codebase = fields.string("codebase").value_or("");
        if (auto skips = fields.string_list("skips")) github.skips = std::move(*skips);
        for (const auto& skip : github.skips) {
            try {
                std::regex{skip};
            } catch (const std::regex_error& error) {
                fields.invalid("skips",
                               "'" + skip + "' is not a regular expression (" + error.what() + ")");
            }
        }
        github.pullrequest_ref = fields.string("pullrequest_ref").value_or("merge");
        if (github.pullrequest_ref.empty() || github.pullrequest_ref.find('/') != std::string::npos)
            fields.invalid("pullrequest_ref", "must be a ref name such as \"merge\" or \"head\"");
        github.github_property_whitelist =
            fields.string_list("github_property_whitelist").value_or(std::vector<std::string>{});
        if (github.strict && !github.secret)
            fields.invalid("strict", "needs a secret to check signatures with");
        if (github.secret && github.secret->empty()) fields.invalid("secret", "must not be empty");
    }
    config.github = std::move(github);
}

void parse_gitlab(Reader& reader, const Fields& hooks, ChangeHookConfig& config) {
    lua_State* state = reader.state();
    StackGuard guard{state};
    bool enabled = false;
    const int table = dialect_table(reader, hooks, "gitlab", enabled);
    if (!enabled) return;
    GitLabHookConfig gitlab;
    if (table != 0) {
        Fields fields{
            reader, table, "'www.change_hook.gitlab'", hooks.where(), {"secret", "codebase"}};
        gitlab.secret = secret_option(reader, fields, "secret");
        gitlab.codebase = fields.string("codebase").value_or("");
        if (gitlab.secret && gitlab.secret->empty()) fields.invalid("secret", "must not be empty");
    }
    config.gitlab = std::move(gitlab);
}

void parse_auth(Reader& reader, const Fields& www, const SourceLocation& where,
                ChangeHookConfig& config) {
    lua_State* state = reader.state();
    StackGuard guard{state};
    www.push("change_hook_auth");
    if (lua_isnil(state, -1)) return;
    const int list = lua_gettop(state);
    const std::string expected = "a list of \"user:password\" strings or k.secret(...) values";
    if (lua_type(state, list) != LUA_TTABLE || reader.object(list)) {
        lua_settop(state, list);
        www.wrong_type("change_hook_auth", expected, list);
        return;
    }
    lua_settop(state, list);
    const auto count = static_cast<lua_Integer>(lua_rawlen(state, list));
    for (lua_Integer position = 1; position <= count; ++position) {
        StackGuard element_guard{state};
        lua_rawgeti(state, list, position);
        const std::string what =
            "element " + std::to_string(position) + " of 'www.change_hook_auth'";
        auto entry = reader.string_or_secret(-1, where, what);
        if (!entry) continue;
        while (!entry->empty() && (entry->back() == '\n' || entry->back() == '\r'))
            entry->pop_back();  // a secret file's final newline
        const auto colon = entry->find(':');
        // The message never shows the entry: it holds a password.
        if (colon == std::string::npos || colon == 0 || colon + 1 == entry->size()) {
            reader.error(where, what + " must be \"user:password\" (a user, a colon, a password)");
            continue;
        }
        config.auth.emplace_back(entry->substr(0, colon), entry->substr(colon + 1));
    }
    if (count == 0) www.invalid("change_hook_auth", "must not be empty (leave it out instead)");
}

}  // namespace

void parse_change_hooks(Reader& reader, const Fields& www, const SourceLocation& where,
                        const SourceLocation& auth_where, ChangeHookConfig& config) {
    config.where = where;
    lua_State* state = reader.state();
    {
        StackGuard guard{state};
        www.push("change_hook");
        if (!lua_isnil(state, -1)) {
            const int table = lua_gettop(state);
            if (lua_type(state, table) != LUA_TTABLE || reader.object(table)) {
                lua_settop(state, table);
                www.wrong_type("change_hook",
                               "a table of dialects such as { base = true, github = {...} }",
                               table);
            } else {
                lua_settop(state, table);
                Fields hooks{
                    reader, table, "'www.change_hook'", where, {"base", "github", "gitlab"}};
                {
                    StackGuard base_guard{state};
                    bool enabled = false;
                    const int options = dialect_table(reader, hooks, "base", enabled);
                    if (options != 0) {
                        // Buildbot's base dialect takes no options; an empty table is true.
                        Fields none{reader, options, "'www.change_hook.base'", where, {}};
                    }
                    config.base = enabled;
                }
                parse_github(reader, hooks, config);
                parse_gitlab(reader, hooks, config);
            }
        }
    }
    parse_auth(reader, www, auth_where, config);
    if (!config.auth.empty() && !config.is_enabled())
        www.invalid("change_hook_auth", "is set but www.change_hook enables no dialect");
}

}  // namespace kiln::config::detail
