// SPDX-License-Identifier: Apache-2.0
// UsersFile: the web users of a master (www.auth = k.auth.users_file("users.txt")), kept in a
// text file in the master directory that `kiln user` edits. Format (docs/users-file.md):
//
//   # comment lines start with '#'; blank lines are ignored
//   user:NAME:PASSWORD_HASH:EMAIL:FULL_NAME:GROUPS
//   token:NAME:TOKEN_DIGEST:CREATED
//
// - Fields are separated by ':', which no field may contain; no field holds control characters.
// - NAME: 1 to 64 characters out of letters, digits and . _ @ + -
// - PASSWORD_HASH: an argon2id string from libsodium's crypto_pwhash_str
//   ("$argon2id$v=19$m=65536,t=2,p=1$..."), or "!" for a user who logs in with tokens only.
// - EMAIL and FULL_NAME may be empty. GROUPS: group names separated by ',' (may be empty).
// - token lines: an API token of user NAME. TOKEN_DIGEST is the hex BLAKE2b-256 digest of the
//   token's text (the token itself is shown once, when made, and never stored); CREATED is
//   when it was made, in epoch seconds.
//
// The file holds at most kMaxUsersFileBytes, each line at most kMaxLineBytes. It should be
// readable by the master's user only (`kiln user` writes it with mode 0600): load() refuses a
// world-writable file and warns about a group- or world-readable one.
#pragma once

#include "core/expected.hpp"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::www {

inline constexpr std::size_t kMaxUsersFileBytes = 1024 * 1024;
inline constexpr std::size_t kMaxLineBytes = 4096;
// What PASSWORD_HASH holds for a user without a password.
inline constexpr std::string_view kNoPassword = "!";
// Every API token starts with this, so secret scanners and people can recognise one.
inline constexpr std::string_view kTokenPrefix = "kiln_";

struct UserRecord {
    std::string name;
    std::string password_hash;  // argon2id string, or kNoPassword
    std::string email;
    std::string full_name;
    std::vector<std::string> groups;
};

struct TokenRecord {
    std::string username;
    std::string digest;  // token_digest() of the token
    std::int64_t created = 0;
};

class UsersFile {
public:
    // Parses the text; reports every bad line at once as "file_name:line: problem" (one per
    // line of the message), as ErrorKind::bad_input.
    static core::Expected<UsersFile> parse(std::string_view text, std::string_view file_name);
    // Reads and parses the file. Missing: not_found. World-writable, too large, unreadable or
    // malformed: bad_input. A group- or world-readable file loads, with a warning appended to
    // *warnings when given.
    static core::Expected<UsersFile> load(const std::filesystem::path& path,
                                          std::vector<std::string>* warnings = nullptr);

    // The file's text: a header comment, then the users and their tokens.
    std::string to_text() const;
    // Replaces the file atomically (a temporary file in the same directory, flushed to disk,
    // renamed over it), with mode 0600.
    core::Expected<void> save(const std::filesystem::path& path) const;

    const std::vector<UserRecord>& users() const { return users_; }
    const std::vector<TokenRecord>& tokens() const { return tokens_; }
    const UserRecord* find(std::string_view name) const;

    // Adds the user, or replaces it when `replace` (its tokens stay). Fails with bad_input
    // naming the field for a value the format cannot hold, with conflict when the user exists
    // and replace is false.
    core::Expected<void> add(UserRecord user, bool replace = false);
    // Removes the user and its tokens; false when there was no such user.
    bool remove(std::string_view name);
    // Makes a new API token for the user (which must exist: not_found otherwise), stores its
    // digest and returns the token's text: kTokenPrefix then 43 base64url characters (256
    // random bits).
    core::Expected<std::string> add_token(std::string_view username, std::int64_t now);
    // Removes every token of the user; returns how many there were.
    std::size_t revoke_tokens(std::string_view username);
    // The user a token belongs to, or nullptr. Compares the token's digest with every stored
    // digest in constant time, without stopping at a match.
    const UserRecord* user_for_token(std::string_view token) const;

private:
    std::vector<UserRecord> users_;
    std::vector<TokenRecord> tokens_;
};

// Why a value cannot be a user's field (empty when it can). `field` is "name", "email",
// "full name" or "group".
std::string check_user_field(std::string_view field, std::string_view value);

}  // namespace kiln::www
