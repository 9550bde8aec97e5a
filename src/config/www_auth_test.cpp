// SPDX-License-Identifier: Apache-2.0
// www.auth, www.authz and www.session_lifetime: typed parsing, defaults, errors with their
// file:line, the sample's commented example, and equality for reconfig.
#include "config/config_test_support.hpp"

#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kiln::config {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;

using testing::all_messages;
using testing::MasterDir;
using testing::messages;

// A config whose www table is `www` (written from line 3 on).
std::string config_with_www(std::string_view www) {
    return "local k = require \"kiln\"\nreturn {\n  www = " + std::string(www) + ",\n}\n";
}

constexpr std::string_view kFullExample = R"({ port = 8010,
    auth = k.auth.users_file("users.txt"),
    authz = {
      roles = { k.roles.from_groups{ prefix = "kiln-" },
                k.roles.from_username{ roles = {"admins"}, usernames = {"alice"} },
                k.roles.from_emails{ admins = {"a@x"}, testers = {"t@x", "u@x"} },
                k.roles.from_domain{ staff = {"example.org"} },
                k.roles.from_owner{ role = "owner" } },
      rules = { k.allow.force{ builder = "release-*", role = "admins" },
                k.allow.stop{ builder = "*", role = "owner", default_deny = false },
                k.allow.rebuild{ role = "devs" }, k.allow.cancel{ role = "devs" },
                k.allow.enable_scheduler{ role = "admins" }, k.allow.control_worker{ role = "ops" },
                k.allow.shutdown{ role = "admins" },
                k.allow.any_control{ role = "admins" }, k.allow.any{ role = "users" } },
      view = { { builder = "secret-*", roles = {"admins", "auditors"} } },
    },
    session_lifetime = 3600,
    change_hook = { base = true },
  })";

TEST(WwwAuthConfig, without_auth_everyone_is_anonymous_and_nothing_is_restricted) {
    MasterDir dir;
    auto result = dir.load(config_with_www("{ port = 8010 }"));
    ASSERT_TRUE(result.config) << all_messages(result);
    const auto& auth = result.config->www_auth;
    EXPECT_EQ(auth.method, AuthMethod::none);
    EXPECT_TRUE(auth.authz.roles.empty());
    EXPECT_TRUE(auth.authz.rules.empty());
    EXPECT_TRUE(auth.authz.view.empty());
    EXPECT_EQ(auth.session_lifetime, 7 * 24 * 3600);
}

