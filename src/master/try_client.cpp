// SPDX-License-Identifier: Apache-2.0
#include "master/try_client.hpp"

#include "core/base64.hpp"
#include "io/http_client.hpp"

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/system/system_error.hpp>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace kiln::master {

namespace {

namespace fs = std::filesystem;

core::Error bad(std::string message) {
    return core::Error{core::ErrorKind::bad_input, std::move(message)};
}

// Runs the program (argv[0] looked up on PATH; no shell) in `dir` with `extra_env` added to
// the environment; returns its standard output (at most max_bytes, else an error) when it
// exits 0. Its standard error goes to ours, so git's own messages reach the user.
core::Expected<std::string> run_program(const std::vector<std::string>& argv,
                                        const std::string& dir,
                                        const std::vector<std::string>& extra_env,
                                        std::size_t max_bytes) {
    std::array<int, 2> pipe_ends{};
    if (::pipe2(pipe_ends.data(), O_CLOEXEC) != 0)
        return bad(std::string("pipe: ") + std::strerror(errno));
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, pipe_ends[1], STDOUT_FILENO);
    posix_spawn_file_actions_addchdir_np(&actions, dir.c_str());
    std::vector<char*> args;
    for (const auto& word : argv)
        args.push_back(const_cast<char*>(word.c_str()));
    args.push_back(nullptr);
    std::vector<std::string> environment_text;
    for (char** entry = environ; entry && *entry; ++entry)
        environment_text.emplace_back(*entry);
    environment_text.insert(environment_text.end(), extra_env.begin(), extra_env.end());
    std::vector<char*> environment;
    for (auto& entry : environment_text)
        environment.push_back(entry.data());
    environment.push_back(nullptr);
    pid_t pid = 0;
    const int spawned =
        ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environment.data());
    posix_spawn_file_actions_destroy(&actions);
    ::close(pipe_ends[1]);
    if (spawned != 0) {
        ::close(pipe_ends[0]);
        return bad("cannot run " + argv[0] + ": " + std::strerror(spawned));
    }
    std::string output;
    bool is_too_large = false;
    std::array<char, 65536> buffer{};
    for (;;) {
        const auto got = ::read(pipe_ends[0], buffer.data(), buffer.size());
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        if (output.size() + static_cast<std::size_t>(got) > max_bytes) {
            is_too_large = true;
            break;
        }
        output.append(buffer.data(), static_cast<std::size_t>(got));
    }
    ::close(pipe_ends[0]);  // a child still writing gets SIGPIPE
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    std::string line;
    for (const auto& word : argv)
        line += (line.empty() ? "" : " ") + word;
    if (is_too_large)
        return bad(line + ": the output is larger than " + std::to_string(max_bytes) + " bytes");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return bad(line + " failed" +
                   (WIFEXITED(status) ? " (exit code " + std::to_string(WEXITSTATUS(status)) + ")"
                                      : std::string(" (killed)")));
    return output;
}

std::string first_line(std::string text) {
    const auto end = text.find_first_of("\r\n");
    if (end != std::string::npos) text.resize(end);
    return text;
}

core::Expected<std::string> git_line(const std::string& dir, std::vector<std::string> args) {
    args.insert(args.begin(), "git");
    auto output = run_program(args, dir, {}, 64 * 1024);
    if (!output) return output.error();
    return first_line(std::move(output.value()));
}

// Authorization header value, or an error for a malformed --auth.
core::Expected<std::optional<std::string>> authorization(const TryOptions& options) {
    if (options.auth && options.token) return bad("--auth and --token cannot both be given");
    if (options.auth) {
        if (options.auth->find(':') == std::string::npos)
            return bad("--auth: expected USER:PASSWORD");
        return std::optional<std::string>("Basic " + core::base64_encode(*options.auth));
    }
    if (options.token) return std::optional<std::string>("Bearer " + *options.token);
    return bad("give --auth USER:PASSWORD or --token TOKEN (try jobs need a user)");
}

struct Answer {
    int status = 0;
    std::string body;
};

