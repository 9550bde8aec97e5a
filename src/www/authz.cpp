// SPDX-License-Identifier: Apache-2.0
#include "www/authz.hpp"

#include "www/detail/http.hpp"

#include <algorithm>
#include <string>

#include <fnmatch.h>

namespace kiln::www {

namespace {

void add_role(std::vector<std::string>& roles, std::string_view role) {
    if (!role.empty() && std::find(roles.begin(), roles.end(), role) == roles.end())
        roles.emplace_back(role);
}

bool contains(const std::vector<std::string>& list, std::string_view value) {
    return std::find(list.begin(), list.end(), value) != list.end();
}

// The collection of the entity a path names ("builds" for builders/3/builds/7).
std::string_view entity_collection(const std::vector<std::string>& path) {
    return path.size() >= 2 ? std::string_view(path[path.size() - 2]) : std::string_view{};
}

bool builder_matches(const config::AllowRuleConfig& rule, const AuthzRequest& request) {
    if (!rule.builder) return true;
    return std::any_of(request.builders.begin(), request.builders.end(),
                       [&](const std::string& name) { return glob_match(*rule.builder, name); });
}

bool is_read(std::string_view action) { return detail::iequals(action, "get"); }

// Whether the rule concerns this request (Buildbot's endpoint matchers).
bool rule_matches(const config::AllowRuleConfig& rule, const AuthzRequest& request) {
    const auto& type = rule.type;
    const auto& action = request.action;
    const auto collection = entity_collection(request.path);
    if (type == "any") return true;
    // As Buildbot's AnyControlEndpointMatcher: every action but GET, HEAD included.
    if (type == "any_control") return !is_read(action);
    if (type == "force")
        return action == "force" && collection == "forceschedulers" &&
               builder_matches(rule, request);
    if (type == "stop")
        return action == "stop" && (collection == "builds" || collection == "buildrequests") &&
               builder_matches(rule, request);
    if (type == "rebuild")
        return action == "rebuild" && collection == "builds" && builder_matches(rule, request);
    if (type == "cancel")
        return action == "cancel" && collection == "buildrequests" &&
               builder_matches(rule, request);
    if (type == "enable_scheduler") return action == "enable" && collection == "schedulers";
    if (type == "control_worker")
        return collection == "workers" &&
               (action == "stop" || action == "pause" || action == "unpause" || action == "kill");
    if (type == "shutdown") return action == "shutdown";
    if (type == "try")
        return action == "try" && collection == "tryschedulers" && builder_matches(rule, request);
    return false;
}

// Rules whose match carries a build or build request, so its owner counts (Buildbot computes
// owner roles only from such matches).
bool has_owner(const config::AllowRuleConfig& rule) {
    return rule.type == "stop" || rule.type == "rebuild" || rule.type == "cancel";
}

bool any_role_matches(const std::vector<std::string>& roles, std::string_view pattern) {
    return std::any_of(roles.begin(), roles.end(),
                       [&](const std::string& role) { return glob_match(pattern, role); });
}

}  // namespace

bool glob_match(std::string_view pattern, std::string_view text) {
    const std::string terminated_pattern(pattern);
    const std::string terminated_text(text);
    if (terminated_pattern.find('\0') != std::string::npos ||
        terminated_text.find('\0') != std::string::npos)
        return false;
    return ::fnmatch(terminated_pattern.c_str(), terminated_text.c_str(), FNM_NOESCAPE) == 0;
}

Authorizer::Authorizer(config::AuthzConfig config)
    : config_(std::move(config)) {}

std::vector<std::string> Authorizer::roles_of(const User& user) const {
    std::vector<std::string> roles;
    if (user.anonymous) return roles;
    for (const auto& matcher : config_.roles) {
        if (matcher.type == "from_groups") {
            for (const auto& group : user.groups)
                if (group.starts_with(matcher.prefix))
                    add_role(roles, std::string_view(group).substr(matcher.prefix.size()));
        } else if (matcher.type == "from_emails") {
            if (user.email.empty()) continue;
            for (const auto& [role, emails] : matcher.members)
                if (contains(emails, user.email)) add_role(roles, role);
        } else if (matcher.type == "from_domain") {
            const auto at = user.email.rfind('@');
            if (at == std::string::npos) continue;
            const auto domain = user.email.substr(at + 1);
            for (const auto& [role, domains] : matcher.members)
                if (contains(domains, domain)) add_role(roles, role);
        } else if (matcher.type == "from_username") {
            if (contains(matcher.usernames, user.username))
                for (const auto& role : matcher.roles)
                    add_role(roles, role);
        }
    }
    return roles;
}

void Authorizer::assign_roles(User& user) const { user.roles = roles_of(user); }

std::vector<std::string> Authorizer::all_roles(const User& user) const {
    auto roles = roles_of(user);
    for (const auto& role : user.roles)
        add_role(roles, role);
    return roles;
}

core::Expected<void> Authorizer::check(const User& user, const AuthzRequest& request) const {
    if (config_.rules.empty()) return {};
    const auto roles = all_roles(user);
    for (const auto& rule : config_.rules) {
        if (!rule_matches(rule, request)) continue;
        auto rule_roles = roles;
        // k.roles.from_owner: the owner is who the build's owner property names, and a user's
        // owner string is what Kiln records for them (User::owner(): the email when there is
        // one, as Buildbot compares it).
        if (has_owner(rule) && !request.owner.empty() && !user.anonymous &&
            request.owner == user.owner())
            for (const auto& matcher : config_.roles)
                if (matcher.type == "from_owner")
                    for (const auto& role : matcher.roles)
                        add_role(rule_roles, role);
        if (any_role_matches(rule_roles, rule.role)) return {};
        if (!rule.default_deny) continue;
        return core::fail(core::ErrorKind::forbidden, "you need to have role '" + rule.role + "'");
    }
    return {};
}

bool Authorizer::may_view_builder(const User& user, std::string_view builder_name) const {
    if (config_.view.empty()) return true;
    for (const auto& entry : config_.view) {
        if (!glob_match(entry.builder, builder_name)) continue;
        const auto roles = all_roles(user);
        return std::any_of(entry.roles.begin(), entry.roles.end(), [&](const std::string& pattern) {
            return any_role_matches(roles, pattern);
        });
    }
    return true;
}

}  // namespace kiln::www
