// SPDX-License-Identifier: Apache-2.0
#include "www/users_file.hpp"

#include "www/crypto.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace kiln::www {

namespace {

constexpr std::size_t kMaxNameLength = 64;
constexpr std::size_t kMaxFieldLength = 512;
constexpr std::size_t kTokenRandomBytes = 32;

constexpr std::string_view kHeader =
    "# Kiln users file: the web users of this master (www.auth = k.auth.users_file(...)).\n"
    "# Edit it with `kiln user add|remove|list|token`; keep it readable by the master only.\n"
    "#   user:NAME:PASSWORD_HASH:EMAIL:FULL_NAME:GROUPS   (GROUPS separated by ',')\n"
    "#   token:NAME:TOKEN_DIGEST:CREATED                  (an API token's BLAKE2b-256 digest)\n";

bool is_control(char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte < 0x20 || byte == 0x7f;
}

std::vector<std::string_view> split(std::string_view text, char separator) {
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    for (;;) {
        const auto end = text.find(separator, start);
        if (end == std::string_view::npos) {
            parts.push_back(text.substr(start));
            return parts;
        }
        parts.push_back(text.substr(start, end - start));
        start = end + 1;
    }
}

bool is_hex_digest(std::string_view text) {
    return text.size() == 64 && std::all_of(text.begin(), text.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

std::string check_password_hash(std::string_view hash) {
    if (hash == kNoPassword) return {};
    if (!hash.starts_with("$argon2id$"))
        return "the password hash must be an argon2id string ($argon2id$...) or '!'";
    if (hash.size() > kMaxFieldLength) return "the password hash is too long";
    if (std::any_of(hash.begin(), hash.end(), [](char c) { return is_control(c) || c == ':'; }))
        return "the password hash holds a ':' or a control character";
    return {};
}

std::string join(const std::vector<std::string>& parts, char separator) {
    std::string text;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        if (i > 0) text += separator;
        text += parts[i];
    }
    return text;
}

// Why the user cannot be stored (empty when it can).
std::string check_user(const UserRecord& user) {
    std::string problem = check_user_field("name", user.name);
    if (problem.empty()) problem = check_user_field("email", user.email);
    if (problem.empty()) problem = check_user_field("full name", user.full_name);
    for (const auto& group : user.groups)
        if (problem.empty()) problem = check_user_field("group", group);
    if (problem.empty()) problem = check_password_hash(user.password_hash);
    return problem;
}

// One line without its end; sets `problem` when it is bad.
void parse_line(std::string_view line, std::vector<UserRecord>& users,
                std::vector<TokenRecord>& tokens, std::string& problem) {
    const auto fields = split(line, ':');
    if (fields[0] == "user") {
        if (fields.size() != 6) {
            problem = "a user line has 6 fields (user:NAME:PASSWORD_HASH:EMAIL:FULL_NAME:GROUPS), "
                      "this one has " +
                      std::to_string(fields.size());
            return;
        }
        UserRecord user{std::string(fields[1]),
                        std::string(fields[2]),
                        std::string(fields[3]),
                        std::string(fields[4]),
                        {}};
        if (!fields[5].empty())
            for (auto group : split(fields[5], ','))
                user.groups.emplace_back(group);
        if (problem = check_user(user); !problem.empty()) return;
        const bool duplicate = std::any_of(
            users.begin(), users.end(), [&](const auto& other) { return other.name == user.name; });
        if (duplicate) {
            problem = "user '" + user.name + "' is defined twice";
            return;
        }
        users.push_back(std::move(user));
        return;
    }
    if (fields[0] == "token") {
        if (fields.size() != 4) {
            problem = "a token line has 4 fields (token:NAME:TOKEN_DIGEST:CREATED), this one has " +
                      std::to_string(fields.size());
            return;
        }
        TokenRecord token{std::string(fields[1]), std::string(fields[2]), 0};
        if (!is_hex_digest(token.digest)) {
            problem = "a token digest is 64 lowercase hex digits";
            return;
        }
        const auto created = fields[3];
        const auto [end, error] =
            std::from_chars(created.data(), created.data() + created.size(), token.created);
        if (error != std::errc{} || end != created.data() + created.size() || token.created < 0) {
            problem = "a token's CREATED is epoch seconds, got '" + std::string(created) + "'";
            return;
        }
        tokens.push_back(std::move(token));
        return;
    }
    problem = "a line starts with 'user:' or 'token:' (or '#' for a comment)";
}

}  // namespace

std::string check_user_field(std::string_view field, std::string_view value) {
    const std::string what(field);
    if (field == "name") {
        if (value.empty() || value.size() > kMaxNameLength)
            return "a user name has 1 to 64 characters";
        const bool valid = std::all_of(value.begin(), value.end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '.' || c == '_' || c == '@' || c == '+' || c == '-';
        });
        if (!valid)
            return "a user name holds only letters, digits and . _ @ + - (got '" +
                   std::string(value) + "')";
        return {};
    }
    if (field == "group" && value.empty()) return "a group name must not be empty";
    if (value.size() > kMaxFieldLength) return "the " + what + " is too long";
    if (value.find(':') != std::string_view::npos) return "the " + what + " must not contain ':'";
    if (field == "group" && value.find(',') != std::string_view::npos)
        return "a group name must not contain ','";
    if (std::any_of(value.begin(), value.end(), is_control))
        return "the " + what + " must not contain control characters";
    return {};
}

