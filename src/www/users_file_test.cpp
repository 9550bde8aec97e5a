// SPDX-License-Identifier: Apache-2.0
// The users file: round trip, every kind of bad line with its file:line, limits, file modes,
// atomic saves; argon2id passwords and API tokens.
#include "www/crypto.hpp"
#include "www/users_file.hpp"

#include <atomic>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

namespace kiln::www {
namespace {

using ::testing::HasSubstr;

class TempDir {
public:
    TempDir() {
        static std::atomic<int> counter{0};
        path_ = std::filesystem::temp_directory_path() /
                ("kiln-users-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        std::filesystem::remove_all(path_);
        std::filesystem::create_directories(path_);
    }
    ~TempDir() { std::filesystem::remove_all(path_); }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    std::filesystem::path operator/(std::string_view name) const { return path_ / name; }
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

void write_file(const std::filesystem::path& path, std::string_view text, mode_t mode) {
    std::ofstream{path, std::ios::binary | std::ios::trunc} << text;
    ::chmod(path.c_str(), mode);
}

mode_t mode_of(const std::filesystem::path& path) {
    struct stat status {};
    ::stat(path.c_str(), &status);
    return status.st_mode & 07777;
}

// One hash for the whole suite: hashing costs ~0.1 s even at the interactive limits.
const std::string& secret_hash() {
    static const std::string hash = hash_password("s3cret", PasswordCost::interactive());
    return hash;
}

const std::string kDigest(64, 'a');

TEST(Passwords, an_argon2id_hash_verifies_its_password_only) {
    const auto& hash = secret_hash();
    EXPECT_TRUE(hash.starts_with("$argon2id$v=19$")) << hash;
    EXPECT_TRUE(verify_password(hash, "s3cret"));
    EXPECT_FALSE(verify_password(hash, "s3cret "));
    EXPECT_FALSE(verify_password(hash, ""));
    EXPECT_FALSE(verify_password(std::string(hash).replace(hash.size() - 4, 4, "AAAA"), "s3cret"));
    EXPECT_FALSE(verify_password("!", "s3cret"));
    EXPECT_FALSE(verify_password("$argon2i$v=19$m=4096,t=3,p=1$xx$yy", "s3cret"));
}

TEST(Passwords, two_hashes_of_one_password_differ_by_their_salt) {
    const auto again = hash_password("s3cret", PasswordCost::interactive());
    EXPECT_NE(again, secret_hash());
    EXPECT_TRUE(verify_password(again, "s3cret"));
}

TEST(Crypto, base64url_round_trips_and_rejects_padding_and_foreign_characters) {
    const std::string bytes("\x00\xff\xfe?>~", 6);
    const auto text = base64url_encode(bytes);
    EXPECT_EQ(text.find_first_of("+/="), std::string::npos) << text;
    EXPECT_EQ(base64url_decode(text), bytes);
    EXPECT_EQ(base64url_decode("aGk"), "hi");
    EXPECT_EQ(base64url_decode("aGk="), std::nullopt);
    EXPECT_EQ(base64url_decode("a+k"), std::nullopt);
}

TEST(Crypto, hmac_sha256_matches_rfc_4231_test_case_2) {
    EXPECT_EQ(to_hex(hmac_sha256("Jefe", "what do ya want for nothing?")),
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Crypto, constant_time_equal_compares_whole_strings) {
    EXPECT_TRUE(constant_time_equal("abc", "abc"));
    EXPECT_TRUE(constant_time_equal("", ""));
    EXPECT_FALSE(constant_time_equal("abc", "abd"));
    EXPECT_FALSE(constant_time_equal("abc", "abcd"));
}

TEST(UsersFile, round_trips_users_groups_and_tokens_through_text) {
    UsersFile file;
    ASSERT_TRUE(file.add(
        {"alice", secret_hash(), "alice@example.org", "Alice Example", {"kiln-admins", "dev"}}));
    ASSERT_TRUE(file.add({"bot", std::string(kNoPassword), "", "", {}}));
    auto token = file.add_token("bot", 1700000000);
    ASSERT_TRUE(token);

    auto parsed = UsersFile::parse(file.to_text(), "users.txt");
    ASSERT_TRUE(parsed) << parsed.error().message;
    ASSERT_EQ(parsed->users().size(), 2u);
    const auto* alice = parsed->find("alice");
    ASSERT_NE(alice, nullptr);
    EXPECT_EQ(alice->password_hash, secret_hash());
    EXPECT_EQ(alice->email, "alice@example.org");
    EXPECT_EQ(alice->full_name, "Alice Example");
    EXPECT_EQ(alice->groups, (std::vector<std::string>{"kiln-admins", "dev"}));
    EXPECT_TRUE(parsed->find("bot")->groups.empty());
    ASSERT_EQ(parsed->tokens().size(), 1u);
    EXPECT_EQ(parsed->tokens()[0].created, 1700000000);
    EXPECT_EQ(parsed->to_text(), file.to_text());
    // The token itself is not in the text, only its digest.
    EXPECT_EQ(file.to_text().find(token->substr(kTokenPrefix.size())), std::string::npos);
    EXPECT_NE(file.to_text().find(token_digest(*token)), std::string::npos);
}

TEST(UsersFile, skips_comments_blank_lines_and_carriage_returns) {
    const std::string text = "# users\r\n\nuser:alice:" + secret_hash() + ":a@x:A:g1\r\n# end\n";
    auto parsed = UsersFile::parse(text, "users.txt");
    ASSERT_TRUE(parsed) << parsed.error().message;
    EXPECT_EQ(parsed->find("alice")->groups, std::vector<std::string>{"g1"});
}

TEST(UsersFile, reports_every_bad_line_with_its_file_and_line) {
    const std::string good = "user:alice:" + secret_hash() + ":a@x:Alice:";
    const std::string text = good + "\n" +                                 // 1
                             "user:bob:" + secret_hash() + ":b@x:Bob\n" +  // 2: 5 fields
                             "user:b ob:!:::\n" +                          // 3: bad name
                             "user:carol:md5hash:::\n" +                   // 4: not argon2id
                             good + "\n" +                                 // 5: duplicate
                             "token:alice:xyz:1\n" +                       // 6: bad digest
                             "token:alice:" + kDigest + ":soon\n" +        // 7: bad time
                             "group:admins\n" +                            // 8: unknown kind
                             "user:dave:!:::a,,b\n" +                      // 9: empty group
                             "token:nobody:" + kDigest + ":1\n";           // unknown user
    auto parsed = UsersFile::parse(text, "users.txt");
    ASSERT_FALSE(parsed);
    EXPECT_EQ(parsed.error().kind, core::ErrorKind::bad_input);
    const auto& message = parsed.error().message;
    EXPECT_THAT(message, HasSubstr("users.txt:2: a user line has 6 fields"));
    EXPECT_THAT(message, HasSubstr("users.txt:3: a user name holds only letters"));
    EXPECT_THAT(message, HasSubstr("users.txt:4: the password hash must be an argon2id string"));
    EXPECT_THAT(message, HasSubstr("users.txt:5: user 'alice' is defined twice"));
    EXPECT_THAT(message, HasSubstr("users.txt:6: a token digest is 64 lowercase hex digits"));
    EXPECT_THAT(message, HasSubstr("users.txt:7: a token's CREATED is epoch seconds, got 'soon'"));
    EXPECT_THAT(message, HasSubstr("users.txt:8: a line starts with 'user:' or 'token:'"));
    EXPECT_THAT(message, HasSubstr("users.txt:9: a group name must not be empty"));
    EXPECT_THAT(message, HasSubstr("users.txt: a token belongs to unknown user 'nobody'"));
    EXPECT_EQ(std::count(message.begin(), message.end(), '\n'), 8) << message;
}

TEST(UsersFile, refuses_overlong_lines_and_files) {
    const std::string long_line = "user:alice:!:" + std::string(kMaxLineBytes, 'x') + "::\n";
    auto parsed = UsersFile::parse(long_line, "users.txt");
    ASSERT_FALSE(parsed);
    EXPECT_THAT(parsed.error().message, HasSubstr("users.txt:1: longer than 4096 bytes"));
    auto huge = UsersFile::parse(std::string(kMaxUsersFileBytes + 1, '#'), "users.txt");
    ASSERT_FALSE(huge);
    EXPECT_THAT(huge.error().message, HasSubstr("larger than"));
}

TEST(UsersFile, add_refuses_values_the_format_cannot_hold_and_existing_names) {
    UsersFile file;
    EXPECT_EQ(file.add({"alice", "!", "a@x", "Alice: the first", {}}).error().message,
              "the full name must not contain ':'");
    EXPECT_EQ(file.add({"alice", "!", "a\n@x", "", {}}).error().message,
              "the email must not contain control characters");
    EXPECT_EQ(file.add({"alice", "!", "", "", {"a,b"}}).error().message,
              "a group name must not contain ','");
    EXPECT_FALSE(file.add({"", "!", "", "", {}}));
    EXPECT_FALSE(file.add({"alice", "plain-text", "", "", {}}));
    ASSERT_TRUE(file.add({"alice", "!", "", "", {}}));
    auto again = file.add({"alice", "!", "new@x", "", {}});
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().kind, core::ErrorKind::conflict);
    ASSERT_TRUE(file.add_token("alice", 1));
    ASSERT_TRUE(file.add({"alice", secret_hash(), "new@x", "", {}}, /*replace=*/true));
    EXPECT_EQ(file.find("alice")->email, "new@x");
    EXPECT_EQ(file.tokens().size(), 1u) << "replacing a user keeps its tokens";
}

TEST(UsersFile, a_token_finds_its_user_and_nothing_else_does) {
    UsersFile file;
    ASSERT_TRUE(file.add({"alice", "!", "", "", {}}));
    ASSERT_TRUE(file.add({"bob", "!", "", "", {}}));
    auto alice_token = file.add_token("alice", 1);
    auto bob_token = file.add_token("bob", 2);
    ASSERT_TRUE(alice_token && bob_token);
    EXPECT_TRUE(alice_token->starts_with("kiln_"));
    EXPECT_EQ(alice_token->size(), 5u + 43u);
    EXPECT_NE(*alice_token, *bob_token);
    EXPECT_EQ(file.user_for_token(*alice_token), file.find("alice"));
    EXPECT_EQ(file.user_for_token(*bob_token), file.find("bob"));
    std::string altered = *alice_token;
    altered.back() = altered.back() == 'A' ? 'B' : 'A';
    EXPECT_EQ(file.user_for_token(altered), nullptr);
    EXPECT_EQ(file.user_for_token(""), nullptr);
    EXPECT_EQ(file.user_for_token(token_digest(*alice_token)), nullptr) << "the digest is no token";
    EXPECT_FALSE(file.add_token("carol", 3));

    EXPECT_EQ(file.revoke_tokens("alice"), 1u);
    EXPECT_EQ(file.user_for_token(*alice_token), nullptr);
    EXPECT_EQ(file.user_for_token(*bob_token), file.find("bob"));
    EXPECT_TRUE(file.remove("bob"));
    EXPECT_EQ(file.user_for_token(*bob_token), nullptr);
    EXPECT_TRUE(file.tokens().empty()) << "removing a user removes its tokens";
    EXPECT_FALSE(file.remove("bob"));
}

TEST(UsersFile, save_writes_mode_0600_atomically_and_load_reads_it_back) {
    TempDir dir;
    UsersFile file;
    ASSERT_TRUE(file.add({"alice", secret_hash(), "a@x", "Alice", {"g"}}));
    const auto old_mask = ::umask(0);  // save must not depend on the umask
    auto saved = file.save(dir / "users.txt");
    ::umask(old_mask);
    ASSERT_TRUE(saved) << saved.error().message;
    EXPECT_EQ(mode_of(dir / "users.txt"), 0600u);
    std::vector<std::string> warnings;
    auto loaded = UsersFile::load(dir / "users.txt", &warnings);
    ASSERT_TRUE(loaded) << loaded.error().message;
    EXPECT_TRUE(warnings.empty());
    EXPECT_EQ(loaded->to_text(), file.to_text());
    // Saving again replaces the file; no temporary file is left behind.
    ASSERT_TRUE(file.remove("alice"));
    ASSERT_TRUE(file.save(dir / "users.txt"));
    EXPECT_TRUE(UsersFile::load(dir / "users.txt")->users().empty());
    EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()),
                            std::filesystem::directory_iterator()),
              1);
}

TEST(UsersFile, load_warns_about_a_readable_file_and_refuses_a_world_writable_one) {
    TempDir dir;
    const std::string text = "user:alice:!:::\n";
    write_file(dir / "users.txt", text, 0644);
    std::vector<std::string> warnings;
    auto readable = UsersFile::load(dir / "users.txt", &warnings);
    ASSERT_TRUE(readable);
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_THAT(warnings[0], HasSubstr("chmod 600"));

    write_file(dir / "users.txt", text, 0666);
    auto writable = UsersFile::load(dir / "users.txt");
    ASSERT_FALSE(writable);
    EXPECT_THAT(writable.error().message, HasSubstr("anyone may write this file"));

    auto missing = UsersFile::load(dir / "nothing.txt");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().kind, core::ErrorKind::not_found);
}

TEST(UsersFile, load_names_the_file_and_line_of_a_bad_entry) {
    TempDir dir;
    write_file(dir / "users.txt", "# ok\nuser:alice:nohash:::\n", 0600);
    auto loaded = UsersFile::load(dir / "users.txt");
    ASSERT_FALSE(loaded);
    EXPECT_THAT(loaded.error().message, HasSubstr("users.txt:2: the password hash"));
}

}  // namespace
}  // namespace kiln::www
