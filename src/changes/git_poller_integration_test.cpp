// SPDX-License-Identifier: Apache-2.0
// GitPoller against real git repositories in a temporary directory and a real SQLite file:
// the first poll only remembers heads, each new commit becomes exactly one change with its
// revision, author, committer, files, message and time, and a restarted poller (a new object on
// the same database) reports nothing twice.
#include "changes/change_sources.hpp"
#include "changes/git.hpp"
#include "changes/git_poller.hpp"
#include "data/object_state.hpp"
#include "data/queries.hpp"

#include <atomic>
#include <fstream>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_future.hpp>

#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace kiln::changes {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;

class TempDir {
public:
    TempDir() {
        static std::atomic<int> counter{0};
        path_ = fs::temp_directory_path() / ("kiln-gitpoller-test-" + std::to_string(::getpid()) +
                                             "-" + std::to_string(counter++));
        fs::remove_all(path_);
        fs::create_directories(path_);
    }
    ~TempDir() { fs::remove_all(path_); }
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

// Runs git in `dir` (no shell), with the author and committer given; fails the test on error.
void git(const fs::path& dir, std::vector<std::string> args, std::string author = "Alice",
         std::string email = "alice@example.com", std::string date = "1700000000 +0000") {
    std::vector<std::string> environment;
    for (char** entry = environ; *entry; ++entry)
        if (!std::string_view(*entry).starts_with("GIT_")) environment.emplace_back(*entry);
    environment.push_back("GIT_AUTHOR_NAME=" + author);
    environment.push_back("GIT_AUTHOR_EMAIL=" + email);
    environment.push_back("GIT_AUTHOR_DATE=" + date);
    environment.push_back("GIT_COMMITTER_NAME=Committer Bot");
    environment.push_back("GIT_COMMITTER_EMAIL=bot@example.com");
    environment.push_back("GIT_COMMITTER_DATE=" + date);
    environment.push_back("GIT_CONFIG_NOSYSTEM=1");
    environment.push_back("HOME=" + dir.string());
    args.insert(args.begin(), {"git", "-C", dir.string()});
    std::vector<char*> argv, envp;
    for (auto& arg : args)
        argv.push_back(arg.data());
    argv.push_back(nullptr);
    for (auto& entry : environment)
        envp.push_back(entry.data());
    envp.push_back(nullptr);
    pid_t pid = 0;
    ASSERT_EQ(::posix_spawnp(&pid, "git", nullptr, nullptr, argv.data(), envp.data()), 0);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "git " << args[3] << " failed";
}

void write(const fs::path& file, const std::string& text) {
    fs::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << text;
}

class GitPollerTest : public ::testing::Test {
protected:
    GitPollerTest() {
        origin = dir.path() / "origin";
        fs::create_directories(origin);
        git(origin, {"init", "--quiet", "-b", "main"});
        write(origin / "README", "hello\n");
        git(origin, {"add", "README"});
        git(origin, {"commit", "--quiet", "-m", "Initial commit"});
        open_database();
    }

    void open_database() {
        context.reset();
        if (database) database->close();
        database.reset();
        auto opened = db::open_database("sqlite:state.sqlite", dir.path());
        if (!opened) throw std::runtime_error(opened.error().message);
        database = std::move(*opened);
        if (db::schema_version(*database) == 0) db::upgrade_schema(*database);
        context = std::make_unique<data::Context>(data::Context{*database, bus});
    }

    ~GitPollerTest() override {
        context.reset();
        if (database) database->close();
    }

    config::GitPollerConfig poller_config() const {
        config::GitPollerConfig config;
        config.name = "origin";
        config.repourl = origin.string();
        config.branches = {"main"};
        config.project = "proj";
        config.category = "pushed";
        return config;
    }

    // Runs the event loop until the task is done (pollers may keep timers pending).
    template <typename T>
    T run(asio::awaitable<T> task) {
        auto future = asio::co_spawn(io, std::move(task), asio::use_future);
        io.restart();
        while (future.wait_for(std::chrono::seconds(0)) != std::future_status::ready)
            io.run_one();
        return future.get();
    }

    std::string head(const std::string& ref = "main") {
        std::ifstream file(origin / ".git" / "refs" / "heads" / ref);
        std::string sha;
        file >> sha;
        return sha;
    }

    std::vector<data::Change> all_changes() {
        data::Queries queries(*context);
        data::Query oldest_first;
        oldest_first.order.push_back({"changeid", false});
        return run(queries.changes(oldest_first)).items;
    }

