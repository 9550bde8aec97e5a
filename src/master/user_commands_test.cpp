// SPDX-License-Identifier: Apache-2.0
// `kiln user add|remove|list|token` on a real master directory: where the file is, what the
// commands write, and how they refuse bad input. Passwords come from a stream, as from a pipe.
#include "config/master_config.hpp"
#include "master/user_commands.hpp"
#include "www/crypto.hpp"
#include "www/users_file.hpp"

#include <atomic>
#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

namespace kiln::master {
namespace {

using ::testing::HasSubstr;

class UserCommands : public ::testing::Test {
protected:
    UserCommands() {
        static std::atomic<int> counter{0};
        dir_ =
            std::filesystem::temp_directory_path() /
            ("kiln-user-cli-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        std::filesystem::remove_all(dir_);
        std::filesystem::create_directories(dir_);
        write_config("auth = k.auth.users_file(\"web-users\")");
        command.dir = dir_;
    }
    ~UserCommands() override { std::filesystem::remove_all(dir_); }

    void write_config(std::string_view www) {
        std::ofstream{dir_ / "master.lua"} << "local k = require \"kiln\"\nreturn { www = { " << www
                                           << " } }\n";
    }
    int add(std::string name, std::string password_input) {
        command.name = std::move(name);
        std::istringstream in{std::move(password_input)};
        return user_add(command, in, false, out, err);
    }
    www::UsersFile users(std::string_view file = "web-users") const {
        auto loaded = www::UsersFile::load(dir_ / file);
        EXPECT_TRUE(loaded) << loaded.error().message;
        return loaded ? std::move(*loaded) : www::UsersFile{};
    }

    std::filesystem::path dir_;
    UserCommand command;
    std::ostringstream out, err;
};

TEST_F(UserCommands, add_hashes_the_password_from_stdin_into_the_configured_file_mode_0600) {
    command.email = "alice@example.org";
    command.full_name = "Alice Example";
    command.groups = {"kiln-admins", "dev"};
    ASSERT_EQ(add("alice", "s3cret\n"), 0) << err.str();
    EXPECT_EQ(out.str(), "added user 'alice' in " + (dir_ / "web-users").string() + "\n");
    EXPECT_EQ(err.str(), "") << "the configured file: no hint";
    struct stat status {};
    ASSERT_EQ(::stat((dir_ / "web-users").c_str(), &status), 0);
    EXPECT_EQ(status.st_mode & 0777, 0600u);
    const auto file = users();
    const auto* alice = file.find("alice");
    ASSERT_NE(alice, nullptr);
    EXPECT_TRUE(www::verify_password(alice->password_hash, "s3cret"));
    EXPECT_EQ(alice->email, "alice@example.org");
    EXPECT_EQ(alice->groups, (std::vector<std::string>{"kiln-admins", "dev"}));
}

TEST_F(UserCommands, add_refuses_an_existing_user_an_empty_password_and_a_bad_name) {
    ASSERT_EQ(add("alice", "s3cret\n"), 0);
    EXPECT_EQ(add("alice", "other\n"), 1);
    EXPECT_THAT(err.str(), HasSubstr("user 'alice' exists (--replace updates it)"));
    EXPECT_EQ(add("bob", "\n"), 1);
    EXPECT_THAT(err.str(), HasSubstr("the password is empty"));
    EXPECT_EQ(add("bob", ""), 1);
    EXPECT_THAT(err.str(), HasSubstr("no password on standard input"));
    EXPECT_EQ(add("b:ob", "pw\n"), 2);
    EXPECT_THAT(err.str(), HasSubstr("a user name holds only"));
    command.full_name = "Bob: the builder";
    EXPECT_EQ(add("bob", "pw\n"), 1);
    EXPECT_THAT(err.str(), HasSubstr("the full name must not contain ':'"));
    EXPECT_EQ(users().users().size(), 1u);
}

TEST_F(UserCommands, replace_keeps_what_is_not_given) {
    command.email = "alice@example.org";
    command.groups = {"dev"};
    ASSERT_EQ(add("alice", "s3cret\n"), 0);
    UserCommand update;
    update.dir = dir_;
    update.name = "alice";
    update.replace = true;
    update.keep_password = true;
    update.full_name = "Alice";
    std::istringstream nothing;
    ASSERT_EQ(user_add(update, nothing, false, out, err), 0) << err.str();
    const auto file = users();
    const auto* alice = file.find("alice");
    ASSERT_NE(alice, nullptr);
    EXPECT_EQ(alice->email, "alice@example.org");
    EXPECT_EQ(alice->full_name, "Alice");
    EXPECT_EQ(alice->groups, std::vector<std::string>{"dev"});
    EXPECT_TRUE(www::verify_password(alice->password_hash, "s3cret"));
}

TEST_F(UserCommands, token_prints_a_token_once_and_stores_only_its_digest) {
    command.no_password = true;
    ASSERT_EQ(add("bot", ""), 0) << err.str();
    ASSERT_EQ(user_token(command, 1700000000, out, err), 0) << err.str();
    const auto printed = out.str().substr(out.str().rfind("kiln_"));
    const auto token = printed.substr(0, printed.find('\n'));
    const auto file = users();
    EXPECT_EQ(file.user_for_token(token), file.find("bot"));
    std::ifstream text{dir_ / "web-users"};
    const std::string content{std::istreambuf_iterator<char>(text), {}};
    EXPECT_EQ(content.find(token), std::string::npos);
    EXPECT_THAT(err.str(), HasSubstr("shown only this once"));

    command.revoke_all = true;
    ASSERT_EQ(user_token(command, 1700000001, out, err), 0);
    EXPECT_EQ(users().user_for_token(token), nullptr);
    command.name = "nobody";
    EXPECT_EQ(user_token(command, 1, out, err), 1);
}

TEST_F(UserCommands, list_and_remove) {
    command.groups = {"kiln-admins"};
    ASSERT_EQ(add("alice", "pw\n"), 0);
    ASSERT_EQ(user_token(command, 1, out, err), 0);
    out.str("");
    ASSERT_EQ(user_list(command, out, err), 0);
    EXPECT_EQ(out.str(), "alice\t-\t-\tgroups: kiln-admins\tpassword\t1 token(s)\n");
    ASSERT_EQ(user_remove(command, out, err), 0);
    EXPECT_TRUE(users().users().empty());
    EXPECT_TRUE(users().tokens().empty());
    EXPECT_EQ(user_remove(command, out, err), 1);
    EXPECT_THAT(err.str(), HasSubstr("no user 'alice'"));
}

TEST_F(UserCommands, without_a_configured_file_it_uses_users_txt_and_says_how_to_enable_it) {
    write_config("port = 8010");
    ASSERT_EQ(add("alice", "pw\n"), 0);
    EXPECT_EQ(users("users.txt").users().size(), 1u);
    EXPECT_THAT(err.str(), HasSubstr("auth = k.auth.users_file(\"users.txt\")"));
}

TEST_F(UserCommands, a_broken_master_lua_needs_file_to_name_the_users_file) {
    write_config("auth = k.auth.users_file(42)");
    EXPECT_EQ(add("alice", "pw\n"), 1);
    EXPECT_THAT(err.str(), HasSubstr("master.lua has errors"));
    command.file = dir_ / "elsewhere.txt";
    EXPECT_EQ(add("alice", "pw\n"), 0) << err.str();
    EXPECT_EQ(users("elsewhere.txt").users().size(), 1u);
}

TEST_F(UserCommands, a_world_writable_users_file_is_not_edited) {
    ASSERT_EQ(add("alice", "pw\n"), 0);
    ::chmod((dir_ / "web-users").c_str(), 0666);
    EXPECT_EQ(add("bob", "pw\n"), 1);
    EXPECT_THAT(err.str(), HasSubstr("anyone may write this file"));
}

}  // namespace
}  // namespace kiln::master
