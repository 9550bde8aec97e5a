// SPDX-License-Identifier: Apache-2.0
// The gitlab dialect (rest-api.md §10.3): push, tag_push, merge_request and note (on merge
// requests) events of GitLab webhooks, with the X-Gitlab-Token secret. The event is the
// payload's object_kind, else the X-Gitlab-Event header; ?codebase= names the codebase.
#include "www/change_hook_dialects.hpp"
#include "www/crypto.hpp"
#include "www/detail/hook_payload.hpp"
#include "www/detail/http.hpp"

#include <regex>

#include <boost/json/object.hpp>

namespace kiln::www {

namespace {

core::Error bad(std::string message) {
    return core::Error{core::ErrorKind::bad_input, std::move(message)};
}

HookChanges push_changes(const boost::json::value& payload, const std::string& event,
                         const std::string& codebase) {
    detail::PayloadReader read;
    std::vector<data::NewChange> changes;
    const auto ref = read.string(payload, "ref");
    const auto project = read.string(payload, "repository.name");
    const auto repository = read.string(payload, "repository.url");
    if (read.has_failed()) return read.error();
    static const std::regex kRef{"^refs/(heads|tags)/(.+)$"};
    std::smatch match;
    if (!std::regex_match(ref, match, kRef)) return changes;
    // A deleted branch or tag: "after" is all zeros and there are no commits.
    if (read.boolean_or(payload, "deleted", false) ||
        read.optional_string(payload, "after") == std::string(40, '0'))
        return changes;
    const auto branch = match[2].str();
    for (const auto& commit : read.array(payload, "commits")) {
        if (!read.boolean_or(commit, "distinct", true)) continue;
        data::NewChange change;
        change.author = read.person(commit, "author");
        for (const char* kind : {"added", "modified", "removed"})
            for (auto& file : read.strings(commit, kind))
                change.files.push_back(std::move(file));
        change.comments = read.string(commit, "message");
        change.revision = read.string(commit, "id");
        change.when_timestamp = read.time(commit, "timestamp");
        change.branch = branch;
        change.revlink = read.optional_string(commit, "url");
        change.repository = repository;
        change.project = project;
        change.category = event;
        change.codebase = codebase;
        change.properties["event"] = event;
        if (read.has_failed()) return read.error();
        changes.push_back(std::move(change));
    }
    return changes;
}

// The change of a merge request (`request`: object_attributes of a merge_request event, or the
// merge_request of a note event); `comments` is the note's text, if any.
HookChanges merge_request_change(const boost::json::value& request, const std::string& event,
                                 const std::string& codebase,
                                 const std::optional<std::string>& note) {
    detail::PayloadReader read;
    data::NewChange change;
    const auto iid = read.integer(request, "iid");
    change.author = read.person(request, "last_commit.author");
    change.comments = "MR#" + std::to_string(iid) + ": " + read.string(request, "title") + "\n\n" +
                      read.optional_string(request, "description").value_or("");
    change.revision = read.string(request, "last_commit.id");
    change.when_timestamp = read.time(request, "last_commit.timestamp");
    change.branch = read.string(request, "target_branch");
    change.repository = read.string(request, "target.git_http_url");
    change.project = read.string(request, "target.name");
    change.category = event;
    change.revlink = read.optional_string(request, "url");
    change.codebase = codebase;
    auto& properties = change.properties;
    properties["source_branch"] = read.string(request, "source_branch");
    properties["source_project_id"] = read.integer(request, "source_project_id");
    properties["source_repository"] = read.string(request, "source.git_http_url");
    properties["source_git_ssh_url"] = read.string(request, "source.git_ssh_url");
    properties["target_branch"] = read.string(request, "target_branch");
    properties["target_project_id"] = read.integer(request, "target_project_id");
    properties["target_repository"] = read.string(request, "target.git_http_url");
    properties["target_git_ssh_url"] = read.string(request, "target.git_ssh_url");
    properties["event"] = event;
    if (note) properties["comments"] = *note;
    if (read.has_failed()) return read.error();
    std::vector<data::NewChange> changes;
    changes.push_back(std::move(change));
    return changes;
}

HookChanges merge_request_changes(const boost::json::value& payload, const std::string& event,
                                  const std::string& codebase) {
    detail::PayloadReader read;
    const auto* attributes = detail::PayloadReader::find(payload, "object_attributes");
    if (!attributes || !attributes->is_object())
        return bad("payload: 'object_attributes' is missing");
    const auto state = read.string(*attributes, "state");
    const auto action = read.optional_string(*attributes, "action").value_or("");
    if (read.has_failed()) return read.error();
    // Closed, merged or approved requests, and updates that added no code, build nothing.
    if (state == "closed" || state == "merged" || state == "approved")
        return std::vector<data::NewChange>{};
    const bool added_code = action == "update" && attributes->get_object().contains("oldrev");
    if (action != "open" && action != "reopen" && !added_code)
        return std::vector<data::NewChange>{};
    return merge_request_change(*attributes, event, codebase, std::nullopt);
}

HookChanges note_changes(const boost::json::value& payload, const std::string& event,
                         const std::string& codebase) {
    const auto* request = detail::PayloadReader::find(payload, "merge_request");
    if (!request || !request->is_object()) return std::vector<data::NewChange>{};
    detail::PayloadReader read;
    auto note = read.optional_string(payload, "object_attributes.note");
    if (read.has_failed()) return read.error();
    return merge_request_change(*request, event, codebase, note.value_or(""));
}

}  // namespace

HookChanges parse_gitlab_hook(const io::HttpRequest& request,
                              const config::GitLabHookConfig& config) {
    if (config.secret) {
        const auto token = request.header("X-Gitlab-Token").value_or("");
        if (!constant_time_equal(token, *config.secret)) return bad("Invalid secret");
    }
    auto payload = detail::parse_json_body(request.body);
    if (!payload) return payload.error();
    if (!payload->is_object()) return bad("payload: must be a JSON object");
    std::string event(request.header("X-Gitlab-Event").value_or(""));
    if (const auto* kind = payload->get_object().if_contains("object_kind");
        kind && kind->is_string())
        event = kind->get_string();
    auto arguments = detail::hook_arguments(request);
    if (!arguments) return arguments.error();
    const auto codebase = detail::first(*arguments, "codebase").value_or(config.codebase);
    if (event == "push" || event == "tag_push" || event == "Push Hook")
        return push_changes(*payload, event, codebase);
    if (event == "merge_request") return merge_request_changes(*payload, event, codebase);
    if (event == "note") return note_changes(*payload, event, codebase);
    return bad("Unknown event: " + event.substr(0, 80));
}

}  // namespace kiln::www
