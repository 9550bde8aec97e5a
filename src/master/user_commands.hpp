// SPDX-License-Identifier: Apache-2.0
// `kiln user add|remove|list|token`: edit the master's users file (www/users_file.hpp). The
// file is the one master.lua names in www.auth = k.auth.users_file(...), else users.txt in
// the master directory, unless --file names another. Every change rewrites the file
// atomically with mode 0600; a running master picks it up without a reconfig.
#pragma once

#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace kiln::master {

struct UserCommand {
    std::filesystem::path dir;                  // master directory
    std::optional<std::filesystem::path> file;  // --file: overrides the configured users file
    std::string name;
    std::optional<std::string> email, full_name;  // add: kept from the old entry when replacing
    std::vector<std::string> groups;              // add
    bool replace = false;                         // add: update an existing user
    bool no_password = false;                     // add: tokens only
    bool keep_password = false;                   // add --replace: keep the password
    bool revoke_all = false;                      // token: remove the user's tokens instead
};

// Where the users file is, and whether master.lua uses it (false: a hint is printed).
struct UsersFileLocation {
    std::filesystem::path path;
    bool is_configured = false;
};
std::optional<UsersFileLocation> locate_users_file(const UserCommand& command, std::ostream& err);

// Each returns the process exit code. `add` reads the password from `in`: a line, or, when
// `prompt` is true (stdin is a terminal), twice without echo. It never comes from argv.
int user_add(const UserCommand& command, std::istream& in, bool prompt, std::ostream& out,
             std::ostream& err);
int user_remove(const UserCommand& command, std::ostream& out, std::ostream& err);
int user_list(const UserCommand& command, std::ostream& out, std::ostream& err);
// Prints a new API token once (only its digest is stored), or with revoke_all removes them.
int user_token(const UserCommand& command, std::int64_t now, std::ostream& out, std::ostream& err);

}  // namespace kiln::master