// One request to the master; throws boost::system::system_error when it cannot be reached.
Answer call(const io::HttpUrl& base, const std::optional<std::string>& auth, std::string method,
            std::string path, std::string body) {
    io::HttpClientRequest request;
    request.method = std::move(method);
    request.host = base.host;
    request.port = base.port;
    auto prefix = base.path.substr(0, base.path.find('?'));
    if (prefix.empty() || prefix.back() != '/') prefix += '/';
    request.target = prefix + path;
    request.headers.push_back({"Accept", "application/json"});
    if (!body.empty()) request.headers.push_back({"Content-Type", "application/json"});
    if (auth) request.headers.push_back({"Authorization", *auth});
    request.body = std::move(body);
    request.timeout = std::chrono::seconds(120);
    request.max_response_bytes = 16 * 1024 * 1024;
    auto response = io::http_request_blocking(std::move(request));
    return Answer{response.status, std::move(response.body)};
}

// The first entity of a REST answer ({"<kind>": [entity], "meta": ...}).
std::optional<boost::json::object> first_entity(const std::string& body, std::string_view kind) {
    boost::system::error_code ec;
    auto value = boost::json::parse(body, ec);
    if (ec || !value.is_object()) return std::nullopt;
    const auto* list = value.get_object().if_contains(kind);
    if (!list || !list->is_array() || list->get_array().empty()) return std::nullopt;
    const auto& first = list->get_array().front();
    if (!first.is_object()) return std::nullopt;
    return first.get_object();
}

std::string result_name(std::int64_t results) {
    static constexpr std::array<const char*, 8> kNames = {
        "success", "warnings", "failure", "skipped", "exception", "retry", "cancelled", "unknown"};
    if (results < 0 || results >= static_cast<std::int64_t>(kNames.size())) return "unknown";
    return kNames[static_cast<std::size_t>(results)];
}

// The master's refusal in one line: a JSON-RPC error's message (or its fields), else the body.
std::string refusal_text(const Answer& answer) {
    boost::system::error_code ec;
    auto value = boost::json::parse(answer.body, ec);
    if (!ec && value.is_object()) {
        const auto* error = value.get_object().if_contains("error");
        if (error && error->is_object())
            if (const auto* message = error->get_object().if_contains("message")) {
                if (message->is_string()) return std::string(message->get_string());
                if (message->is_object()) {
                    std::string text;
                    for (const auto& [field, what] : message->get_object())
                        text += (text.empty() ? "" : "; ") + std::string(field) + ": " +
                                (what.is_string() ? std::string(what.get_string())
                                                  : boost::json::serialize(what));
                    return text;
                }
            }
    }
    auto text = answer.body;
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
        text.pop_back();
    return text;
}

// Waits for the buildset, then prints each request's builder, result and build link.
int wait_for(const io::HttpUrl& base, const std::string& master_url,
             const std::optional<std::string>& auth, std::int64_t bsid,
             const std::map<std::int64_t, std::int64_t>& request_by_builder, std::ostream& out,
             std::ostream& err) {
    out << "waiting for the builds..." << std::endl;
    for (;;) {
        auto answer = call(base, auth, "GET", "api/v2/buildsets/" + std::to_string(bsid), "");
        if (answer.status != 200) {
            err << "kiln try: reading buildset " << bsid << ": the master answered "
                << answer.status << ": " << refusal_text(answer) << "\n";
            return 1;
        }
        auto buildset = first_entity(answer.body, "buildsets");
        if (buildset) {
            const auto* complete = buildset->if_contains("complete");
            if (complete && complete->is_bool() && complete->get_bool()) break;
        }
        std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    bool all_good = true;
    auto link_base = master_url;
    if (link_base.empty() || link_base.back() != '/') link_base += '/';
    for (const auto& [builderid, brid] : request_by_builder) {
        std::string builder = "builder " + std::to_string(builderid);
        auto builder_answer =
            call(base, auth, "GET", "api/v2/builders/" + std::to_string(builderid), "");
        if (auto entity = first_entity(builder_answer.body, "builders"))
            if (const auto* name = entity->if_contains("name"); name && name->is_string())
                builder = std::string(name->get_string());
        std::int64_t results = -1;
        auto request_answer =
            call(base, auth, "GET", "api/v2/buildrequests/" + std::to_string(brid), "");
        if (auto entity = first_entity(request_answer.body, "buildrequests"))
            if (const auto* value = entity->if_contains("results"); value && value->is_int64())
                results = value->get_int64();
        // The request's last build (a retried build has several).
        std::string link;
        auto builds_answer = call(
            base, auth, "GET",
            "api/v2/builds?buildrequestid=" + std::to_string(brid) + "&order=-buildid&limit=1", "");
        if (auto build = first_entity(builds_answer.body, "builds")) {
            const auto* number = build->if_contains("number");
            if (number && number->is_int64())
                link = link_base + "#/builders/" + std::to_string(builderid) + "/builds/" +
                       std::to_string(number->get_int64());
        }
        const bool good = results == 0 || results == 1;
        all_good = all_good && good;
        out << builder << ": " << result_name(results);
        if (!link.empty()) out << "  " << link;
        out << "\n";
    }
    return all_good ? 0 : 1;
}

}  // namespace