core::Expected<UsersFile> UsersFile::parse(std::string_view text, std::string_view file_name) {
    if (text.size() > kMaxUsersFileBytes)
        return core::fail(core::ErrorKind::bad_input, std::string(file_name) + ": larger than " +
                                                          std::to_string(kMaxUsersFileBytes) +
                                                          " bytes");
    UsersFile file;
    std::string problems;
    int number = 0;
    std::size_t start = 0;
    while (start < text.size()) {
        ++number;
        auto end = text.find('\n', start);
        if (end == std::string_view::npos) end = text.size();
        auto line = text.substr(start, end - start);
        start = end + 1;
        if (line.ends_with('\r')) line.remove_suffix(1);
        std::string problem;
        if (line.size() > kMaxLineBytes)
            problem = "longer than " + std::to_string(kMaxLineBytes) + " bytes";
        else if (!line.empty() && line.front() != '#')
            parse_line(line, file.users_, file.tokens_, problem);
        if (!problem.empty())
            problems +=
                std::string(file_name) + ":" + std::to_string(number) + ": " + problem + "\n";
    }
    for (const auto& token : file.tokens_)
        if (!file.find(token.username))
            problems += std::string(file_name) + ": a token belongs to unknown user '" +
                        token.username + "'\n";
    if (!problems.empty()) {
        problems.pop_back();
        return core::fail(core::ErrorKind::bad_input, std::move(problems));
    }
    return file;
}

core::Expected<UsersFile> UsersFile::load(const std::filesystem::path& path,
                                          std::vector<std::string>* warnings) {
    const std::string name = path.string();
    const int descriptor = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (descriptor < 0) {
        const int error = errno;
        return core::fail(error == ENOENT ? core::ErrorKind::not_found : core::ErrorKind::bad_input,
                          name + ": " + std::strerror(error));
    }
    struct Closer {
        int descriptor;
        ~Closer() { ::close(descriptor); }
    } closer{descriptor};
    struct stat status {};
    if (::fstat(descriptor, &status) != 0)
        return core::fail(core::ErrorKind::bad_input, name + ": " + std::strerror(errno));
    if (!S_ISREG(status.st_mode))
        return core::fail(core::ErrorKind::bad_input, name + ": not a regular file");
    if (status.st_mode & S_IWOTH)
        return core::fail(core::ErrorKind::bad_input,
                          name +
                              ": anyone may write this file, so anyone could add a user; "
                              "refusing it (chmod 600 " +
                              name + ")");
    if (warnings && (status.st_mode & (S_IRGRP | S_IROTH | S_IWGRP)))
        warnings->push_back(name + ": other users may read or change it (chmod 600 " + name + ")");
    if (status.st_size > static_cast<off_t>(kMaxUsersFileBytes))
        return core::fail(core::ErrorKind::bad_input,
                          name + ": larger than " + std::to_string(kMaxUsersFileBytes) + " bytes");
    std::string text(static_cast<std::size_t>(status.st_size), '\0');
    std::size_t filled = 0;
    while (filled < text.size()) {
        const auto got = ::read(descriptor, text.data() + filled, text.size() - filled);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0)
            return core::fail(core::ErrorKind::bad_input, name + ": " + std::strerror(errno));
        if (got == 0) break;  // shrank while we read
        filled += static_cast<std::size_t>(got);
    }
    text.resize(filled);
    return parse(text, path.filename().string());
}

