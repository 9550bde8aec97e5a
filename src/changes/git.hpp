// SPDX-License-Identifier: Apache-2.0
// Running the git binary for the git poller (never through a shell), and reading what it
// prints: ls-remote listings, rev-list output, one commit's details.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

namespace kiln::changes {

struct GitCommand {
    std::string gitbin = "git";
    std::vector<std::string> args;  // after the binary: {"fetch", repourl, ...}
    std::filesystem::path workdir;  // must exist
    std::string input;              // written to stdin (then closed); empty: none
    std::chrono::seconds timeout{600};
};

// A git command that failed (non-zero exit, killed, or over its time): the message has the
// command's first words and what git wrote on stderr.
class GitError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Runs git and returns its standard output. The child gets the master's environment with
// GIT_TERMINAL_PROMPT=0 (never ask for credentials) and is killed at its timeout or when the
// caller is cancelled. Throws GitError.
boost::asio::awaitable<std::string> run_git(GitCommand command);

// One line of `git ls-remote --refs`.
struct RemoteRef {
    std::string sha;
    std::string ref;  // refs/heads/main, refs/tags/v1, ...
};
std::vector<RemoteRef> parse_ls_remote(std::string_view output);

// The whitespace-separated words of `text` (rev-list output).
std::vector<std::string> split_words(std::string_view text);

struct CommitDetails {
    std::int64_t timestamp = 0;  // committer time
    std::string author;          // "Name <email>"
    std::string committer;
    std::string comments;  // the whole message, trailing newlines removed
};
// The format string for `git log --no-walk --format=<it>` that parse_commit reads.
std::string_view commit_format();
// Reads what `git log --no-walk --format=commit_format()` printed for one commit.
std::optional<CommitDetails> parse_commit(std::string_view output);

// `git diff-tree -z --name-only` output: NUL-separated names.
std::vector<std::string> split_nul(std::string_view output);

// A URL fit for logs: a password in it ("https://user:token@host/...") is replaced by "***".
std::string redact_url(std::string_view url);

// Python's urllib.parse.quote(text, safe=''): what Buildbot names tracking refs after.
std::string url_quote(std::string_view text);

}  // namespace kiln::changes
