// SPDX-License-Identifier: Apache-2.0
#include "steps/git_step.hpp"

#include "process/log_writer.hpp"
#include "process/value_conversion.hpp"
#include "process/worker_connection.hpp"
#include "protocol/messages.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace kiln::steps {

namespace asio = boost::asio;
using core::Results;

namespace {

constexpr std::size_t kMaxCapturedBytes = 64 * 1024;

// Streams every command's output into the step's one stdio log; keeps the last command's
// stdout (for rev-parse).
class GitObserver final : public process::RemoteCommandObserver {
public:
    explicit GitObserver(process::LogWriter& stdio)
        : stdio_(stdio) {}

    asio::awaitable<void> on_updates(process::UpdateEvents events) override {
        for (auto& [key, value] : events) {
            if (key == "stdout" || key == "stderr" || key == "header") {
                // Only the text is used: no copy, no vectors of positions and times.
                auto text = protocol::LineChunk::text_of(value);
                if (!text) continue;
                const char stream = key == "stdout" ? 'o' : key == "stderr" ? 'e' : 'h';
                stdio_.add(stream, *text);
                if (stream == 'o' && captured_.size() < kMaxCapturedBytes)
                    captured_.append(text->substr(0, kMaxCapturedBytes - captured_.size()));
            } else if (key == "rc") {
                if (auto rc = value.as_int())
                    stdio_.add('h',
                               "program finished with exit code " + std::to_string(*rc) + "\n");
            }
        }
        co_await stdio_.flush();
    }

    void reset_capture() { captured_.clear(); }
    const std::string& captured() const { return captured_; }

private:
    process::LogWriter& stdio_;
    std::string captured_;
};

// A download source holding the patch.
class TextReader final : public process::FileReader {
public:
    explicit TextReader(std::string_view text)
        : text_(text) {}
    asio::awaitable<std::string> read(std::size_t max_bytes) override {
        auto piece = std::string(text_.substr(offset_, max_bytes));
        offset_ += piece.size();
        co_return piece;
    }
    asio::awaitable<void> close() override { co_return; }

private:
    std::string_view text_;
    std::size_t offset_ = 0;
};

// The text with bytes that are not UTF-8 left out (Buildbot shows the patch log decoded with
// errors='ignore').
std::string utf8_only(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    std::size_t i = 0;
    while (i < text.size()) {
        const auto c = static_cast<unsigned char>(text[i]);
        std::size_t length = c < 0x80         ? 1
                             : (c >> 5) == 6  ? 2
                             : (c >> 4) == 14 ? 3
                             : (c >> 3) == 30 ? 4
                                              : 0;
        bool valid = length > 0 && i + length <= text.size();
        for (std::size_t k = 1; valid && k < length; ++k)
            valid = (static_cast<unsigned char>(text[i + k]) & 0xC0) == 0x80;
        if (valid && length > 1) {
            // No overlong forms, surrogates or values past U+10FFFF.
            const auto c1 = static_cast<unsigned char>(text[i + 1]);
            if (length == 2) valid = c >= 0xC2;
            if (length == 3) valid = !(c == 0xE0 && c1 < 0xA0) && !(c == 0xED && c1 >= 0xA0);
            if (length == 4)
                valid = c <= 0xF4 && !(c == 0xF0 && c1 < 0x90) && !(c == 0xF4 && c1 >= 0x90);
        }
        if (valid) out.append(text.substr(i, length));
        i += valid ? length : 1;
    }
    return out;
}

// A patch's subdir is used only when it stays inside the workdir (relative, no "..").
bool is_confined_subdir(std::string_view subdir) {
    if (subdir.empty() || subdir.front() == '/' || subdir.front() == '\\') return false;
    if (subdir.find(':') != std::string_view::npos) return false;
    std::size_t start = 0;
    while (start <= subdir.size()) {
        auto end = subdir.find_first_of("/\\", start);
        if (end == std::string_view::npos) end = subdir.size();
        if (subdir.substr(start, end - start) == "..") return false;
        start = end + 1;
    }
    return true;
}

std::string trimmed(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
        text.pop_back();
    return text;
}

// A failed git command ends the step: FAILURE (EXCEPTION when the worker could not run it,
// CANCELLED when the build was stopped).
struct GitFailed {
    Results results;
    std::string what;
};

// One run of the step: the rendered arguments and the commands.
class GitRun {
public:
    GitRun(process::StepContext& context, const StepArgs& args, process::LogWriter& stdio,
           GitObserver& observer)
        : context_(context)
        , args_(args)
        , stdio_(stdio)
        , observer_(observer) {
        repourl_ = args.string_or("repourl", "");
        mode_ = args.string_or("mode", "incremental");
        method_ = args.string_or("method", mode_ == "full" ? "fresh" : "");
        branch_ = args.string_or("branch", "HEAD");
        // The source stamp's branch and revision (build properties) win over the step's.
        const auto& properties = context.properties();
        if (const auto& b = properties.value_or_null("branch");
            b.is_string() && !b.get_string().empty())
            branch_ = std::string(b.get_string());
        if (const auto& r = properties.value_or_null("revision");
            r.is_string() && !r.get_string().empty())
            revision_ = std::string(r.get_string());
        if (auto depth = args.integer("shallow"))
            depth_ = *depth;
        else if (args.boolean_or("shallow", false))
            depth_ = 1;
        submodules_ = args.boolean_or("submodules", false);
        mirror_ = args.string_or("mirror", "");
        timeout_ = args.integer("timeout").value_or(1200);
        if (const auto* retry = args.find("retry");
            retry && retry->is_array() && retry->as_array().size() == 2 &&
            retry->as_array()[0].is_int64() && retry->as_array()[1].is_int64()) {
            retry_delay_ = retry->as_array()[0].get_int64();
            retry_count_ = retry->as_array()[1].get_int64();
        }
        if (const auto* env = args.find("env"); env && env->is_object()) env_ = *env;
        builddir_ = context.worker_builddir();
        workdir_ = context.worker_path(builddir_, args.string_or("workdir", "build"));
    }

