// SPDX-License-Identifier: Apache-2.0
#include "changes/git.hpp"

#include "io/subprocess.hpp"
#include "io/task_group.hpp"

#include <csignal>
#include <memory>
#include <system_error>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <unistd.h>

extern char** environ;

namespace kiln::changes {

namespace asio = boost::asio;

namespace {

// More than any listing or commit range a poll reads; a bound on a misbehaving remote.
constexpr std::size_t kMaxOutputBytes = 64 * 1024 * 1024;
constexpr char kSeparator = '\x1f';  // unit separator: not in names, e-mails or dates

std::vector<std::string> child_environment() {
    std::vector<std::string> environment;
    for (char** entry = environ; entry && *entry; ++entry) {
        std::string_view text = *entry;
        if (text.starts_with("GIT_TERMINAL_PROMPT=") || text.starts_with("GIT_DIR=") ||
            text.starts_with("GIT_WORK_TREE="))
            continue;
        environment.emplace_back(text);
    }
    environment.emplace_back("GIT_TERMINAL_PROMPT=0");
    return environment;
}

std::string describe(const GitCommand& command) {
    std::string text = command.gitbin;
    for (std::size_t i = 0; i < command.args.size() && i < 2; ++i)
        text += " " + command.args[i];
    return text;
}

}  // namespace

asio::awaitable<std::string> run_git(GitCommand command) {
    auto executor = co_await asio::this_coro::executor;
    io::SpawnOptions options;
    options.argv.push_back(command.gitbin);
    options.argv.insert(options.argv.end(), command.args.begin(), command.args.end());
    options.workdir = command.workdir.string();
    options.environment = child_environment();
    options.has_stdin = !command.input.empty();
    std::shared_ptr<io::Subprocess> child;
    try {
        child = io::Subprocess::spawn(executor, options);
    } catch (const std::system_error& failure) {
        throw GitError(describe(command) + ": " + failure.what());
    }
    // Shared with the helper tasks, which may outlive this frame when it is cancelled; the
    // last owner of the child kills it if it still runs.
    auto errors = std::make_shared<std::string>();
    auto timed_out = std::make_shared<bool>(false);
    io::TaskGroup helpers(executor);
    helpers.spawn([](std::shared_ptr<io::Subprocess> process,
                     std::shared_ptr<std::string> text) -> asio::awaitable<void> {
        while (auto chunk = co_await process->read_stderr())
            if (text->size() < 64 * 1024) *text += *chunk;
    }(child, errors));
    if (options.has_stdin)
        helpers.spawn([](std::shared_ptr<io::Subprocess> process,
                         std::string input) -> asio::awaitable<void> {
            co_await process->write_stdin_and_close(std::move(input));
        }(child, std::move(command.input)));
    io::TaskGroup watchdog(executor);
    watchdog.spawn([](std::shared_ptr<io::Subprocess> process, std::chrono::seconds timeout,
                      std::shared_ptr<bool> fired) -> asio::awaitable<void> {
        asio::steady_timer timer(co_await asio::this_coro::executor, timeout);
        co_await timer.async_wait(asio::use_awaitable);
        *fired = true;
        process->signal_all(SIGKILL);
    }(child, command.timeout, timed_out));

    std::string output;
    bool is_too_long = false;
    while (auto chunk = co_await child->read_stdout()) {
        if (output.size() + chunk->size() > kMaxOutputBytes) {
            is_too_long = true;
            child->signal_all(SIGKILL);
            continue;  // drain until the pipe closes
        }
        output += *chunk;
    }
    co_await helpers.wait();
    const auto status = co_await child->wait();
    watchdog.cancel();
    co_await watchdog.wait();
    if (*timed_out)
        throw GitError(describe(command) + ": no answer within " +
                       std::to_string(command.timeout.count()) + " s (killed)");
    if (is_too_long) throw GitError(describe(command) + ": printed more than 64 MiB");
    if (status.signal != 0 || status.exit_code != 0) {
        auto message = *errors;
        while (!message.empty() && (message.back() == '\n' || message.back() == ' '))
            message.pop_back();
        throw GitError(describe(command) + ": " +
                       (status.signal != 0 ? "killed by signal " + std::to_string(status.signal)
                                           : "exit code " + std::to_string(status.exit_code)) +
                       (message.empty() ? "" : ": " + message));
    }
    co_return output;
}

std::vector<RemoteRef> parse_ls_remote(std::string_view output) {
    std::vector<RemoteRef> refs;
    while (!output.empty()) {
        const auto end = output.find('\n');
        auto line = output.substr(0, end);
        output = end == std::string_view::npos ? std::string_view{} : output.substr(end + 1);
        const auto tab = line.find('\t');
        if (tab == std::string_view::npos || tab == 0) continue;
        auto ref = line.substr(tab + 1);
        while (!ref.empty() && (ref.back() == '\r' || ref.back() == ' '))
            ref.remove_suffix(1);
        refs.push_back({std::string(line.substr(0, tab)), std::string(ref)});
    }
    return refs;
}

std::vector<std::string> split_words(std::string_view text) {
    std::vector<std::string> words;
    std::size_t at = 0;
    while (at < text.size()) {
        while (at < text.size() && std::isspace(static_cast<unsigned char>(text[at])))
            ++at;
        const auto start = at;
        while (at < text.size() && !std::isspace(static_cast<unsigned char>(text[at])))
            ++at;
        if (at > start) words.emplace_back(text.substr(start, at - start));
    }
    return words;
}

std::string_view commit_format() { return "%ct%x1f%aN <%aE>%x1f%cN <%cE>%x1f%B"; }

std::optional<CommitDetails> parse_commit(std::string_view output) {
    std::vector<std::string_view> parts;
    for (int i = 0; i < 3; ++i) {
        const auto separator = output.find(kSeparator);
        if (separator == std::string_view::npos) return std::nullopt;
        parts.push_back(output.substr(0, separator));
        output.remove_prefix(separator + 1);
    }
    CommitDetails details;
    try {
        details.timestamp = std::stoll(std::string(parts[0]));
    } catch (const std::exception&) {
        return std::nullopt;
    }
    details.author = std::string(parts[1]);
    details.committer = std::string(parts[2]);
    while (!output.empty() && (output.back() == '\n' || output.back() == '\r'))
        output.remove_suffix(1);
    details.comments = std::string(output);
    return details;
}

std::vector<std::string> split_nul(std::string_view output) {
    std::vector<std::string> names;
    while (!output.empty()) {
        const auto end = output.find('\0');
        auto name = output.substr(0, end);
        if (!name.empty() && name != "\n") names.emplace_back(name);
        output = end == std::string_view::npos ? std::string_view{} : output.substr(end + 1);
    }
    return names;
}

std::string redact_url(std::string_view url) {
    const auto scheme = url.find("://");
    if (scheme == std::string_view::npos) return std::string(url);
    const auto authority_end = url.find('/', scheme + 3);
    const auto at = url.rfind('@', authority_end);
    if (at == std::string_view::npos || at < scheme + 3) return std::string(url);
    const auto colon = url.find(':', scheme + 3);
    if (colon == std::string_view::npos || colon > at) return std::string(url);  // user only
    return std::string(url.substr(0, colon + 1)) + "***" + std::string(url.substr(at));
}

std::string url_quote(std::string_view text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (char raw : text) {
        const auto c = static_cast<unsigned char>(raw);
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '_' || c == '.' || c == '-' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += kHex[c >> 4];
            out += kHex[c & 15];
        }
    }
    return out;
}

}  // namespace kiln::changes