    TempDir dir;
    fs::path origin;
    asio::io_context io;
    bus::Bus bus;
    std::unique_ptr<db::Database> database;
    std::unique_ptr<data::Context> context;
};

TEST_F(GitPollerTest, the_first_poll_remembers_the_heads_and_reports_nothing) {
    GitPoller poller(*context, poller_config(), dir.path());
    EXPECT_TRUE(run(poller.poll()).empty());
    EXPECT_TRUE(all_changes().empty());
    EXPECT_TRUE(fs::exists(dir.path() / "gitpoller-work" / "objects")) << "a bare work repo";
    data::ObjectState state(*context);
    const auto objectid = run(state.object_id("origin", "GitPoller"));
    auto stored = run(state.get(objectid, "lastRev"));
    ASSERT_TRUE(stored);
    EXPECT_EQ(stored->at("refs/heads/main"), boost::json::value(head()));
}

TEST_F(GitPollerTest, each_new_commit_becomes_one_change_with_its_details) {
    GitPoller poller(*context, poller_config(), dir.path());
    run(poller.poll());
    write(origin / "src" / "a.c", "int a;\n");
    write(origin / "README", "hello again\n");
    git(origin, {"add", "-A"});
    git(origin, {"commit", "--quiet", "-m", "Add a.c\n\nAnd say hello again."}, "Bob",
        "bob@example.com", "1700000100 +0200");
    const auto first = head();
    git(origin, {"rm", "--quiet", "README"});
    git(origin, {"commit", "--quiet", "-m", "Remove the README"}, "Carol", "carol@example.com",
        "1700000200 +0000");
    const auto second = head();

    auto added = run(poller.poll());
    ASSERT_EQ(added.size(), 2u) << "exactly one change per new commit";
    const auto& a = added[0];
    EXPECT_EQ(a.revision, first) << "oldest first";
    EXPECT_EQ(a.author, "Bob <bob@example.com>");
    EXPECT_EQ(a.committer, "Committer Bot <bot@example.com>");
    EXPECT_EQ(a.files, (std::vector<std::string>{"README", "src/a.c"}));
    EXPECT_EQ(a.comments, "Add a.c\n\nAnd say hello again.");
    EXPECT_EQ(a.when_timestamp, 1700000100);
    EXPECT_EQ(a.branch, "main");
    EXPECT_EQ(a.repository, origin.string());
    EXPECT_EQ(a.project, "proj");
    EXPECT_EQ(a.category, "pushed");
    const auto& b = added[1];
    EXPECT_EQ(b.revision, second);
    EXPECT_EQ(b.author, "Carol <carol@example.com>");
    EXPECT_EQ(b.files, std::vector<std::string>{"README"});
    EXPECT_EQ(b.parent_changeid, a.changeid);
    EXPECT_TRUE(run(poller.poll()).empty()) << "nothing new";
    EXPECT_EQ(all_changes().size(), 2u);
}

TEST_F(GitPollerTest, a_restarted_poller_reports_nothing_twice) {
    {
        GitPoller poller(*context, poller_config(), dir.path());
        run(poller.poll());
        write(origin / "one", "1\n");
        git(origin, {"add", "one"});
        git(origin, {"commit", "--quiet", "-m", "one"});
        EXPECT_EQ(run(poller.poll()).size(), 1u);
    }
    open_database();  // as after a restart: the same database file, a new poller
    GitPoller restarted(*context, poller_config(), dir.path());
    EXPECT_TRUE(run(restarted.poll()).empty());
    write(origin / "two", "2\n");
    git(origin, {"add", "two"});
    git(origin, {"commit", "--quiet", "-m", "two"});
    auto added = run(restarted.poll());
    ASSERT_EQ(added.size(), 1u);
    EXPECT_EQ(added[0].revision, head());
    EXPECT_EQ(all_changes().size(), 2u);
}

TEST_F(GitPollerTest, with_every_branch_a_new_branch_reports_only_its_own_commits) {
    auto config = poller_config();
    config.all_branches = true;
    GitPoller poller(*context, config, dir.path());
    run(poller.poll());
    git(origin, {"checkout", "--quiet", "-b", "feature"});
    write(origin / "feature.c", "f\n");
    git(origin, {"add", "feature.c"});
    git(origin, {"commit", "--quiet", "-m", "feature work"});
    git(origin, {"checkout", "--quiet", "main"});
    git(origin, {"merge", "--quiet", "--ff-only", "feature"});
    auto added = run(poller.poll());
    ASSERT_EQ(added.size(), 1u) << "the commit is on two branches but is one change";
    EXPECT_EQ(added[0].revision, head("feature"));
    EXPECT_EQ(added[0].branch, "feature") << "the first branch (by name) to reach it";
}

TEST_F(GitPollerTest, only_tags_follows_tags_as_buildbot_names_them) {
    auto config = poller_config();
    config.only_tags = true;
    git(origin, {"tag", "v1"});
    GitPoller poller(*context, config, dir.path());
    run(poller.poll());
    write(origin / "x", "x\n");
    git(origin, {"add", "x"});
    git(origin, {"commit", "--quiet", "-m", "release 2"});
    git(origin, {"tag", "v2"});
    auto added = run(poller.poll());
    ASSERT_EQ(added.size(), 1u);
    EXPECT_EQ(added[0].branch, "refs/tags/v2");
}

TEST_F(GitPollerTest, a_missing_repository_is_a_git_error_and_stores_nothing) {
    auto config = poller_config();
    config.repourl = (dir.path() / "nowhere").string();
    GitPoller poller(*context, config, dir.path());
    EXPECT_THROW(run(poller.poll()), GitError);
    EXPECT_TRUE(all_changes().empty());
}

TEST_F(GitPollerTest, change_sources_start_and_stop_pollers_that_poll_on_their_own) {
    auto config = poller_config();
    config.pollinterval = 1;
    config.poll_at_launch = true;
    ChangeSources sources(io.get_executor(), *context, dir.path());
    auto changes = sources.configure({config});
    EXPECT_EQ(changes, std::vector<std::string>{"change source added: origin"});
    EXPECT_TRUE(sources.configure({config}).empty()) << "the same config changes nothing";
    auto wait = [this](std::chrono::milliseconds duration) {
        io.restart();
        io.run_for(duration);
    };
    wait(std::chrono::milliseconds(1500));  // the launch poll remembers the head
    write(origin / "y", "y\n");
    git(origin, {"add", "y"});
    git(origin, {"commit", "--quiet", "-m", "y"});
    for (int i = 0; i < 100 && all_changes().empty(); ++i)
        wait(std::chrono::milliseconds(100));
    EXPECT_EQ(all_changes().size(), 1u);
    EXPECT_EQ(sources.configure({}), std::vector<std::string>{"change source removed: origin"});
    run(sources.stop());
    EXPECT_EQ(sources.size(), 0u);
}

}  // namespace
}  // namespace kiln::changes
