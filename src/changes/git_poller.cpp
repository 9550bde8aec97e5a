// SPDX-License-Identifier: Apache-2.0
#include "changes/git_poller.hpp"

#include "changes/git.hpp"
#include "data/changes.hpp"
#include "data/object_state.hpp"
#include "io/task_group.hpp"

#include <algorithm>
#include <array>
#include <set>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>

#include <spdlog/spdlog.h>

namespace kiln::changes {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

constexpr auto kListTimeout = 300s;
constexpr auto kFetchTimeout = 3600s;
constexpr auto kLocalTimeout = 300s;
constexpr std::string_view kStateName = "lastRev";
constexpr std::string_view kClassName = "GitPoller";

// Lua truthiness of a function's answer: only nil and false say no.
bool is_truthy(const boost::json::value& value) {
    return !(value.is_null() || (value.is_bool() && !value.get_bool()));
}

}  // namespace

std::string branch_of(const std::string& ref) {
    constexpr std::string_view kHeads = "refs/heads/";
    return ref.starts_with(kHeads) ? ref.substr(kHeads.size()) : ref;
}

GitPoller::GitPoller(data::Context& context, config::GitPollerConfig config,
                     std::filesystem::path master_dir)
    : context_(context)
    , config_(std::move(config)) {
    std::filesystem::path workdir(config_.workdir);
    workdir_ = (workdir.is_absolute() ? workdir : master_dir / workdir).lexically_normal();
}

std::vector<std::string> GitPoller::wanted_refs(const std::vector<std::string>& remote_refs) const {
    std::vector<std::string> wanted;
    for (const auto& ref : remote_refs) {
        const bool is_head = ref.starts_with("refs/heads/");
        const bool is_tag = ref.starts_with("refs/tags/");
        if (config_.only_tags) {
            if (is_tag) wanted.push_back(ref);
        } else if (config_.all_branches) {
            if (is_head) wanted.push_back(ref);
        } else if (config_.branch_filter) {
            if (!is_head && !is_tag) continue;
            const std::array<boost::json::value, 1> arguments{boost::json::value(ref)};
            auto answer = config_.branch_filter->call(arguments);
            if (!answer) {
                spdlog::warn("gitpoller {}: the branches function failed for {}: {}",
                             redact_url(config_.name), ref, answer.error().message);
                continue;
            }
            if (is_truthy(*answer)) wanted.push_back(ref);
        } else {
            for (const auto& branch : config_.branches) {
                const auto full = branch.starts_with("refs/") ? branch : "refs/heads/" + branch;
                if (full == ref) wanted.push_back(ref);
            }
        }
    }
    std::sort(wanted.begin(), wanted.end());
    wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());
    return wanted;
}

std::string GitPoller::tracking_ref(const std::string& ref) const {
    return "refs/buildbot/" + url_quote(config_.repourl) + "/" + branch_of(ref);
}

asio::awaitable<std::string> GitPoller::git(std::vector<std::string> args,
                                            std::chrono::seconds timeout) {
    std::string no_input;
    co_return co_await git_with_input(std::move(args), std::move(no_input), timeout);
}

asio::awaitable<std::string> GitPoller::git_with_input(std::vector<std::string> args,
                                                       std::string input,
                                                       std::chrono::seconds timeout) {
    GitCommand command;
    command.gitbin = config_.gitbin;
    command.args = std::move(args);
    command.workdir = workdir_;
    command.input = std::move(input);
    command.timeout = timeout;
    co_return co_await run_git(std::move(command));
}

asio::awaitable<void> GitPoller::prepare() {
    if (!std::filesystem::exists(workdir_ / "objects")) {
        std::filesystem::create_directories(workdir_);
        std::vector<std::string> init{"init", "--bare", "--quiet", "."};
        co_await git(std::move(init), kLocalTimeout);
        spdlog::info("gitpoller {}: created the work repository {}", redact_url(config_.name),
                     workdir_.string());
    }
    if (objectid_) co_return;
    data::ObjectState state(context_);
    const auto objectid = co_await state.object_id(config_.name, std::string(kClassName));
    auto stored = co_await state.get(objectid, std::string(kStateName));
    last_revisions_.clear();
    if (stored && stored->is_object())
        for (const auto& [ref, sha] : stored->get_object())
            if (sha.is_string()) last_revisions_[std::string(ref)] = std::string(sha.get_string());
    objectid_ = objectid;
}

asio::awaitable<data::NewChange> GitPoller::change_of(std::string revision, std::string ref) {
    std::vector<std::string> log_args{"log", "--no-walk",
                                      "--format=" + std::string(commit_format()), revision, "--"};
    const auto described = co_await git(std::move(log_args), kLocalTimeout);
    auto details = parse_commit(described);
    if (!details) throw GitError("gitpoller: cannot read commit " + revision);
    std::vector<std::string> tree_args{"diff-tree", "--no-commit-id", "--name-only", "-r",
                                       "-z",        "--root",         revision};
    const auto names = co_await git(std::move(tree_args), kLocalTimeout);

    data::NewChange change;
    change.author = std::move(details->author);
    change.committer = std::move(details->committer);
    change.files = split_nul(names);
    change.comments = std::move(details->comments);
    change.revision = std::move(revision);
    if (config_.usetimestamps) change.when_timestamp = details->timestamp;
    change.branch = branch_of(ref);
    change.repository = config_.repourl;
    change.project = config_.project;
    if (!config_.category.empty()) change.category = config_.category;
    co_return change;
}