    // The build's patch for this step's codebase, if any (a try job's diff).
    void set_patch(std::optional<data::Patch> patch) { patch_ = std::move(patch); }

    asio::awaitable<void> run() {
        if (repourl_.empty()) throw GitFailed{Results::exception, "k.git needs a repourl"};
        if (mode_ != "incremental" && mode_ != "full")
            throw GitFailed{Results::exception,
                            "mode must be incremental or full, not '" + mode_ + "'"};
        if (mode_ == "full" && method_ != "clean" && method_ != "fresh" && method_ != "clobber" &&
            method_ != "copy")
            throw GitFailed{Results::exception,
                            "method must be clean, fresh, clobber or copy, not '" + method_ + "'"};
        if (!mirror_.empty()) co_await update_mirror();
        // A tree an earlier build patched is cleaned first (Buildbot's .buildbot-patched).
        const bool was_patched =
            co_await exists(context_.worker_path(workdir_, ".buildbot-patched"));
        if (was_patched) {
            const bool has_checkout = co_await exists(context_.worker_path(workdir_, ".git"));
            if (has_checkout) {
                std::vector<std::string> clean{"git", "clean", "-f", "-f", "-d", "-x"};
                co_await git(workdir_, std::move(clean));
            }
        }
        if (mode_ == "full" && method_ == "clobber") {
            co_await remove_dir(workdir_);
            co_await clone(workdir_);
        } else if (mode_ == "full" && method_ == "copy") {
            const auto source = context_.worker_path(builddir_, "source");
            co_await update_or_clone(source);
            co_await remove_dir(workdir_);
            co_await copy_dir(source, workdir_);
        } else {
            co_await update_or_clone(workdir_);
            if (mode_ == "full") {
                std::vector<std::string> clean{"git", "clean", "-f", "-f", "-d"};
                if (method_ == "fresh") clean.emplace_back("-x");
                co_await git(workdir_, std::move(clean));
            }
        }
        if (patch_) co_await apply_patch();
        observer_.reset_capture();
        {
            std::vector<std::string> command{"git", "rev-parse", "HEAD"};
            co_await git(workdir_, std::move(command));
        }
        got_revision_ = trimmed(observer_.captured());
        if (!got_revision_.empty()) {
            boost::json::value value = boost::json::string(got_revision_);
            co_await context_.set_property("got_revision", std::move(value), "Git");
        }
    }

