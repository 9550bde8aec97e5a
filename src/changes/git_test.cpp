// SPDX-License-Identifier: Apache-2.0
// What the git poller reads from git's output: ls-remote listings, commit details, file lists,
// and the names of its tracking refs.
#include "changes/git.hpp"
#include "changes/git_poller.hpp"

#include <gtest/gtest.h>

namespace kiln::changes {
namespace {

TEST(GitOutput, parses_listings_commits_and_quotes_urls) {
    auto refs = parse_ls_remote("aaa\trefs/heads/main\nbbb\trefs/tags/v1\n");
    ASSERT_EQ(refs.size(), 2u);
    EXPECT_EQ(refs[1].sha, "bbb");
    EXPECT_EQ(refs[1].ref, "refs/tags/v1");
    auto commit = parse_commit("1700000000\x1f"
                               "A <a@x>\x1f"
                               "C <c@x>\x1f"
                               "Subject\n\nBody\n\n");
    ASSERT_TRUE(commit);
    EXPECT_EQ(commit->timestamp, 1700000000);
    EXPECT_EQ(commit->comments, "Subject\n\nBody");
    EXPECT_FALSE(parse_commit("garbage"));
    EXPECT_EQ(split_nul(std::string("a\0b c\0", 6)), (std::vector<std::string>{"a", "b c"}));
    EXPECT_EQ(url_quote("https://g/a b.git"), "https%3A%2F%2Fg%2Fa%20b.git");
    EXPECT_EQ(branch_of("refs/heads/main"), "main");
    EXPECT_EQ(branch_of("refs/tags/v1"), "refs/tags/v1");
    EXPECT_EQ(redact_url("https://bot:t0ken@git.example/a.git"),
              "https://bot:***@git.example/a.git");
    EXPECT_EQ(redact_url("https://bot@git.example/a.git"), "https://bot@git.example/a.git");
    EXPECT_EQ(redact_url("/srv/a@b.git"), "/srv/a@b.git");
    EXPECT_EQ(redact_url("ssh://git@host:22/x"), "ssh://git@host:22/x");
}

}  // namespace
}  // namespace kiln::changes