std::string UsersFile::to_text() const {
    std::string text(kHeader);
    for (const auto& user : users_) {
        text += "user:" + user.name + ":" + user.password_hash + ":" + user.email + ":" +
                user.full_name + ":" + join(user.groups, ',') + "\n";
    }
    for (const auto& token : tokens_)
        text += "token:" + token.username + ":" + token.digest + ":" +
                std::to_string(token.created) + "\n";
    return text;
}

core::Expected<void> UsersFile::save(const std::filesystem::path& path) const {
    const std::string text = to_text();
    const auto directory = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
    const auto temporary =
        directory / ("." + path.filename().string() + ".tmp-" + std::to_string(::getpid()));
    auto failure = [&](std::string_view what) {
        const int error = errno;
        ::unlink(temporary.c_str());
        return core::fail(core::ErrorKind::unavailable, std::string(what) + " " +
                                                            temporary.string() + ": " +
                                                            std::strerror(error));
    };
    ::unlink(temporary.c_str());  // left over by an interrupted run
    const int descriptor =
        ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (descriptor < 0) return failure("cannot create");
    std::size_t written = 0;
    while (written < text.size()) {
        const auto put = ::write(descriptor, text.data() + written, text.size() - written);
        if (put < 0 && errno == EINTR) continue;
        if (put < 0) {
            ::close(descriptor);
            return failure("cannot write");
        }
        written += static_cast<std::size_t>(put);
    }
    // fchmod: the umask may have removed bits, and the mode must be exactly 0600.
    if (::fchmod(descriptor, 0600) != 0 || ::fsync(descriptor) != 0) {
        ::close(descriptor);
        return failure("cannot write");
    }
    if (::close(descriptor) != 0) return failure("cannot write");
    if (::rename(temporary.c_str(), path.c_str()) != 0) return failure("cannot rename");
    // Make the rename itself durable.
    if (const int folder = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        folder >= 0) {
        ::fsync(folder);
        ::close(folder);
    }
    return {};
}

const UserRecord* UsersFile::find(std::string_view name) const {
    auto found = std::find_if(users_.begin(), users_.end(),
                              [&](const auto& user) { return user.name == name; });
    return found == users_.end() ? nullptr : &*found;
}

core::Expected<void> UsersFile::add(UserRecord user, bool replace) {
    if (auto problem = check_user(user); !problem.empty())
        return core::fail(core::ErrorKind::bad_input, problem);
    auto existing = std::find_if(users_.begin(), users_.end(),
                                 [&](const auto& other) { return other.name == user.name; });
    if (existing == users_.end()) {
        users_.push_back(std::move(user));
        return {};
    }
    if (!replace) return core::fail(core::ErrorKind::conflict, "user '" + user.name + "' exists");
    *existing = std::move(user);
    return {};
}

bool UsersFile::remove(std::string_view name) {
    const auto before = users_.size();
    std::erase_if(users_, [&](const auto& user) { return user.name == name; });
    if (users_.size() == before) return false;
    revoke_tokens(name);
    return true;
}

core::Expected<std::string> UsersFile::add_token(std::string_view username, std::int64_t now) {
    if (!find(username))
        return core::fail(core::ErrorKind::not_found, "no user '" + std::string(username) + "'");
    std::string token =
        std::string(kTokenPrefix) + base64url_encode(random_bytes(kTokenRandomBytes));
    tokens_.push_back(TokenRecord{std::string(username), token_digest(token), now});
    return token;
}

std::size_t UsersFile::revoke_tokens(std::string_view username) {
    return std::erase_if(tokens_, [&](const auto& token) { return token.username == username; });
}

const UserRecord* UsersFile::user_for_token(std::string_view token) const {
    if (!token.starts_with(kTokenPrefix) || token.size() > kMaxLineBytes) return nullptr;
    const auto digest = token_digest(token);
    const TokenRecord* match = nullptr;
    for (const auto& candidate : tokens_)
        if (constant_time_equal(candidate.digest, digest)) match = &candidate;
    return match ? find(match->username) : nullptr;
}

}  // namespace kiln::www
