// SPDX-License-Identifier: Apache-2.0
// Authorizer: roles from each matcher, the rule matrix (roles x actions x builders), first
// matching rule decides, default_deny = false falls through, from_owner, and visibility.
#include "www/authz.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kiln::www {
namespace {

using Path = std::vector<std::string>;

User user_named(std::string name, std::string email, std::vector<std::string> groups) {
    User user;
    user.anonymous = false;
    user.username = std::move(name);
    user.email = std::move(email);
    user.groups = std::move(groups);
    return user;
}

config::RoleMatcherConfig from_groups(std::string prefix) {
    config::RoleMatcherConfig matcher;
    matcher.type = "from_groups";
    matcher.prefix = std::move(prefix);
    return matcher;
}

config::RoleMatcherConfig from_owner(std::string role) {
    config::RoleMatcherConfig matcher;
    matcher.type = "from_owner";
    matcher.roles = {std::move(role)};
    return matcher;
}

config::AllowRuleConfig rule(std::string type, std::string role,
                             std::optional<std::string> builder = std::nullopt,
                             bool default_deny = true) {
    config::AllowRuleConfig result;
    result.type = std::move(type);
    result.role = std::move(role);
    result.builder = std::move(builder);
    result.default_deny = default_deny;
    return result;
}

AuthzRequest request(std::string action, Path path, std::vector<std::string> builders = {},
                     std::string owner = {}) {
    return AuthzRequest{std::move(action), std::move(path), std::move(builders), std::move(owner)};
}

const Path kForce = {"forceschedulers", "force"};
const Path kBuild = {"builders", "3", "builds", "7"};
const Path kBuildById = {"builds", "12"};
const Path kBuildRequest = {"buildrequests", "5"};
const Path kWorker = {"workers", "1"};
const Path kScheduler = {"schedulers", "2"};

std::string outcome(const Authorizer& authz, const User& user, const AuthzRequest& asked) {
    auto checked = authz.check(user, asked);
    if (checked) return "allowed";
    EXPECT_EQ(checked.error().kind, core::ErrorKind::forbidden);
    return checked.error().message;
}

TEST(Authorizer, without_config_allows_everything_and_shows_everything) {
    const Authorizer authz;
    const User anonymous;
    EXPECT_TRUE(authz.is_open());
    for (const auto& action : {"GET", "force", "stop", "shutdown", "explode"})
        EXPECT_EQ(outcome(authz, anonymous, request(action, kForce, {"b"})), "allowed") << action;
    EXPECT_TRUE(authz.may_view_builder(anonymous, "secret"));
    EXPECT_TRUE(authz.roles_of(user_named("alice", "a@x", {"kiln-admins"})).empty());
}

TEST(Authorizer, roles_come_from_groups_emails_domains_and_usernames_without_duplicates) {
    config::AuthzConfig config;
    config.roles.push_back(from_groups("kiln-"));
    config::RoleMatcherConfig emails;
    emails.type = "from_emails";
    emails.members = {{"admins", {"a@x.org"}}, {"testers", {"t@x.org", "a@x.org"}}};
    config.roles.push_back(emails);
    config::RoleMatcherConfig domains;
    domains.type = "from_domain";
    domains.members = {{"staff", {"x.org"}}};
    config.roles.push_back(domains);
    config::RoleMatcherConfig usernames;
    usernames.type = "from_username";
    usernames.roles = {"admins", "ops"};
    usernames.usernames = {"alice", "root"};
    config.roles.push_back(usernames);
    config.roles.push_back(from_owner("owner"));
    const Authorizer authz{config};

    auto alice = user_named("alice", "a@x.org", {"kiln-dev", "other", "kiln-"});
    EXPECT_EQ(authz.roles_of(alice),
              (std::vector<std::string>{"dev", "admins", "testers", "staff", "ops"}));
    authz.assign_roles(alice);
    EXPECT_TRUE(alice.has_role("staff"));
    EXPECT_FALSE(alice.has_role("owner")) << "from_owner applies per request only";
    EXPECT_EQ(authz.roles_of(user_named("bob", "b@y.org", {"dev"})), std::vector<std::string>{});
    User anonymous;
    anonymous.groups = {"kiln-admins"};  // anonymous users have no roles, whatever they hold
    EXPECT_TRUE(authz.roles_of(anonymous).empty());
}

// The matrix: three users x each action x builders, against Buildbot-style rules.
TEST(Authorizer, the_first_matching_rule_decides_by_role_action_and_builder) {
    config::AuthzConfig config;
    config.roles.push_back(from_groups("kiln-"));
    config.rules = {rule("force", "releasers", "release-*"),
                    rule("force", "dev*"),
                    rule("stop", "dev*", "app*"),
                    rule("rebuild", "devs"),
                    rule("cancel", "devs", "app"),
                    rule("enable_scheduler", "admins"),
                    rule("control_worker", "ops"),
                    rule("shutdown", "admins"),
                    rule("any_control", "admins")};
    const Authorizer authz{config};
    const auto admin = user_named("ada", "ada@x", {"kiln-admins"});
    const auto dev = user_named("dan", "dan@x", {"kiln-devs"});
    const auto releaser = user_named("rita", "rita@x", {"kiln-releasers"});
    const User anonymous;
    const std::string need_admins = "you need to have role 'admins'";

    // force: release builders need releasers; other builders any dev* role.
    EXPECT_EQ(outcome(authz, releaser, request("force", kForce, {"release-1"})), "allowed");
    EXPECT_EQ(outcome(authz, dev, request("force", kForce, {"release-1"})),
              "you need to have role 'releasers'");
    EXPECT_EQ(outcome(authz, admin, request("force", kForce, {"release-1"})),
              "you need to have role 'releasers'")
        << "the first matching rule decides, even for admins";
    EXPECT_EQ(outcome(authz, dev, request("force", kForce, {"app"})), "allowed");
    EXPECT_EQ(outcome(authz, releaser, request("force", kForce, {"app"})),
              "you need to have role 'dev*'");
    EXPECT_EQ(outcome(authz, dev, request("force", kForce, {"app", "release-2"})),
              "you need to have role 'releasers'")
        << "a force of several builders matches when one builder does";

    // stop on builds and build requests of app* builders: dev*; other builders fall to
    // any_control.
    EXPECT_EQ(outcome(authz, dev, request("stop", kBuild, {"app"})), "allowed");
    EXPECT_EQ(outcome(authz, dev, request("stop", kBuildById, {"app-linux"})), "allowed");
    EXPECT_EQ(outcome(authz, dev, request("stop", kBuildRequest, {"app"})), "allowed");
    EXPECT_EQ(outcome(authz, anonymous, request("stop", kBuild, {"app"})),
              "you need to have role 'dev*'");
    EXPECT_EQ(outcome(authz, dev, request("stop", kBuild, {"lib"})), need_admins);
    EXPECT_EQ(outcome(authz, admin, request("stop", kBuild, {"lib"})), "allowed");
    EXPECT_EQ(outcome(authz, dev, request("stop", kBuild)), need_admins)
        << "a builder glob does not match an unknown builder";

    // rebuild (builds only) and cancel (build requests only).
    EXPECT_EQ(outcome(authz, dev, request("rebuild", kBuild, {"lib"})), "allowed");
    EXPECT_EQ(outcome(authz, releaser, request("rebuild", kBuild, {"lib"})),
              "you need to have role 'devs'");
    EXPECT_EQ(outcome(authz, dev, request("cancel", kBuildRequest, {"app"})), "allowed");
    EXPECT_EQ(outcome(authz, dev, request("cancel", kBuildRequest, {"lib"})), need_admins);

    // scheduler, workers, shutdown.
    EXPECT_EQ(outcome(authz, admin, request("enable", kScheduler)), "allowed");
    EXPECT_EQ(outcome(authz, dev, request("enable", kScheduler)), need_admins);
    for (const auto& action : {"stop", "pause", "unpause", "kill"}) {
        EXPECT_EQ(outcome(authz, admin, request(action, kWorker)), "you need to have role 'ops'")
            << action << ": a worker's stop is not a build's stop";
        EXPECT_EQ(outcome(authz, user_named("oz", "", {"kiln-ops"}), request(action, kWorker)),
                  "allowed");
    }
    EXPECT_EQ(outcome(authz, admin, request("shutdown", {"masters", "1"})), "allowed");
    EXPECT_EQ(outcome(authz, dev, request("shutdown", {"masters", "1"})), need_admins);

    // Reads are not control: no rule matches a GET, so it is allowed. HEAD counts as control,
    // as in Buildbot.
    EXPECT_EQ(outcome(authz, anonymous, request("GET", kBuild, {"release-1"})), "allowed");
    EXPECT_EQ(outcome(authz, anonymous, request("HEAD", kBuild)), need_admins);
    EXPECT_EQ(outcome(authz, anonymous, request("explode", kBuild)), need_admins);
}

TEST(Authorizer, a_rule_without_default_deny_falls_through_to_the_next) {
    config::AuthzConfig config;
    config.roles.push_back(from_groups(""));
    config.rules = {rule("force", "releasers", "release-*", /*default_deny=*/false),
                    rule("force", "admins", "release-*", /*default_deny=*/false),
                    rule("any", "users")};
    const Authorizer authz{config};
    const auto force_release = request("force", kForce, {"release-1"});
    EXPECT_EQ(outcome(authz, user_named("r", "", {"releasers"}), force_release), "allowed");
    EXPECT_EQ(outcome(authz, user_named("a", "", {"admins"}), force_release), "allowed")
        << "the first rule does not deny, the second allows";
    EXPECT_EQ(outcome(authz, user_named("u", "", {"users"}), force_release), "allowed")
        << "neither force rule denies; 'any' allows users";
    EXPECT_EQ(outcome(authz, user_named("n", "", {"nobody"}), force_release),
              "you need to have role 'users'");
    EXPECT_EQ(outcome(authz, User{}, request("GET", {"builders"})), "you need to have role 'users'")
        << "any matches reads too";

    config.rules.back().default_deny = false;
    EXPECT_EQ(outcome(Authorizer{config}, User{}, request("GET", {"builders"})), "allowed")
        << "when no rule denies, the request is allowed";
}

TEST(Authorizer, from_owner_lets_the_owner_of_a_build_act_on_it) {
    config::AuthzConfig config;
    config.roles = {from_groups("kiln-"), from_owner("owner")};
    config.rules = {rule("stop", "owner", std::nullopt, /*default_deny=*/false),
                    rule("rebuild", "owner", std::nullopt, false), rule("any_control", "admins")};
    const Authorizer authz{config};
    const auto alice = user_named("alice", "alice@x", {});
    const auto no_email = user_named("bob", "", {});
    EXPECT_EQ(outcome(authz, alice, request("stop", kBuild, {"app"}, "alice@x")), "allowed");
    EXPECT_EQ(outcome(authz, alice, request("rebuild", kBuild, {"app"}, "alice@x")), "allowed");
    EXPECT_EQ(outcome(authz, alice, request("stop", kBuild, {"app"}, "someone@x")),
              "you need to have role 'admins'");
    EXPECT_EQ(outcome(authz, alice, request("stop", kBuild, {"app"})),
              "you need to have role 'admins'");
    EXPECT_EQ(outcome(authz, no_email, request("stop", kBuild, {"app"}, "bob")), "allowed")
        << "a user without email owns what Kiln records for them: the user name";
    User anonymous;
    EXPECT_EQ(outcome(authz, anonymous, request("stop", kBuild, {"app"}, "anonymous")),
              "you need to have role 'admins'")
        << "anonymous owns nothing";
    EXPECT_EQ(outcome(authz, alice, request("force", kForce, {"app"}, "alice@x")),
              "you need to have role 'admins'")
        << "owner roles count only for rules about a build or build request (as Buildbot)";
    EXPECT_EQ(outcome(authz, user_named("ada", "ada@x", {"kiln-admins"}),
                      request("stop", kBuild, {"app"}, "alice@x")),
              "allowed");
}

TEST(Authorizer, roles_set_by_the_caller_count_too) {
    config::AuthzConfig config;
    config.rules = {rule("any_control", "admins")};
    const Authorizer authz{config};
    auto user = user_named("alice", "", {});
    EXPECT_FALSE(authz.check(user, request("stop", kBuild)));
    user.roles = {"admins"};
    EXPECT_TRUE(authz.check(user, request("stop", kBuild)));
}

TEST(Authorizer, view_rules_hide_matching_builders_from_users_without_the_role) {
    config::AuthzConfig config;
    config.roles.push_back(from_groups("kiln-"));
    config.view = {{"secret-*", {"admins", "audit*"}, {}},
                   {"secret-*", {"devs"}, {}},
                   {"internal", {"*"}, {}}};
    const Authorizer authz{config};
    const auto admin = user_named("ada", "", {"kiln-admins"});
    const auto auditor = user_named("al", "", {"kiln-auditors"});
    const auto dev = user_named("dan", "", {"kiln-devs"});
    const User anonymous;
    EXPECT_TRUE(authz.may_view_builder(admin, "secret-keys"));
    EXPECT_TRUE(authz.may_view_builder(auditor, "secret-keys"));
    EXPECT_FALSE(authz.may_view_builder(dev, "secret-keys")) << "the first matching entry decides";
    EXPECT_FALSE(authz.may_view_builder(anonymous, "secret-keys"));
    EXPECT_TRUE(authz.may_view_builder(anonymous, "app")) << "no entry: visible";
    EXPECT_TRUE(authz.may_view_builder(dev, "internal")) << "any role at all";
    EXPECT_FALSE(authz.may_view_builder(anonymous, "internal")) << "anonymous has no role";
    EXPECT_FALSE(authz.is_open());
}

TEST(Glob, matches_as_pythons_fnmatchcase) {
    EXPECT_TRUE(glob_match("release-*", "release-1.2"));
    EXPECT_TRUE(glob_match("*", ""));
    EXPECT_TRUE(glob_match("*", "a/b"));
    EXPECT_TRUE(glob_match("a?c", "abc"));
    EXPECT_TRUE(glob_match("[ab]x", "bx"));
    EXPECT_TRUE(glob_match("[!ab]x", "cx"));
    EXPECT_TRUE(glob_match("*", ".hidden"));
    EXPECT_TRUE(glob_match("a\\b", "a\\b")) << "no escapes";
    EXPECT_FALSE(glob_match("release-*", "Release-1"));
    EXPECT_FALSE(glob_match("app", "app2"));
    EXPECT_FALSE(glob_match("[!ab]x", "ax"));
}

}  // namespace
}  // namespace kiln::www
