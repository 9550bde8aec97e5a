// SPDX-License-Identifier: Apache-2.0
#include "master/user_commands.hpp"

#include "config/master_config.hpp"
#include "www/crypto.hpp"
#include "www/users_file.hpp"

#include <algorithm>
#include <istream>
#include <ostream>

#include <termios.h>
#include <unistd.h>

namespace kiln::master {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kMaxPasswordBytes = 4096;

// Reads a line; with `hidden`, turns the terminal's echo off meanwhile.
std::optional<std::string> read_line(std::istream& in, bool hidden, std::ostream& err) {
    termios saved{};
    const bool echo_off = hidden && ::tcgetattr(STDIN_FILENO, &saved) == 0;
    if (echo_off) {
        termios quiet = saved;
        quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
        ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    std::string line;
    const bool got = static_cast<bool>(std::getline(in, line));
    if (echo_off) {
        ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
        err << "\n";
    }
    if (!got) return std::nullopt;
    if (line.ends_with('\r')) line.pop_back();
    return line;
}

std::optional<std::string> read_password(const std::string& name, std::istream& in, bool prompt,
                                         std::ostream& err) {
    if (prompt) err << "Password for " << name << ": " << std::flush;
    auto password = read_line(in, prompt, err);
    if (!password) {
        err << "kiln: no password on standard input (use --no-password for a user who logs in "
               "with API tokens only)\n";
        return std::nullopt;
    }
    if (password->empty()) {
        err << "kiln: the password is empty (use --no-password for a user who logs in with API "
               "tokens only)\n";
        return std::nullopt;
    }
    if (password->size() > kMaxPasswordBytes) {
        err << "kiln: the password is longer than " << kMaxPasswordBytes << " bytes\n";
        return std::nullopt;
    }
    if (prompt) {
        err << "Repeat it: " << std::flush;
        auto again = read_line(in, true, err);
        if (!again || *again != *password) {
            err << "kiln: the passwords differ\n";
            return std::nullopt;
        }
    }
    return password;
}

// The users file's current content (empty when it does not exist yet).
std::optional<www::UsersFile> read_users(const fs::path& path, std::ostream& err) {
    std::vector<std::string> warnings;
    auto loaded = www::UsersFile::load(path, &warnings);
    for (const auto& warning : warnings)
        err << "kiln: warning: " << warning << "\n";
    if (loaded) return std::move(*loaded);
    if (loaded.error().kind == core::ErrorKind::not_found) return www::UsersFile{};
    err << "kiln: " << loaded.error().message << "\n";
    return std::nullopt;
}

bool write_users(const www::UsersFile& users, const UsersFileLocation& location,
                 std::ostream& err) {
    if (auto saved = users.save(location.path); !saved) {
        err << "kiln: " << saved.error().message << "\n";
        return false;
    }
    if (!location.is_configured)
        err << "kiln: note: master.lua does not use this file yet; set\n"
               "  www = { ..., auth = k.auth.users_file(\""
            << location.path.filename().string() << "\") }\n";
    return true;
}

}  // namespace

std::optional<UsersFileLocation> locate_users_file(const UserCommand& command, std::ostream& err) {
    if (command.file) return UsersFileLocation{*command.file, true};
    if (!fs::exists(command.dir / "master.lua")) {
        err << "kiln: " << (command.dir / "master.lua").string()
            << ": no such file (is this a master directory? --file names a users file "
               "directly)\n";
        return std::nullopt;
    }
    auto loaded = config::load_master_config(command.dir);
    if (!loaded.config) {
        for (const auto& error : loaded.errors)
            err << error.to_string() << "\n";
        err << "kiln: master.lua has errors, so the users file is unknown (fix them, or name "
               "the file with --file)\n";
        return std::nullopt;
    }
    const auto& auth = loaded.config->www_auth;
    if (auth.method == config::AuthMethod::users_file)
        return UsersFileLocation{
            auth.users_file.is_absolute() ? auth.users_file : command.dir / auth.users_file, true};
    return UsersFileLocation{command.dir / "users.txt", false};
}

int user_add(const UserCommand& command, std::istream& in, bool prompt, std::ostream& out,
             std::ostream& err) {
    if (auto problem = www::check_user_field("name", command.name); !problem.empty()) {
        err << "kiln: " << problem << "\n";
        return 2;
    }
    auto location = locate_users_file(command, err);
    if (!location) return 1;
    auto users = read_users(location->path, err);
    if (!users) return 1;
    const auto* existing = users->find(command.name);
    const bool is_update = existing != nullptr;
    if (existing && !command.replace) {
        err << "kiln: user '" << command.name << "' exists (--replace updates it)\n";
        return 1;
    }
    www::UserRecord user;
    user.name = command.name;
    if (existing) user = *existing;  // --replace keeps what is not given
    if (command.email) user.email = *command.email;
    if (command.full_name) user.full_name = *command.full_name;
    if (!command.groups.empty() || !existing) user.groups = command.groups;
    if (command.keep_password && !existing) {
        err << "kiln: --keep-password needs an existing user (and --replace)\n";
        return 2;
    }
    if (command.no_password) {
        user.password_hash = std::string(www::kNoPassword);
    } else if (!command.keep_password) {  // (kept: user holds the existing hash)
        auto password = read_password(command.name, in, prompt, err);
        if (!password) return 1;
        user.password_hash = www::hash_password(*password);
        std::fill(password->begin(), password->end(), '\0');
    }
    if (auto added = users->add(user, command.replace); !added) {
        err << "kiln: " << added.error().message << "\n";
        return 1;
    }
    if (!write_users(*users, *location, err)) return 1;
    out << (is_update ? "updated" : "added") << " user '" << command.name << "' in "
        << location->path.string() << "\n";
    return 0;
}

int user_remove(const UserCommand& command, std::ostream& out, std::ostream& err) {
    auto location = locate_users_file(command, err);
    if (!location) return 1;
    auto users = read_users(location->path, err);
    if (!users) return 1;
    if (!users->remove(command.name)) {
        err << "kiln: no user '" << command.name << "' in " << location->path.string() << "\n";
        return 1;
    }
    if (!write_users(*users, *location, err)) return 1;
    out << "removed user '" << command.name << "' and its API tokens\n";
    return 0;
}

int user_list(const UserCommand& command, std::ostream& out, std::ostream& err) {
    auto location = locate_users_file(command, err);
    if (!location) return 1;
    auto users = read_users(location->path, err);
    if (!users) return 1;
    if (users->users().empty()) {
        out << "no users in " << location->path.string() << "\n";
        return 0;
    }
    for (const auto& user : users->users()) {
        std::size_t tokens = 0;
        for (const auto& token : users->tokens())
            if (token.username == user.name) ++tokens;
        std::string groups;
        for (const auto& group : user.groups)
            groups += (groups.empty() ? "" : ",") + group;
        out << user.name << "\t" << (user.email.empty() ? "-" : user.email) << "\t"
            << (user.full_name.empty() ? "-" : user.full_name)
            << "\tgroups: " << (groups.empty() ? "-" : groups) << "\t"
            << (user.password_hash == www::kNoPassword ? "no password" : "password") << "\t"
            << tokens << " token(s)\n";
    }
    return 0;
}

int user_token(const UserCommand& command, std::int64_t now, std::ostream& out, std::ostream& err) {
    auto location = locate_users_file(command, err);
    if (!location) return 1;
    auto users = read_users(location->path, err);
    if (!users) return 1;
    if (!users->find(command.name)) {
        err << "kiln: no user '" << command.name << "' in " << location->path.string()
            << " (add one with 'kiln user add')\n";
        return 1;
    }
    if (command.revoke_all) {
        const auto count = users->revoke_tokens(command.name);
        if (!write_users(*users, *location, err)) return 1;
        out << "revoked " << count << " API token(s) of '" << command.name << "'\n";
        return 0;
    }
    auto token = users->add_token(command.name, now);
    if (!token) {
        err << "kiln: " << token.error().message << "\n";
        return 1;
    }
    if (!write_users(*users, *location, err)) return 1;
    out << *token << "\n";
    err << "kiln: a new API token for '" << command.name
        << "'. It is shown only this once: store it now. Scripts send it as\n"
           "  Authorization: Bearer <token>\n";
    return 0;
}

}  // namespace kiln::master