asio::awaitable<std::vector<data::Change>> GitPoller::poll() {
    co_await prepare();
    std::vector<std::string> list_args{"ls-remote", "--refs", config_.repourl};
    const auto listing = co_await git(std::move(list_args), kListTimeout);
    std::vector<std::string> remote_refs;
    for (const auto& remote : parse_ls_remote(listing))
        remote_refs.push_back(remote.ref);
    const auto wanted = wanted_refs(remote_refs);
    if (wanted.empty()) {
        spdlog::warn("gitpoller {}: the remote has none of the wanted branches",
                     redact_url(config_.name));
        co_return std::vector<data::Change>{};
    }

    std::string refspecs;
    for (const auto& ref : wanted)
        refspecs += "+" + ref + ":" + tracking_ref(ref) + "\n";
    std::vector<std::string> fetch_args{
        "fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--stdin", config_.repourl};
    co_await git_with_input(std::move(fetch_args), std::move(refspecs), kFetchTimeout);

    const auto prefix = "refs/buildbot/" + url_quote(config_.repourl) + "/";
    std::vector<std::string> show_args{"for-each-ref", "--format=%(objectname) %(refname)", prefix};
    const auto tracked = co_await git(std::move(show_args), kLocalTimeout);
    std::map<std::string, std::string> sha_of_tracking;
    const auto words = split_words(tracked);
    for (std::size_t i = 0; i + 1 < words.size(); i += 2)
        sha_of_tracking[words[i + 1]] = words[i];
    std::map<std::string, std::string> heads;
    for (const auto& ref : wanted)
        if (auto found = sha_of_tracking.find(tracking_ref(ref)); found != sha_of_tracking.end())
            heads[ref] = found->second;

    boost::json::object state_value;
    if (last_revisions_.empty()) {
        // Buildbot's first run: remember where every branch is, report nothing.
        for (const auto& [ref, sha] : heads)
            state_value[ref] = sha;
        data::ObjectState state(context_);
        co_await state.set(*objectid_, std::string(kStateName), std::move(state_value));
        last_revisions_ = std::move(heads);
        spdlog::info("gitpoller {}: first poll, remembering {} head(s)", redact_url(config_.name),
                     last_revisions_.size());
        co_return std::vector<data::Change>{};
    }

    auto updated = last_revisions_;
    std::set<std::string> known;
    for (const auto& [ref, sha] : last_revisions_)
        known.insert(sha);
    std::vector<data::NewChange> found;
    for (const auto& [ref, sha] : heads) {
        if (auto seen = last_revisions_.find(ref);
            seen != last_revisions_.end() && seen->second == sha)
            continue;
        // Commits reachable from the new head and from no revision seen so far (on any
        // branch, this poll's earlier heads included), oldest first.
        std::string range = sha + "\n";
        for (const auto& old : known)
            range += "^" + old + "\n";
        std::vector<std::string> rev_args{"rev-list", "--reverse", "--ignore-missing", "--stdin"};
        const auto revisions =
            co_await git_with_input(std::move(rev_args), std::move(range), kLocalTimeout);
        for (auto& revision : split_words(revisions)) {
            auto change = co_await change_of(std::move(revision), ref);
            found.push_back(std::move(change));
        }
        updated[ref] = sha;
        known.insert(sha);
    }
    if (updated == last_revisions_) co_return std::vector<data::Change>{};
    for (const auto& [ref, sha] : updated)
        state_value[ref] = sha;
    data::Changes store(context_);
    std::optional<data::Changes::StateUpdate> state_update;
    state_update.emplace();
    state_update->objectid = *objectid_;
    state_update->name = std::string(kStateName);
    state_update->value = std::move(state_value);
    auto stored = co_await store.add_all(std::move(found), std::move(state_update));
    last_revisions_ = std::move(updated);
    if (!stored.empty())
        spdlog::info("gitpoller {}: {} new change(s), changeids {}..{}", redact_url(config_.name),
                     stored.size(), stored.front().changeid, stored.back().changeid);
    co_return stored;
}

asio::awaitable<void> GitPoller::run() {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    bool is_first = true;
    for (;;) {
        if (!is_first || !config_.poll_at_launch) {
            timer.expires_after(std::chrono::seconds(config_.pollinterval));
            co_await timer.async_wait(asio::use_awaitable);  // cancellation ends the loop
        }
        is_first = false;
        try {
            co_await poll();
        } catch (const std::exception& failure) {
            if (io::is_cancellation(failure)) throw;
            spdlog::warn("gitpoller {}: poll failed: {}", redact_url(config_.name), failure.what());
        }
    }
}

}  // namespace kiln::changes