core::Expected<std::string> try_request_body(const TryOptions& options, const TryPatch& patch) {
    if (options.builders.empty()) return bad("give at least one --builder");
    if (options.patch_level < 0 || options.patch_level > 100)
        return bad("--patchlevel must be from 0 to 100");
    if (patch.diff.size() > kMaxTryDiffBytes)
        return bad("the diff is " + std::to_string(patch.diff.size()) +
                   " bytes, more than the limit of " + std::to_string(kMaxTryDiffBytes));
    boost::json::object params;
    params["builderNames"] = boost::json::array(options.builders.begin(), options.builders.end());
    if (!patch.baserev.empty()) params["baserev"] = patch.baserev;
    if (patch.branch) params["branch"] = *patch.branch;
    if (options.repository) params["repository"] = *options.repository;
    if (options.project) params["project"] = *options.project;
    if (options.who) params["who"] = *options.who;
    if (options.comment) params["comment"] = *options.comment;
    params["patch_level"] = options.patch_level;
    params["patch_body_base64"] = core::base64_encode(patch.diff);
    if (!options.properties.empty()) {
        boost::json::object properties;
        for (const auto& property : options.properties) {
            const auto split = property.find('=');
            if (split == std::string::npos || split == 0)
                return bad("--property '" + property + "': expected NAME=VALUE");
            properties[property.substr(0, split)] = property.substr(split + 1);
        }
        params["properties"] = std::move(properties);
    }
    boost::json::object body;
    body["jsonrpc"] = "2.0";
    body["method"] = "try";
    body["id"] = 1;
    body["params"] = std::move(params);
    return boost::json::serialize(body);
}