    const std::string& got_revision() const { return got_revision_; }

private:
    // Buildbot's Git.applyPatch: the diff goes to .buildbot-diff in the (sub)directory, a
    // .buildbot-patched marker next to it, then `git update-index --refresh` and
    // `git apply --index -p<level>` (from the file rather than stdin: the worker protocol's
    // stdin is a text string, a binary diff is not), and .buildbot-diff is removed.
    asio::awaitable<void> apply_patch() {
        std::string dir = workdir_;
        if (patch_->subdir && !patch_->subdir->empty() && *patch_->subdir != ".") {
            if (!is_confined_subdir(*patch_->subdir))
                throw GitFailed{Results::exception,
                                "the patch's subdir '" + *patch_->subdir + "' leaves the workdir"};
            dir = context_.worker_path(workdir_, *patch_->subdir);
        }
        co_await download(context_.worker_path(dir, ".buildbot-diff"), patch_->body);
        co_await download(context_.worker_path(workdir_, ".buildbot-patched"), "patched\n");
        {
            std::vector<std::string> command{"git", "update-index", "--refresh"};
            co_await git(workdir_, std::move(command));
        }
        {
            std::vector<std::string> command{
                "git", "apply", "--index", "-p" + std::to_string(patch_->level), ".buildbot-diff"};
            co_await git(dir, std::move(command));
        }
        co_await remove_dir(context_.worker_path(dir, ".buildbot-diff"));
    }

    asio::awaitable<void> download(std::string path, std::string_view content) {
        protocol::Map args;
        args.emplace_back("path", path);
        args.emplace_back("maxsize", protocol::Value());
        args.emplace_back("blocksize", std::int64_t{16 * 1024});
        args.emplace_back("mode", protocol::Value());
        args.emplace_back("workdir", workdir_);
        args.emplace_back("workerdest", path);
        TextReader reader(content);
        process::RemoteCommand command;
        command.name = "download_file";
        command.args = std::move(args);
        command.file_reader = &reader;
        auto result = co_await context_.run_command(std::move(command));
        check(result, "download " + path);
    }

    asio::awaitable<void> update_or_clone(std::string dir) {
        const bool has_checkout = co_await exists(context_.worker_path(dir, ".git"));
        if (has_checkout) {
            for (std::int64_t tries = 0;; ++tries) {
                std::optional<GitFailed> failure;
                try {
                    co_await fetch(dir);
                } catch (const GitFailed& failed) {
                    failure = failed;
                }
                if (!failure) break;
                co_await before_retry(tries, *failure);
            }
        } else {
            co_await remove_dir(dir);  // whatever is there is not a checkout
            co_await clone(dir);
        }
    }

    asio::awaitable<void> fetch(std::string dir) {
        std::vector<std::string> command{"git", "fetch", "-f", "-t"};
        if (depth_) command.push_back("--depth=" + std::to_string(*depth_));
        command.push_back(repourl_);
        command.push_back(branch_);
        co_await git(dir, std::move(command));
        std::string target = "FETCH_HEAD";
        if (revision_) target = *revision_;
        co_await checkout(dir, std::move(target));
    }

    asio::awaitable<void> clone(std::string dir) {
        for (std::int64_t tries = 0;; ++tries) {
            std::optional<GitFailed> failure;
            try {
                co_await clone_once(dir);
            } catch (const GitFailed& failed) {
                failure = failed;
            }
            if (!failure) break;
            co_await before_retry(tries, *failure);
            co_await remove_dir(dir);
        }
    }