TEST(WwwAuthConfig, reads_auth_roles_rules_view_and_lifetime_into_typed_structs) {
    MasterDir dir;
    auto result = dir.load(config_with_www(kFullExample));
    ASSERT_TRUE(result.config) << all_messages(result);
    const auto& auth = result.config->www_auth;
    EXPECT_EQ(auth.method, AuthMethod::users_file);
    EXPECT_EQ(auth.users_file, "users.txt");
    EXPECT_EQ(auth.where, (SourceLocation{"master.lua", 4}));
    EXPECT_EQ(auth.session_lifetime, 3600);

    const auto& roles = auth.authz.roles;
    ASSERT_EQ(roles.size(), 5u);
    EXPECT_EQ(roles[0].type, "from_groups");
    EXPECT_EQ(roles[0].prefix, "kiln-");
    EXPECT_EQ(roles[1].type, "from_username");
    EXPECT_EQ(roles[1].roles, std::vector<std::string>{"admins"});
    EXPECT_EQ(roles[1].usernames, std::vector<std::string>{"alice"});
    EXPECT_EQ(roles[2].type, "from_emails");
    EXPECT_EQ(roles[2].members.at("admins"), std::vector<std::string>{"a@x"});
    EXPECT_EQ(roles[2].members.at("testers"), (std::vector<std::string>{"t@x", "u@x"}));
    EXPECT_EQ(roles[3].type, "from_domain");
    EXPECT_EQ(roles[3].members.at("staff"), std::vector<std::string>{"example.org"});
    EXPECT_EQ(roles[4].type, "from_owner");
    EXPECT_EQ(roles[4].roles, std::vector<std::string>{"owner"});
    EXPECT_EQ(roles[4].where, (SourceLocation{"master.lua", 10}));

    const auto& rules = auth.authz.rules;
    ASSERT_EQ(rules.size(), 9u);
    EXPECT_EQ(rules[0].type, "force");
    EXPECT_EQ(rules[0].builder, "release-*");
    EXPECT_EQ(rules[0].role, "admins");
    EXPECT_TRUE(rules[0].default_deny);
    EXPECT_EQ(rules[1].type, "stop");
    EXPECT_FALSE(rules[1].default_deny);
    EXPECT_EQ(rules[2].type, "rebuild");
    EXPECT_EQ(rules[2].builder, std::nullopt);
    std::vector<std::string> types;
    for (const auto& rule : rules)
        types.push_back(rule.type);
    EXPECT_EQ(types,
              (std::vector<std::string>{"force", "stop", "rebuild", "cancel", "enable_scheduler",
                                        "control_worker", "shutdown", "any_control", "any"}));

    ASSERT_EQ(auth.authz.view.size(), 1u);
    EXPECT_EQ(auth.authz.view[0].builder, "secret-*");
    EXPECT_EQ(auth.authz.view[0].roles, (std::vector<std::string>{"admins", "auditors"}));

    // The typed keys stay out of the generic www options; the others remain there.
    const auto& options = result.config->www.options;
    EXPECT_FALSE(options.contains("auth"));
    EXPECT_FALSE(options.contains("authz"));
    EXPECT_FALSE(options.contains("session_lifetime"));
    EXPECT_FALSE(options.contains("change_hook"));
    EXPECT_TRUE(result.config->change_hook.base);
}

TEST(WwwAuthConfig, accepts_the_table_form_of_users_file_and_an_explicit_none) {
    MasterDir dir;
    auto table = dir.load(config_with_www(R"({ auth = k.auth.users_file{ file = "/etc/u" } })"));
    ASSERT_TRUE(table.config) << all_messages(table);
    EXPECT_EQ(table.config->www_auth.users_file, "/etc/u");
    auto none = dir.load(config_with_www("{ auth = k.auth.none() }"));
    ASSERT_TRUE(none.config) << all_messages(none);
    EXPECT_EQ(none.config->www_auth.method, AuthMethod::none);
}

TEST(WwwAuthConfig, reports_every_mistake_at_once_with_its_line) {
    MasterDir dir;
    auto result = dir.load(R"(local k = require "kiln"
return {
  www = {
    session_lifetime = 5,
    authz = {
      roles = { k.roles.from_group{ prefix = "x" },
                k.roles.from_groups{ prefx = "x" },
                k.roles.from_username{ roles = {"a"} } },
      rules = { k.allow.forse{ role = "a" },
                k.allow.force{ builder = "b" },
                k.allow.any{ role = "a", builder = "b" },
                k.allow.stop{ role = "a", default_deny = "no" },
                "any" },
      view = { { builder = "secret-*" }, "x" },
    },
  },
}
)");
    ASSERT_FALSE(result.config);
    const auto found = messages(result);
    EXPECT_THAT(found, Contains("master.lua:3: 'session_lifetime' in 'www' must be between 60 "
                                "and 31622400, got 5"));
    EXPECT_THAT(found, Contains(HasSubstr("master.lua:6: k.roles.from_group{...} is not a role "
                                          "matcher")));
    EXPECT_THAT(found, Contains(HasSubstr("(did you mean k.roles.from_groups?)")));
    EXPECT_THAT(found, Contains("master.lua:7: unknown key 'prefx' in k.roles.from_groups (did "
                                "you mean 'prefix'?)"));
    EXPECT_THAT(found, Contains("master.lua:8: k.roles.from_username: 'usernames' is required"));
    EXPECT_THAT(found, Contains(HasSubstr("master.lua:9: k.allow.forse{...} is not an "
                                          "authorization rule")));
    EXPECT_THAT(found, Contains(HasSubstr("(did you mean k.allow.force?)")));
    EXPECT_THAT(found, Contains("master.lua:10: k.allow.force: 'role' is required"));
    EXPECT_THAT(found, Contains(HasSubstr("master.lua:11: unknown key 'builder' in k.allow.any")));
    EXPECT_THAT(found, Contains(HasSubstr("master.lua:12: 'default_deny' in k.allow.stop must be "
                                          "a boolean")));
    EXPECT_THAT(found, Contains(HasSubstr("'rules' in 'www.authz' must hold k.allow.*{...} "
                                          "values, element 5 is a string")));
    EXPECT_THAT(found, Contains(HasSubstr("element 1 of 'www.authz.view': 'roles' is required")));
    EXPECT_THAT(found, Contains(HasSubstr("element 2 of 'www.authz.view' must be a table")));
    EXPECT_EQ(found.size(), 11u) << all_messages(result);
}