core::Expected<TryPatch> git_try_patch(const TryOptions& options) {
    auto top = git_line(options.dir, {"rev-parse", "--show-toplevel"});
    if (!top)
        return bad(options.dir + " is not in a git working copy (" + top.error().message + ")");
    const auto& dir = top.value();
    TryPatch patch;

    // The upstream of the current branch: its name on the remote, and the merge-base.
    std::optional<std::string> upstream_branch;
    if (auto local = git_line(dir, {"symbolic-ref", "--quiet", "--short", "HEAD"}); local) {
        if (auto merge = git_line(dir, {"config", "--get", "branch." + local.value() + ".merge"});
            merge && merge.value().starts_with("refs/heads/"))
            upstream_branch = merge.value().substr(std::string_view("refs/heads/").size());
    }
    if (options.baserev) {
        auto resolved = git_line(
            dir, {"rev-parse", "--verify", "--end-of-options", *options.baserev + "^{commit}"});
        if (!resolved) return bad("--baserev " + *options.baserev + " is not a commit here");
        patch.baserev = resolved.value();
    } else {
        auto base = git_line(dir, {"merge-base", "HEAD", "@{upstream}"});
        if (!base)
            return bad("the current branch has no upstream (or no common history with it): "
                       "give --baserev (and --branch)");
        patch.baserev = base.value();
    }
    patch.branch = options.branch ? options.branch : upstream_branch;

    std::vector<std::string> diff{
        "git",           "diff",          "--binary",        "--no-color",
        "--no-textconv", "--no-ext-diff", "--src-prefix=a/", "--dst-prefix=b/"};
    std::vector<std::string> environment;
    std::optional<fs::path> temporary_index;
    if (options.untracked) {
        // A copy of the index with every file added: the diff then shows new files too, and
        // the user's own index stays as it was.
        auto index = git_line(dir, {"rev-parse", "--path-format=absolute", "--git-path", "index"});
        if (!index) return index.error();
        std::string pattern = (fs::temp_directory_path() / "kiln-try-index-XXXXXX").string();
        const int fd = ::mkstemp(pattern.data());
        if (fd < 0) return bad(std::string("mkstemp: ") + std::strerror(errno));
        ::close(fd);
        temporary_index = pattern;
        std::error_code ec;
        if (fs::exists(index.value(), ec))
            fs::copy_file(index.value(), *temporary_index, fs::copy_options::overwrite_existing,
                          ec);
        else
            fs::remove(*temporary_index, ec);
        if (ec) return bad("cannot copy the index: " + ec.message());
        environment.push_back("GIT_INDEX_FILE=" + temporary_index->string());
        auto added = run_program({"git", "add", "--all", "--", "."}, dir, environment, 1024 * 1024);
        if (!added) {
            fs::remove(*temporary_index, ec);
            return added.error();
        }
        diff.emplace_back("--cached");
    }
    diff.push_back(patch.baserev);
    diff.emplace_back("--");
    auto text = run_program(diff, dir, environment, kMaxTryDiffBytes);
    if (temporary_index) {
        std::error_code ec;
        fs::remove(*temporary_index, ec);
    }
    if (!text) return text.error();
    patch.diff = std::move(text.value());
    return patch;
}

int run_try(const TryOptions& options, std::ostream& out, std::ostream& err) {
    auto url = io::parse_http_url(options.master);
    if (!url) {
        err << "kiln try: --master: " << url.error().message << "\n";
        return 2;
    }
    auto auth = authorization(options);
    if (!auth) {
        err << "kiln try: " << auth.error().message << "\n";
        return 2;
    }
    auto patch = git_try_patch(options);
    if (!patch) {
        err << "kiln try: " << patch.error().message << "\n";
        return 2;
    }
    auto body = try_request_body(options, patch.value());
    if (!body) {
        err << "kiln try: " << body.error().message << "\n";
        return 2;
    }
    if (patch.value().diff.empty())
        out << "no local changes: the builds use base revision " << patch.value().baserev << "\n";
    Answer answer;
    try {
        answer = call(url.value(), auth.value(), "POST",
                      "api/v2/tryschedulers/" + options.scheduler, std::move(body.value()));
    } catch (const boost::system::system_error& failure) {
        err << "kiln try: " << failure.what() << "\n";
        return 1;
    }
    boost::system::error_code ec;
    auto reply = boost::json::parse(answer.body, ec);
    const boost::json::value* result = nullptr;
    if (!ec && reply.is_object()) result = reply.get_object().if_contains("result");
    if (answer.status != 200 || !result || !result->is_array() || result->get_array().size() != 2 ||
        !result->get_array()[0].is_int64() || !result->get_array()[1].is_object()) {
        err << "kiln try: the master answered " << answer.status << ": " << refusal_text(answer)
            << "\n";
        return 1;
    }
    const auto bsid = result->get_array()[0].get_int64();
    std::map<std::int64_t, std::int64_t> request_by_builder;
    for (const auto& [builderid, brid] : result->get_array()[1].get_object()) {
        if (!brid.is_int64()) continue;
        try {
            request_by_builder[std::stoll(std::string(builderid))] = brid.get_int64();
        } catch (const std::exception&) {
        }
    }
    out << "try job submitted: buildset " << bsid << " (base " << patch.value().baserev;
    if (patch.value().branch) out << " on " << *patch.value().branch;
    out << ", " << patch.value().diff.size() << " bytes of diff)\n";
    if (!options.wait) return 0;
    try {
        return wait_for(url.value(), options.master, auth.value(), bsid, request_by_builder, out,
                        err);
    } catch (const boost::system::system_error& failure) {
        err << "kiln try: " << failure.what() << "\n";
        return 1;
    }
}

}  // namespace kiln::master
