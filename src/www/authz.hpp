// SPDX-License-Identifier: Apache-2.0
// Authorizer: who may do what through the HTTP API (www.authz), with Buildbot's semantics
// (rest-api.md §9.3): a user's roles come from the role matchers; rules are tried in order
// and the first rule matching the request decides: a user role matching the rule's role
// (fnmatch) allows, otherwise default_deny answers 403 "you need to have role '<role>'" or,
// without it, the next rule is tried; no matching rule allows. Builder names and roles are
// globs (fnmatch: * ? [...]). Kiln adds read visibility: www.authz.view says who sees which
// builders. Without an authz config everything is allowed and everything visible.
#pragma once

#include "config/master_config.hpp"
#include "core/expected.hpp"
#include "www/user.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace kiln::www {

// What a request asks, as the router sees it.
struct AuthzRequest {
    // "GET" or "HEAD" for reads; for control, the JSON-RPC method: "force", "stop", "rebuild",
    // "cancel", "pause", "unpause", "kill", "enable", "shutdown", ...
    std::string action;
    // The /api/v2 path's segments, e.g. {"builders", "3", "builds", "7"}. A rule for an
    // action on a kind of entity looks at the segment naming the entity's collection (the one
    // before the last): stop matches on builds and buildrequests, control_worker on workers.
    std::vector<std::string> path;
    // The names of the builders concerned (empty when none or unknown): the build's builder,
    // or every builder a force would build. A rule with a builder glob matches when one does.
    std::vector<std::string> builders;
    // The owner of the build or build request concerned (its buildset's "owner" property),
    // empty when none: for k.roles.from_owner.
    std::string owner;
};

class Authorizer {
public:
    explicit Authorizer(config::AuthzConfig config = {});

    // The user's roles from the role matchers (k.roles.from_owner aside: it applies per
    // request), without duplicates, in matcher order. Anonymous users have none.
    std::vector<std::string> roles_of(const User& user) const;
    // Sets user.roles to roles_of(user).
    void assign_roles(User& user) const;

    // Whether the user may do what the request asks: nothing, or Error{forbidden, "you need
    // to have role '<role>'"}. Uses user.roles together with roles_of(user), so calling
    // assign_roles first is not required.
    core::Expected<void> check(const User& user, const AuthzRequest& request) const;

    // Whether the user may see the builder, its builds and their steps and logs (the router
    // leaves hidden builders out of lists and answers 404 for them).
    bool may_view_builder(const User& user, std::string_view builder_name) const;

    // True when no rule and no view entry is configured: everything is allowed and visible.
    bool is_open() const { return config_.rules.empty() && config_.view.empty(); }
    // True when a `view` entry may hide builders from someone: without one, every reader sees
    // everything (lists, counts and live events need no filtering).
    bool hides_builders() const { return !config_.view.empty(); }

private:
    std::vector<std::string> all_roles(const User& user) const;

    config::AuthzConfig config_;
};

// Python's fnmatch.fnmatchcase: * ? [seq] [!seq], no escapes, '/' and '.' not special.
bool glob_match(std::string_view pattern, std::string_view text);

}  // namespace kiln::www
