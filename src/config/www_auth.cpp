// SPDX-License-Identifier: Apache-2.0
// www.auth (k.auth.none() / k.auth.users_file("users.txt")), www.authz (k.roles.*, k.allow.*,
// view) and www.session_lifetime, parsed into WwwAuthConfig; and their equality for reconfig.
#include "config/detail/parse.hpp"

#include <algorithm>
#include <array>
#include <lua.hpp>

namespace kiln::config {
namespace detail {
namespace {

constexpr std::array<std::string_view, 5> kRoleMatcherKinds = {
    "from_groups", "from_emails", "from_domain", "from_username", "from_owner"};

constexpr std::array<std::string_view, 10> kRuleKinds = {
    "force",          "stop",     "rebuild",     "cancel", "enable_scheduler",
    "control_worker", "shutdown", "any_control", "any",    "try"};

// Rules that concern builds of a builder, and so accept `builder = "glob"`.
constexpr std::array<std::string_view, 5> kBuilderRuleKinds = {"force", "stop", "rebuild", "cancel",
                                                               "try"};

template <std::size_t N>
bool is_one_of(const std::array<std::string_view, N>& names, std::string_view name) {
    return std::find(names.begin(), names.end(), name) != names.end();
}

template <std::size_t N>
std::string listed(std::string_view prefix, const std::array<std::string_view, N>& names) {
    std::string text;
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (i > 0) text += i + 1 == names.size() ? " or " : ", ";
        text += std::string(prefix) + std::string(names[i]);
    }
    return text;
}

// Calls each(position) with every element of the list at `key` pushed on the stack; reports
// a value that is not a list.
template <typename Each>
void for_each_element(Reader& reader, const Fields& fields, std::string_view key,
                      std::string_view expected, Each each) {
    lua_State* state = reader.state();
    StackGuard guard{state};
    fields.push(key);
    if (lua_isnil(state, -1)) return;
    const int list = lua_gettop(state);
    if (lua_type(state, list) != LUA_TTABLE || reader.object(list)) {
        fields.wrong_type(key, expected, list);
        return;
    }
    lua_settop(state, list);
    const auto count = static_cast<lua_Integer>(lua_rawlen(state, list));
    for (lua_Integer position = 1; position <= count; ++position) {
        StackGuard element_guard{state};
        lua_rawgeti(state, list, position);
        each(position);
    }
}

// The object's kind without its namespace ("roles.from_groups" -> "from_groups") when it is
// in that namespace, else empty.
std::string_view kind_in(const KilnObject& object, std::string_view name_space) {
    std::string_view kind = object.kind;
    if (kind.size() <= name_space.size() + 1 || !kind.starts_with(name_space) ||
        kind[name_space.size()] != '.')
        return {};
    return kind.substr(name_space.size() + 1);
}

void report_kind(Reader& reader, const KilnObject& object, std::string_view what,
                 std::string_view name_space, const std::vector<std::string_view>& kinds) {
    std::string message = "k." + object.kind + "{...} is not " + std::string(what);
    std::string_view given = kind_in(object, name_space);
    if (given.empty()) given = object.kind;
    if (auto close = suggest(given, kinds))
        message += " (did you mean k." + std::string(name_space) + "." + std::string(*close) + "?)";
    reader.error(object.where, std::move(message));
}

void parse_auth(Reader& reader, const Fields& www, WwwAuthConfig& config) {
    lua_State* state = reader.state();
    StackGuard guard{state};
    www.push("auth");
    if (lua_isnil(state, -1)) return;
    const std::string expected = "k.auth.none() or k.auth.users_file(\"users.txt\")";
    auto object = reader.object(-1);
    if (!object || (object->kind != "auth.none" && object->kind != "auth.users_file")) {
        if (object) lua_pop(state, 1);  // its arguments
        www.wrong_type("auth", expected, -1);
        return;
    }
    config.where = object->where;
    if (object->extra_arguments > 0) {
        reader.error(object->where, "k." + object->kind + " takes one argument, got more");
        return;
    }
    if (object->kind == "auth.none") {
        bool has_arguments = !lua_isnil(state, object->args);
        if (lua_type(state, object->args) == LUA_TTABLE && !reader.object(object->args)) {
            lua_settop(state, object->args);
            lua_pushnil(state);
            has_arguments = lua_next(state, object->args) != 0;  // k.auth.none{} is fine
        }
        if (has_arguments) reader.error(object->where, "k.auth.none takes no arguments");
        config.method = AuthMethod::none;
        return;
    }
    // k.auth.users_file("users.txt") or k.auth.users_file{ file = "users.txt" }
    std::optional<std::string> file;
    if (lua_type(state, object->args) == LUA_TSTRING) {
        file = lua_tostring(state, object->args);
    } else if (lua_type(state, object->args) == LUA_TTABLE && !reader.object(object->args)) {
        lua_settop(state, object->args);
        Fields fields{reader, object->args, "k.auth.users_file", object->where, {"file"}};
        file = fields.string("file", true);
        if (!file) return;
    } else {
        lua_settop(state, object->args);
        reader.error(object->where, "k.auth.users_file takes the users file's path: "
                                    "k.auth.users_file(\"users.txt\"), got " +
                                        reader.type_name(object->args));
        return;
    }
    if (file->empty() || file->find('\0') != std::string::npos) {
        reader.error(object->where, "k.auth.users_file: the path must be a non-empty file name");
        return;
    }
    config.method = AuthMethod::users_file;
    config.users_file = *file;
}

std::optional<RoleMatcherConfig> parse_role_matcher(Reader& reader, const KilnObject& object) {
    const std::string_view kind = kind_in(object, "roles");
    if (!is_one_of(kRoleMatcherKinds, kind)) {
        report_kind(reader, object,
                    "a role matcher (use " + listed("k.roles.", kRoleMatcherKinds) + ")", "roles",
                    {kRoleMatcherKinds.begin(), kRoleMatcherKinds.end()});
        return std::nullopt;
    }
    if (!check_table_argument(reader, object)) return std::nullopt;
    const auto errors_before = reader.error_count();
    RoleMatcherConfig matcher;
    matcher.type = std::string(kind);
    matcher.where = object.where;
    const std::string context = "k." + object.kind;
    lua_State* state = reader.state();
    if (kind == "from_groups") {
        Fields fields{reader, object.args, context, object.where, {"prefix"}};
        matcher.prefix = fields.string("prefix").value_or("");
    } else if (kind == "from_emails" || kind == "from_domain") {
        // Every key is a role: from_emails{ admins = {"a@x"}, developers = {...} }.
        std::vector<std::string> keys;
        lua_pushnil(state);
        while (lua_next(state, object.args)) {
            if (lua_type(state, -2) == LUA_TSTRING) keys.emplace_back(lua_tostring(state, -2));
            lua_pop(state, 1);
        }
        std::vector<std::string_view> known(keys.begin(), keys.end());
        Fields fields{reader, object.args, context, object.where, known};
        for (const auto& role : keys)
            if (auto members = fields.string_list(role))
                matcher.members[role] = std::move(*members);
        if (keys.empty())
            reader.error(object.where,
                         context + " needs at least one role: " + context + "{ admins = {" +
                             (kind == "from_emails" ? "\"alice@example.org\"" : "\"example.org\"") +
                             "} }");
    } else if (kind == "from_username") {
        Fields fields{reader, object.args, context, object.where, {"roles", "usernames"}};
        matcher.roles = fields.string_list("roles").value_or(std::vector<std::string>{});
        matcher.usernames = fields.string_list("usernames").value_or(std::vector<std::string>{});
        if (!fields.has("roles")) fields.missing("roles");
        if (!fields.has("usernames")) fields.missing("usernames");
    } else {  // from_owner
        Fields fields{reader, object.args, context, object.where, {"role"}};
        auto role = fields.string("role", true);
        if (role && role->empty()) fields.invalid("role", "must not be empty");
        if (role) matcher.roles = {std::move(*role)};
    }
    if (reader.error_count() != errors_before) return std::nullopt;
    return matcher;
}

std::optional<AllowRuleConfig> parse_rule(Reader& reader, const KilnObject& object) {
    const std::string_view kind = kind_in(object, "allow");
    if (!is_one_of(kRuleKinds, kind)) {
        report_kind(reader, object,
                    "an authorization rule (use " + listed("k.allow.", kRuleKinds) + ")", "allow",
                    {kRuleKinds.begin(), kRuleKinds.end()});
        return std::nullopt;
    }
    if (!check_table_argument(reader, object)) return std::nullopt;
    const auto errors_before = reader.error_count();
    std::vector<std::string_view> known = {"role", "default_deny"};
    const bool has_builder = is_one_of(kBuilderRuleKinds, kind);
    if (has_builder) known.push_back("builder");
    Fields fields{reader, object.args, "k." + object.kind, object.where, known};
    AllowRuleConfig rule;
    rule.type = std::string(kind);
    rule.where = object.where;
    rule.role = fields.string("role", true).value_or("");
    if (fields.has("role") && rule.role.empty()) fields.invalid("role", "must not be empty");
    rule.default_deny = fields.boolean("default_deny").value_or(true);
    if (has_builder) {
        rule.builder = fields.string("builder");
        if (rule.builder && rule.builder->empty())
            fields.invalid("builder", "must not be empty (leave it out to match every builder)");
    }
    if (reader.error_count() != errors_before) return std::nullopt;
    return rule;
}

std::optional<ViewRuleConfig> parse_view_rule(Reader& reader, const SourceLocation& where,
                                              lua_Integer position) {
    lua_State* state = reader.state();
    const std::string context = "element " + std::to_string(position) + " of 'www.authz.view'";
    if (lua_type(state, -1) != LUA_TTABLE || reader.object(-1)) {
        reader.error(where, context +
                                " must be a table such as { builder = \"secret-*\", roles = "
                                "{\"admins\"} }, got " +
                                reader.type_name(-1));
        return std::nullopt;
    }
    const auto errors_before = reader.error_count();
    Fields fields{reader, -1, context, where, {"builder", "roles"}};
    ViewRuleConfig rule;
    rule.where = where;
    rule.builder = fields.string("builder", true).value_or("");
    if (fields.has("builder") && rule.builder.empty())
        fields.invalid("builder", "must not be empty");
    rule.roles = fields.string_list("roles").value_or(std::vector<std::string>{});
    if (!fields.has("roles")) fields.missing("roles");
    if (reader.error_count() != errors_before) return std::nullopt;
    return rule;
}

void parse_authz(Reader& reader, const Fields& www, AuthzConfig& config) {
    lua_State* state = reader.state();
    StackGuard guard{state};
    www.push("authz");
    if (lua_isnil(state, -1)) return;
    const int table = lua_gettop(state);
    if (lua_type(state, table) != LUA_TTABLE || reader.object(table)) {
        lua_settop(state, table);
        www.wrong_type("authz", "a table such as { roles = {...}, rules = {...} }", table);
        return;
    }
    lua_settop(state, table);
    Fields authz{reader, table, "'www.authz'", www.where(), {"roles", "rules", "view"}};
    auto objects = [&](std::string_view key, std::string_view example, auto parse, auto& into) {
        for_each_element(
            reader, authz, key, "a list of " + std::string(example), [&](lua_Integer position) {
                auto object = reader.object(-1);
                if (!object) {
                    authz.invalid(key, "must hold " + std::string(example) + " values, element " +
                                           std::to_string(position) + " is a " +
                                           reader.type_name(-1));
                    return;
                }
                if (auto parsed = parse(reader, *object)) into.push_back(std::move(*parsed));
            });
    };
    objects("roles", "k.roles.*{...}", parse_role_matcher, config.roles);
    objects("rules", "k.allow.*{...}", parse_rule, config.rules);
    for_each_element(reader, authz, "view", "a list of { builder = ..., roles = {...} }",
                     [&](lua_Integer position) {
                         if (auto rule = parse_view_rule(reader, www.where(), position))
                             config.view.push_back(std::move(*rule));
                     });
}

}  // namespace

void parse_www_auth(Reader& reader, const Fields& www, WwwAuthConfig& config) {
    config.where = www.where();
    constexpr std::int64_t kMaxLifetime = 366 * 24 * 3600;
    if (auto lifetime = www.integer("session_lifetime", 60, kMaxLifetime))
        config.session_lifetime = *lifetime;
    parse_auth(reader, www, config);
    parse_authz(reader, www, config.authz);
}

}  // namespace detail

bool operator==(const RoleMatcherConfig& a, const RoleMatcherConfig& b) {
    return a.type == b.type && a.prefix == b.prefix && a.members == b.members &&
           a.roles == b.roles && a.usernames == b.usernames;
}

bool operator==(const AllowRuleConfig& a, const AllowRuleConfig& b) {
    return a.type == b.type && a.role == b.role && a.builder == b.builder &&
           a.default_deny == b.default_deny;
}

bool operator==(const ViewRuleConfig& a, const ViewRuleConfig& b) {
    return a.builder == b.builder && a.roles == b.roles;
}

bool operator==(const AuthzConfig& a, const AuthzConfig& b) {
    return a.roles == b.roles && a.rules == b.rules && a.view == b.view;
}

bool operator==(const WwwAuthConfig& a, const WwwAuthConfig& b) {
    return a.method == b.method && a.users_file == b.users_file && a.authz == b.authz &&
           a.session_lifetime == b.session_lifetime;
}

}  // namespace kiln::config