    asio::awaitable<void> clone_once(std::string dir) {
        std::vector<std::string> command{"git", "clone"};
        if (branch_ != "HEAD") {
            command.emplace_back("--branch");
            command.push_back(branch_);
        }
        if (depth_) command.push_back("--depth=" + std::to_string(*depth_));
        if (!mirror_.empty()) {
            command.emplace_back("--reference");
            command.push_back(mirror_);
        }
        command.push_back(repourl_);
        command.emplace_back(".");
        co_await git(dir, std::move(command));
        if (revision_) {
            // A revision behind a shallow clone's tip must be fetched first.
            if (depth_) {
                std::vector<std::string> fetch{"git", "fetch", "--depth=" + std::to_string(*depth_),
                                               repourl_, *revision_};
                co_await git(dir, std::move(fetch));
            }
            co_await checkout(dir, *revision_);
        } else if (submodules_) {
            co_await update_submodules(dir);
        }
    }

    asio::awaitable<void> checkout(std::string dir, std::string revision) {
        {
            std::vector<std::string> command{"git", "reset", "--hard", revision, "--"};
            co_await git(dir, std::move(command));
        }
        if (branch_ != "HEAD" && !revision_) {
            std::vector<std::string> command{"git", "checkout", "-B", branch_};
            co_await git(dir, std::move(command));
        }
        if (submodules_) co_await update_submodules(dir);
    }

    asio::awaitable<void> update_submodules(std::string dir) {
        {
            std::vector<std::string> command{"git", "submodule", "sync"};
            co_await git(dir, std::move(command));
        }
        std::vector<std::string> update{"git",    "submodule",   "update",
                                        "--init", "--recursive", "--force"};
        if (depth_) update.push_back("--depth=" + std::to_string(*depth_));
        co_await git(dir, std::move(update));
    }

    // A bare mirror on the worker, created once, fetched before each checkout.
    asio::awaitable<void> update_mirror() {
        const bool has_mirror = co_await exists(context_.worker_path(mirror_, "HEAD"));
        if (has_mirror) {
            {
                std::vector<std::string> command{"git", "fetch", "--prune", "origin"};
                co_await git(mirror_, std::move(command));
            }
        } else {
            co_await remove_dir(mirror_);
            {
                std::vector<std::string> command{"git", "clone", "--mirror", repourl_, mirror_};
                co_await git(builddir_, std::move(command));
            }
        }
    }

    // After a failed attempt: waits and returns when another attempt should be made,
    // rethrows the failure when not.
    asio::awaitable<void> before_retry(std::int64_t tries, GitFailed failure) {
        if (failure.results != Results::failure || tries >= retry_count_ || context_.is_stopping())
            throw failure;
        stdio_.add('h', "retrying in " + std::to_string(retry_delay_) + " s (" +
                            std::to_string(retry_count_ - tries) + " left)\n");
        co_await stdio_.flush();
        asio::steady_timer timer(co_await asio::this_coro::executor);
        timer.expires_after(std::chrono::seconds(retry_delay_));
        co_await timer.async_wait(asio::use_awaitable);
    }

    asio::awaitable<bool> exists(std::string path) {
        protocol::Map args;
        args.emplace_back("path", path);
        process::RemoteCommand command;
        command.name = "stat";
        command.args = std::move(args);
        auto result = co_await context_.run_command(std::move(command));
        co_return result.is_success();
    }

    asio::awaitable<void> remove_dir(std::string dir) {
        protocol::Map args;
        protocol::Array paths;
        paths.emplace_back(dir);
        args.emplace_back("paths", std::move(paths));
        args.emplace_back("logEnviron", false);
        args.emplace_back("timeout", timeout_);
        co_await simple("rmdir", std::move(args), "rmdir " + dir);
    }

    asio::awaitable<void> copy_dir(std::string from, std::string to) {
        protocol::Map args;
        args.emplace_back("from_path", from);
        args.emplace_back("to_path", to);
        args.emplace_back("logEnviron", false);
        args.emplace_back("timeout", timeout_);
        co_await simple("cpdir", std::move(args), "cpdir " + from + " " + to);
    }

    asio::awaitable<void> simple(std::string name, protocol::Map args, std::string what) {
        process::RemoteCommand command;
        command.name = std::move(name);
        command.args = std::move(args);
        command.observer = &observer_;
        auto result = co_await context_.run_command(std::move(command));
        check(result, what);
    }

