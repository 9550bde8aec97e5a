// SPDX-License-Identifier: Apache-2.0
// www.change_hook, www.change_hook_auth and k.git_poller: typed parsing, defaults, errors at
// their file:line (never showing a secret), and equality for reconfig.
#include "config/config_test_support.hpp"

#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kiln::config {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

using testing::all_messages;
using testing::MasterDir;

std::string with_www(std::string_view www) {
    return "local k = require \"kiln\"\nreturn {\n  www = " + std::string(www) + ",\n}\n";
}

std::string with_sources(std::string_view sources) {
    return "local k = require \"kiln\"\nreturn {\n  change_sources = {\n    " +
           std::string(sources) + "\n  },\n}\n";
}

TEST(ChangeHookConfig, no_change_hook_enables_nothing) {
    MasterDir dir;
    auto result = dir.load(with_www("{ port = 8010 }"));
    ASSERT_TRUE(result.config) << all_messages(result);
    EXPECT_FALSE(result.config->change_hook.is_enabled());
}

TEST(ChangeHookConfig, reads_every_dialect_with_secrets_and_auth) {
    MasterDir dir;
    dir.secret("github-hook", "s3cr3t-gh\n");
    dir.secret("gitlab-hook", "s3cr3t-gl");
    dir.secret("hook-user", "robot:pa55:word\n");
    auto result = dir.load(with_www(R"({
    change_hook = {
      base = true,
      github = { secret = k.secret("github-hook"), strict = true, codebase = "app",
                 skips = { "\\[nobuild\\]" }, pullrequest_ref = "head",
                 github_property_whitelist = { "github.repository.*" } },
      gitlab = { secret = k.secret("gitlab-hook"), codebase = "lab" },
    },
    change_hook_auth = { "alice:wonder", k.secret("hook-user") },
  })"));
    ASSERT_TRUE(result.config) << all_messages(result);
    const auto& hooks = result.config->change_hook;
    EXPECT_TRUE(hooks.base);
    ASSERT_TRUE(hooks.github);
    EXPECT_TRUE(hooks.github->secret.has_value());
    EXPECT_TRUE(hooks.github->strict);
    EXPECT_EQ(hooks.github->codebase, "app");
    EXPECT_EQ(hooks.github->skips, std::vector<std::string>{"\\[nobuild\\]"});
    EXPECT_EQ(hooks.github->pullrequest_ref, "head");
    EXPECT_EQ(hooks.github->github_property_whitelist,
              std::vector<std::string>{"github.repository.*"});
    ASSERT_TRUE(hooks.gitlab);
    EXPECT_EQ(hooks.gitlab->secret, "s3cr3t-gl");
    EXPECT_EQ(hooks.gitlab->codebase, "lab");
    using Pair = std::pair<std::string, std::string>;
    EXPECT_EQ(hooks.auth, (std::vector<Pair>{{"alice", "wonder"}, {"robot", "pa55:word"}}));
    EXPECT_FALSE(result.config->www.options.contains("change_hook"));
    EXPECT_FALSE(result.config->www.options.contains("change_hook_auth"));
}

TEST(ChangeHookConfig, a_dialect_may_be_true_and_defaults_are_buildbots) {
    MasterDir dir;
    auto result = dir.load(with_www("{ change_hook = { github = true, gitlab = {} } }"));
    ASSERT_TRUE(result.config) << all_messages(result);
    const auto& hooks = result.config->change_hook;
    EXPECT_FALSE(hooks.base);
    ASSERT_TRUE(hooks.github);
    EXPECT_FALSE(hooks.github->secret);
    EXPECT_FALSE(hooks.github->strict);
    EXPECT_EQ(hooks.github->skips.size(), 2u);
    EXPECT_EQ(hooks.github->pullrequest_ref, "merge");
    EXPECT_TRUE(hooks.gitlab);
}

