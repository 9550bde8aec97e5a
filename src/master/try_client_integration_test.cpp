// SPDX-License-Identifier: Apache-2.0
// git_try_patch() on real git repositories: the base revision is the merge-base with the
// upstream, the branch its name there, and the diff holds committed, edited and new files
// while the user's index stays as it was.
#include "master/try_client.hpp"

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <unistd.h>

namespace kiln::master {
namespace {

namespace fs = std::filesystem;

class Repos {
public:
    Repos() {
        static std::atomic<int> counter{0};
        root_ = fs::temp_directory_path() / ("kiln-try-client-test-" + std::to_string(::getpid()) +
                                             "-" + std::to_string(counter++));
        fs::remove_all(root_);
        fs::create_directories(root_ / "seed");
        write("seed/hello.txt", "hello\n");
        git("seed", "init -q -b main");
        git("seed", "add hello.txt");
        git("seed", "commit -q -m seed");
        sh("git clone -q --bare seed upstream.git");
        sh("git clone -q upstream.git clone");
        base_ = output("clone", "rev-parse HEAD");
    }
    ~Repos() { fs::remove_all(root_); }
    Repos(const Repos&) = delete;
    Repos& operator=(const Repos&) = delete;

    // Test setup only: fixed arguments, paths under our own temporary directory. stdout goes
    // to `out` (default: nowhere).
    void sh(const std::string& command, const std::string& out = "/dev/null") const {
        const std::string line = "cd '" + root_.string() +
                                 "' && GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@x GIT_COMMITTER_NAME=t "
                                 "GIT_COMMITTER_EMAIL=t@x " +
                                 command + " > '" + out + "'";
        ASSERT_EQ(std::system(line.c_str()), 0) << line;
    }
    void git(const std::string& dir, const std::string& args) const {
        sh("git -C " + dir + " " + args);
    }
    std::string output(const std::string& dir, const std::string& args) const {
        const auto file = root_ / "out.txt";
        sh("git -C " + dir + " " + args, file.string());
        std::ifstream in(file);
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        while (!text.empty() && text.back() == '\n')
            text.pop_back();
        return text;
    }
    void write(const std::string& relative, const std::string& text) const {
        std::ofstream(root_ / relative, std::ios::binary) << text;
    }
    std::string path(const std::string& relative) const { return (root_ / relative).string(); }
    const std::string& base() const { return base_; }

private:
    fs::path root_;
    std::string base_;
};

TEST(GitTryPatch, diffs_edits_and_new_files_against_the_upstream_and_leaves_the_index_alone) {
    Repos repos;
    repos.write("clone/hello.txt", "hello, try\n");
    repos.write("clone/new.txt", "brand new\n");
    TryOptions options;
    options.dir = repos.path("clone");
    auto patch = git_try_patch(options);
    ASSERT_TRUE(patch) << patch.error().message;
    EXPECT_EQ(patch->baserev, repos.base());
    EXPECT_EQ(patch->branch, std::optional<std::string>("main"));
    EXPECT_NE(patch->diff.find("+hello, try"), std::string::npos) << patch->diff;
    EXPECT_NE(patch->diff.find("+++ b/new.txt"), std::string::npos) << patch->diff;
    EXPECT_NE(patch->diff.find("+brand new"), std::string::npos) << patch->diff;
    // The user's index is untouched: new.txt is still untracked.
    EXPECT_EQ(repos.output("clone", "status --porcelain"), " M hello.txt\n?? new.txt");

    options.untracked = false;
    auto tracked_only = git_try_patch(options);
    ASSERT_TRUE(tracked_only) << tracked_only.error().message;
    EXPECT_EQ(tracked_only->diff.find("new.txt"), std::string::npos);
    EXPECT_NE(tracked_only->diff.find("+hello, try"), std::string::npos);
}

TEST(GitTryPatch, a_local_commit_is_part_of_the_diff_and_the_base_stays_the_merge_base) {
    Repos repos;
    repos.write("clone/committed.txt", "committed locally\n");
    repos.git("clone", "add committed.txt");
    repos.git("clone", "commit -q -m local");
    // Upstream moves on: the base is still where the clone forked.
    repos.write("seed/hello.txt", "upstream moved\n");
    repos.git("seed", "commit -q -a -m moved");
    repos.git("seed", "push -q ../upstream.git main");
    repos.git("clone", "fetch -q");
    TryOptions options;
    options.dir = repos.path("clone");
    auto patch = git_try_patch(options);
    ASSERT_TRUE(patch) << patch.error().message;
    EXPECT_EQ(patch->baserev, repos.base());
    EXPECT_NE(patch->diff.find("+committed locally"), std::string::npos);
    EXPECT_EQ(patch->diff.find("upstream moved"), std::string::npos);
}

TEST(GitTryPatch, baserev_and_branch_options_win_and_bad_ones_are_refused) {
    Repos repos;
    TryOptions options;
    options.dir = repos.path("clone");
    options.baserev = "HEAD";
    options.branch = "release";
    auto patch = git_try_patch(options);
    ASSERT_TRUE(patch) << patch.error().message;
    EXPECT_EQ(patch->baserev, repos.base());
    EXPECT_EQ(patch->branch, std::optional<std::string>("release"));
    EXPECT_TRUE(patch->diff.empty());
    options.baserev = "--output=/tmp/x";
    EXPECT_FALSE(git_try_patch(options));
    options.baserev = "no-such-revision";
    EXPECT_FALSE(git_try_patch(options));
    options.dir = repos.path("upstream.git/..");  // not a working copy
    options.baserev.reset();
    EXPECT_FALSE(git_try_patch(options));
}

TEST(GitTryPatch, a_branch_without_upstream_needs_baserev) {
    Repos repos;
    repos.git("clone", "checkout -q -b topic");
    TryOptions options;
    options.dir = repos.path("clone");
    auto patch = git_try_patch(options);
    ASSERT_FALSE(patch);
    EXPECT_NE(patch.error().message.find("--baserev"), std::string::npos);
}

}  // namespace
}  // namespace kiln::master
