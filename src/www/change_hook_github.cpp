// SPDX-License-Identifier: Apache-2.0
// The github dialect (rest-api.md §10.2): push, pull_request and ping events of GitHub
// webhooks, signed with the configured secret. Unlike Buildbot 3.7, which knows only the SHA-1
// X-Hub-Signature, Kiln checks X-Hub-Signature-256 too (GitHub sends both), and makes pull
// request changes from the payload alone (no GitHub API calls: files stay empty).
#include "www/change_hook_dialects.hpp"
#include "www/crypto.hpp"
#include "www/detail/hook_payload.hpp"
#include "www/detail/http.hpp"

#include <regex>

#include <boost/json/object.hpp>

#include <fnmatch.h>

namespace kiln::www {

namespace {

core::Error bad(std::string message) {
    return core::Error{core::ErrorKind::bad_input, std::move(message)};
}

std::string lower_hex(std::string_view text) {
    std::string out(text);
    for (auto& c : out)
        if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

// Checks one "<algorithm>=<hex>" signature header against the body.
core::Expected<void> check_signature(std::string_view header, std::string_view wanted_algorithm,
                                     const std::string& secret, std::string_view body) {
    const auto equals = header.find('=');
    if (equals == std::string_view::npos || header.find('=', equals + 1) != std::string_view::npos)
        return bad("Wrong signature format: " + std::string(header.substr(0, 80)));
    const auto algorithm = header.substr(0, equals);
    if (algorithm != wanted_algorithm)
        return bad("Unknown hash type: " + std::string(algorithm.substr(0, 20)));
    const auto mac = algorithm == "sha256" ? hmac_sha256(secret, body) : hmac_sha1(secret, body);
    if (!constant_time_equal(to_hex(mac), lower_hex(header.substr(equals + 1))))
        return bad("Hash mismatch");
    return {};
}

// Both headers are checked when both are present; without a secret nothing is checked.
core::Expected<void> check_signatures(const io::HttpRequest& request,
                                      const config::GitHubHookConfig& config) {
    const auto sha256 = request.header("X-Hub-Signature-256");
    const auto sha1 = request.header("X-Hub-Signature");
    if (!sha256 && !sha1 && config.strict) return bad("Request has no required signature");
    if (!config.secret) return {};
    if (sha256)
        if (auto checked = check_signature(*sha256, "sha256", *config.secret, request.body);
            !checked)
            return checked;
    if (sha1)
        if (auto checked = check_signature(*sha1, "sha1", *config.secret, request.body); !checked)
            return checked;
    return {};
}

core::Expected<boost::json::value> payload_of(const io::HttpRequest& request) {
    const auto type = detail::media_type(request);
    if (type == "application/json") return detail::parse_json_body(request.body);
    if (type == "application/x-www-form-urlencoded") {
        auto arguments = detail::hook_arguments(request);
        if (!arguments) return arguments.error();
        auto payload = detail::first(*arguments, "payload");
        if (!payload) return bad("the form has no 'payload' field");
        return detail::parse_json_body(*payload);
    }
    return bad("Unknown content type: " + type.substr(0, 80));
}

bool has_skip(const std::string& message, const config::GitHubHookConfig& config) {
    for (const auto& skip : config.skips)
        if (std::regex_search(message, std::regex(skip))) return true;
    return false;
}

// Buildbot's extractProperties: the payload's keys flattened as "github.a.b"; the values whose
// name matches a whitelisted glob.
void whitelisted(const boost::json::object& object, const std::string& base,
                 const config::GitHubHookConfig& config, boost::json::object& properties) {
    for (const auto& [key, value] : object) {
        const auto name = base + "." + std::string(key);
        if (const auto* inner = value.if_object()) {
            whitelisted(*inner, name, config, properties);
            continue;
        }
        for (const auto& glob : config.github_property_whitelist)
            if (::fnmatch(glob.c_str(), name.c_str(), 0) == 0) {
                properties[name] = value;
                break;
            }
    }
}

HookChanges push_changes(const boost::json::value& payload,
                         const config::GitHubHookConfig& config) {
    detail::PayloadReader read;
    std::vector<data::NewChange> changes;
    const auto ref = read.string(payload, "ref");
    const auto repository = read.string(payload, "repository.html_url");
    const auto project = read.string(payload, "repository.full_name");
    if (read.has_failed()) return read.error();
    static const std::regex kRef{"^refs/(heads|tags)/(.+)$"};
    std::smatch match;
    if (!std::regex_match(ref, match, kRef)) return changes;  // not a branch or tag
    if (read.boolean_or(payload, "deleted", false)) return changes;
    const bool is_tag = match[1].str() == "tags";
    const auto branch = match[2].str();
    const auto* head = detail::PayloadReader::find(payload, "head_commit");
    if (head && head->is_object() &&
        has_skip(read.optional_string(*head, "message").value_or(""), config))
        return changes;

    boost::json::object extra;
    if (!config.github_property_whitelist.empty() && payload.is_object())
        whitelisted(payload.get_object(), "github", config, extra);
    std::vector<const boost::json::value*> commits;
    if (read.boolean_or(payload, "created", false) && head && head->is_object()) {
        commits.push_back(head);
    } else {
        for (const auto& commit : read.array(payload, "commits"))
            commits.push_back(&commit);
    }
    for (const auto* commit : commits) {
        data::NewChange change;
        change.author = read.person(*commit, "author");
        if (detail::PayloadReader::find(*commit, "committer"))
            change.committer = read.person(*commit, "committer");
        for (const char* kind : {"added", "modified", "removed"})
            for (auto& file : read.strings(*commit, kind))
                change.files.push_back(std::move(file));
        change.comments = read.string(*commit, "message");
        change.revision = read.string(*commit, "id");
        change.when_timestamp = read.time(*commit, "timestamp");
        change.branch = branch;
        change.revlink = read.optional_string(*commit, "url");
        change.repository = repository;
        change.project = project;
        if (is_tag) change.category = "tag";
        change.codebase = config.codebase;
        change.properties["github_distinct"] = read.boolean_or(*commit, "distinct", true);
        change.properties["event"] = "push";
        for (const auto& [name, value] : extra)
            change.properties[name] = value;
        if (read.has_failed()) return read.error();
        changes.push_back(std::move(change));
    }
    return changes;
}

HookChanges pull_request_changes(const boost::json::value& payload,
                                 const config::GitHubHookConfig& config) {
    detail::PayloadReader read;
    std::vector<data::NewChange> changes;
    const auto action = read.string(payload, "action");
    const auto number = read.integer(payload, "number");
    if (read.has_failed()) return read.error();
    if (action != "opened" && action != "reopened" && action != "synchronize") return changes;
    const auto* pull = detail::PayloadReader::find(payload, "pull_request");
    if (!pull || !pull->is_object()) return bad("payload: 'pull_request' is missing");
    data::NewChange change;
    change.revision = read.string(*pull, "head.sha");
    change.when_timestamp = read.time(*pull, "created_at");
    change.branch = "refs/pull/" + std::to_string(number) + "/" + config.pullrequest_ref;
    change.revlink = read.optional_string(*pull, "_links.html.href");
    if (!change.revlink) change.revlink = read.optional_string(*pull, "html_url");
    change.repository = read.string(payload, "repository.html_url");
    change.project = read.string(*pull, "base.repo.full_name");
    change.category = "pull";
    change.author = read.string(payload, "sender.login");
    const auto commits = read.integer(*pull, "commits");
    const auto title = read.optional_string(*pull, "title").value_or("");
    const auto body = read.optional_string(*pull, "body").value_or("");
    change.comments = "GitHub Pull Request #" + std::to_string(number) + " (" +
                      std::to_string(commits) + " commit" + (commits == 1 ? "" : "s") + ")\n" +
                      title + "\n" + body;
    change.codebase = config.codebase;
    if (!config.github_property_whitelist.empty())
        whitelisted(pull->get_object(), "github", config, change.properties);
    change.properties["pullrequesturl"] = read.optional_string(*pull, "html_url").value_or("");
    change.properties["event"] = "pull_request";
    change.properties["basename"] = read.string(*pull, "base.ref");
    if (read.has_failed()) return read.error();
    changes.push_back(std::move(change));
    return changes;
}

}  // namespace

HookChanges parse_github_hook(const io::HttpRequest& request,
                              const config::GitHubHookConfig& config) {
    if (auto signed_ok = check_signatures(request, config); !signed_ok) return signed_ok.error();
    auto payload = payload_of(request);
    if (!payload) return payload.error();
    const auto event = std::string(request.header("X-GitHub-Event").value_or(""));
    if (event == "ping" || event == "workflow_run") return std::vector<data::NewChange>{};
    if (!payload->is_object()) return bad("payload: must be a JSON object");
    if (event == "push") return push_changes(*payload, config);
    if (event == "pull_request") return pull_request_changes(*payload, config);
    return bad("Unknown event: " + event.substr(0, 80));
}

}  // namespace kiln::www