TEST(ChangeHookConfig, reports_mistakes_at_their_line_without_showing_secrets) {
    MasterDir dir;
    auto result = dir.load(with_www(R"({ port = 8010,
    change_hook = { base = 1, github = { strict = true, secrets = "x" }, bitbucket = true,
                    gitlab = { codebase = 3 } },
    change_hook_auth = { "nocolonpassword-XYZ" },
  })"));
    ASSERT_FALSE(result.config);
    const auto text = all_messages(result);
    EXPECT_THAT(text, HasSubstr("master.lua:4: 'base' in 'www.change_hook' must be true or a "
                                "table of options, got number"));
    EXPECT_THAT(text, HasSubstr("unknown key 'bitbucket' in 'www.change_hook'"));
    EXPECT_THAT(text, HasSubstr("unknown key 'secrets' in 'www.change_hook.github' (did you "
                                "mean 'secret'?)"));
    EXPECT_THAT(text, HasSubstr("'strict' in 'www.change_hook.github' needs a secret"));
    EXPECT_THAT(text, HasSubstr("'codebase' in 'www.change_hook.gitlab' must be a string"));
    EXPECT_THAT(text, HasSubstr("master.lua:6: element 1 of 'www.change_hook_auth' must be "
                                "\"user:password\""));
    EXPECT_THAT(text, Not(HasSubstr("XYZ"))) << "a password is never shown";
}

TEST(GitPollerConfig, reads_buildbots_options_with_their_defaults) {
    MasterDir dir;
    auto result = dir.load(with_sources(R"(k.git_poller{ repourl = "https://g/a.git" },
    k.git_poller{ name = "b", repourl = "/srv/b.git", branches = "all", pollinterval = 30,
                  workdir = "pw", project = "p", category = "c", poll_at_launch = true },
    k.git_poller{ name = "c", repourl = "/srv/c.git", branches = function(ref) return true end },
    k.git_poller{ name = "d", repourl = "/srv/d.git", branch = "main" },
    k.git_poller{ name = "e", repourl = "/srv/e.git", only_tags = true },)"));
    ASSERT_TRUE(result.config) << all_messages(result);
    const auto& pollers = result.config->git_pollers;
    ASSERT_EQ(pollers.size(), 5u);
    EXPECT_EQ(pollers[0].name, "https://g/a.git");
    EXPECT_EQ(pollers[0].branches, std::vector<std::string>{"master"});
    EXPECT_EQ(pollers[0].pollinterval, 600);
    EXPECT_EQ(pollers[0].workdir, "gitpoller-work");
    EXPECT_FALSE(pollers[0].poll_at_launch);
    EXPECT_TRUE(pollers[1].all_branches);
    EXPECT_EQ(pollers[1].pollinterval, 30);
    EXPECT_EQ(pollers[1].project, "p");
    EXPECT_EQ(pollers[1].category, "c");
    EXPECT_TRUE(pollers[1].poll_at_launch);
    EXPECT_TRUE(pollers[2].branch_filter);
    EXPECT_EQ(pollers[3].branches, std::vector<std::string>{"main"});
    EXPECT_TRUE(pollers[4].only_tags);
    EXPECT_EQ(pollers[3].where, (SourceLocation{"master.lua", 8}));

    auto again = dir.load(with_sources(R"(k.git_poller{ repourl = "https://g/a.git" },
    k.git_poller{ name = "b", repourl = "/srv/b.git", branches = "all", pollinterval = 30,
                  workdir = "pw", project = "p", category = "c", poll_at_launch = true },
    k.git_poller{ name = "c", repourl = "/srv/c.git", branches = function(ref) return true end },
    k.git_poller{ name = "d", repourl = "/srv/d.git", branch = "main" },
    k.git_poller{ name = "e", repourl = "/srv/e.git", only_tags = true },)"));
    ASSERT_TRUE(again.config);
    EXPECT_EQ(again.config->git_pollers, pollers) << "the same config is no change";
}

TEST(GitPollerConfig, reports_bad_options_and_duplicate_names) {
    MasterDir dir;
    auto result = dir.load(with_sources(R"(k.git_poller{ branches = "main" },
    k.git_poller{ repourl = "/a", pollinterval = 0, branch = "x", branches = {"y"} },
    k.git_poller{ repourl = "/a" },
    k.git_poller{ repourl = "/a" },)"));
    ASSERT_FALSE(result.config);
    const auto text = all_messages(result);
    EXPECT_THAT(text, HasSubstr("master.lua:4: k.git_poller: 'repourl' is required"));
    EXPECT_THAT(text, HasSubstr("(a single branch is written {\"main\"})"));
    EXPECT_THAT(text, HasSubstr("master.lua:5: 'pollinterval' in k.git_poller must be between 1"));
    EXPECT_THAT(text, HasSubstr("'branch' in k.git_poller and 'branches' cannot both be given"));
    EXPECT_THAT(text, HasSubstr("master.lua:7: duplicate change source name '/a' (first defined "
                                "at master.lua:6)"));
}

}  // namespace
}  // namespace kiln::config
