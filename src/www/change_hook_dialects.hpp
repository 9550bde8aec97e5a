// SPDX-License-Identifier: Apache-2.0
// The change hook dialects (rest-api.md §10): each turns one webhook request into the changes
// it reports, or into the reason it is refused (answered 400 with that reason). They only
// read the request: nothing is stored here.
//   base    Buildbot's form/query parameters (author or who, comments, revision, branch,
//           files as JSON text, properties as JSON text, when_timestamp, ...), or the same keys
//           in a JSON object body.
//   github  X-GitHub-Event push, pull_request, ping; signatures X-Hub-Signature-256
//           (HMAC-SHA256) and X-Hub-Signature (HMAC-SHA1), compared in constant time.
//   gitlab  push, tag_push, merge_request and note events; X-Gitlab-Token.
#pragma once

#include "config/master_config.hpp"
#include "core/expected.hpp"
#include "data/changes.hpp"
#include "io/http_server.hpp"

#include <vector>

namespace kiln::www {

using HookChanges = core::Expected<std::vector<data::NewChange>>;

HookChanges parse_base_hook(const io::HttpRequest& request);
HookChanges parse_github_hook(const io::HttpRequest& request,
                              const config::GitHubHookConfig& config);
HookChanges parse_gitlab_hook(const io::HttpRequest& request,
                              const config::GitLabHookConfig& config);

}  // namespace kiln::www