TEST(WwwAuthConfig, reports_an_auth_that_is_not_an_auth_constructor) {
    MasterDir dir;
    auto result = dir.load(config_with_www(R"({ auth = "users.txt" })"));
    EXPECT_THAT(messages(result),
                ::testing::ElementsAre("master.lua:3: 'auth' in 'www' must be k.auth.none() or "
                                       "k.auth.users_file(\"users.txt\"), got string"));
    auto wrong_kind = dir.load(config_with_www(R"({ auth = k.auth.htpasswd("x") })"));
    EXPECT_THAT(messages(wrong_kind), ::testing::ElementsAre(HasSubstr("must be k.auth.none()")));
    auto no_path = dir.load(config_with_www(R"({ auth = k.auth.users_file() })"));
    EXPECT_THAT(messages(no_path),
                ::testing::ElementsAre(HasSubstr("master.lua:3: k.auth.users_file takes the "
                                                 "users file's path")));
}

// Uncomments the sample's www auth example, so the documented syntax is known to load.
TEST(WwwAuthConfig, the_sample_configs_commented_example_loads_when_uncommented) {
    std::istringstream sample{std::string(sample_master_config())};
    std::string line, text;
    bool inside = false;
    while (std::getline(sample, line)) {
        if (line.find("-- auth = k.auth") != std::string::npos) inside = true;
        if (inside) {
            const auto marker = line.find("-- ");
            if (marker != std::string::npos) line.erase(marker, 3);
        }
        if (line.find("session_lifetime") != std::string::npos) inside = false;
        text += line + "\n";
    }
    MasterDir dir;
    std::ofstream{dir.path() / "secrets" / "local-worker"} << "pw\n";
    auto result = dir.load(text);
    ASSERT_TRUE(result.config) << all_messages(result) << text;
    const auto& auth = result.config->www_auth;
    EXPECT_EQ(auth.method, AuthMethod::users_file);
    EXPECT_EQ(auth.authz.roles.size(), 2u);
    EXPECT_EQ(auth.authz.rules.size(), 3u);
    EXPECT_EQ(auth.authz.view.size(), 1u);
}

TEST(WwwAuthConfig, equality_for_reconfig_ignores_locations_and_sees_a_changed_role) {
    MasterDir dir;
    auto first = dir.load(config_with_www(kFullExample));
    auto moved = dir.load("\n\n" + config_with_www(kFullExample));
    std::string changed_text(kFullExample);
    changed_text.replace(changed_text.find("role = \"devs\""), 13, "role = \"ops\"");
    auto changed = dir.load(config_with_www(changed_text));
    ASSERT_TRUE(first.config && moved.config && changed.config) << all_messages(changed);
    EXPECT_TRUE(first.config->www_auth == moved.config->www_auth);
    EXPECT_FALSE(first.config->www_auth == changed.config->www_auth);
}

}  // namespace
}  // namespace kiln::config