    asio::awaitable<void> git(std::string dir, std::vector<std::string> argv) {
        std::string what;
        boost::json::array command;
        for (const auto& word : argv) {
            what += (what.empty() ? "" : " ") + word;
            command.emplace_back(word);
        }
        protocol::Map remote;
        remote.emplace_back("workdir", dir);
        const boost::json::value env =
            env_.is_object() ? env_ : boost::json::value(boost::json::object{});
        remote.emplace_back("env", process::to_protocol(env));
        remote.emplace_back("want_stdout", true);
        remote.emplace_back("want_stderr", true);
        remote.emplace_back("logfiles", protocol::Map{});
        remote.emplace_back("timeout", timeout_);
        remote.emplace_back("maxTime", protocol::Value());
        remote.emplace_back("sigtermTime", protocol::Value());
        remote.emplace_back("usePTY", false);
        remote.emplace_back("logEnviron", false);
        remote.emplace_back("initial_stdin", protocol::Value());
        remote.emplace_back("interruptSignal", "KILL");
        const boost::json::value command_value(std::move(command));
        remote.emplace_back("command", process::to_protocol(command_value));
        process::RemoteCommand remote_command;
        remote_command.name = "shell";
        remote_command.args = std::move(remote);
        remote_command.observer = &observer_;
        auto result = co_await context_.run_command(std::move(remote_command));
        check(result, what);
    }

    void check(const process::CommandResult& result, const std::string& what) const {
        if (result.was_interrupted) throw GitFailed{Results::cancelled, what};
        if (!result.was_started || result.failure)
            throw GitFailed{Results::exception, what + ": " + result.failure.value_or("failed")};
        if (result.rc.value_or(-1) != 0) throw GitFailed{Results::failure, what};
    }

    process::StepContext& context_;
    const StepArgs& args_;
    process::LogWriter& stdio_;
    GitObserver& observer_;
    std::string repourl_, mode_, method_, branch_, mirror_, builddir_, workdir_, got_revision_;
    std::optional<std::string> revision_;
    std::optional<data::Patch> patch_;
    std::optional<std::int64_t> depth_;
    bool submodules_ = false;
    std::int64_t timeout_ = 1200;
    std::int64_t retry_delay_ = 0, retry_count_ = 0;
    boost::json::value env_;
};

}  // namespace

GitStep::GitStep(process::StepOptions options, StepArgs::Map args)
    : BuildStep(std::move(options))
    , args_(std::move(args)) {}

std::string GitStep::description(const core::Properties&) const { return "updating"; }

asio::awaitable<process::StepOutcome> GitStep::run(process::StepContext& context) {
    StepArgs args(options().name, args_, context.properties());
    auto log = co_await context.add_log("stdio", "s");
    process::LogWriter stdio(context, log.logid, true);
    GitObserver observer(stdio);
    GitRun git_run(context, args, stdio, observer);
    // The source stamp of the step's codebase (k.git builds codebase ""): a patch on it is
    // applied after the checkout.
    const std::string codebase;
    auto stamps = co_await context.sourcestamps();
    for (auto& stamp : stamps) {
        if (stamp.codebase != codebase || !stamp.patch) continue;
        auto patch_log = co_await context.add_log("patch", "t");
        auto text = utf8_only(stamp.patch->body);
        if (!text.empty() && text.back() != '\n') text += '\n';
        co_await context.finish_log(patch_log.logid, std::move(text));
        git_run.set_patch(std::move(stamp.patch));
    }
    process::StepOutcome outcome;
    outcome.summary = "update";
    std::optional<GitFailed> failure;
    std::exception_ptr error;
    try {
        co_await git_run.run();
    } catch (const GitFailed& failed) {
        failure = failed;
    } catch (...) {
        error = std::current_exception();
    }
    if (failure && failure->results == Results::exception) stdio.add('h', failure->what + "\n");
    if (!context.worker().is_lost()) co_await stdio.finish();
    if (error) std::rethrow_exception(error);
    if (failure) outcome.results = failure->results;
    co_return outcome;
}

}  // namespace kiln::steps
