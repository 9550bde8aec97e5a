// SPDX-License-Identifier: Apache-2.0
// `kiln try`: sends the uncommitted change of a git working copy to a master's try scheduler
// (POST /api/v2/tryschedulers/<name>, JSON-RPC "try"; docs/decisions/0014-try.md), as
// Buildbot's `buildbot try --connect=pb` does. The base revision is the merge-base of HEAD and
// the branch's upstream (or --baserev); the diff is `git diff --binary <base>` of the working
// tree, untracked files included (through a temporary index: the user's index is untouched).
// With --wait it follows the builds and exits 0 only when every one succeeded.
#pragma once

#include "core/expected.hpp"

#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace kiln::master {

struct TryOptions {
    std::string master;                // the master's web URL: http://host:port/
    std::optional<std::string> auth;   // "user:password" (HTTP Basic)
    std::optional<std::string> token;  // an API token (`kiln user token`; HTTP Bearer)
    std::string scheduler = "try";
    std::vector<std::string> builders;
    std::optional<std::string> branch;   // default: the upstream's branch name
    std::optional<std::string> baserev;  // default: merge-base HEAD @{upstream}
    std::optional<std::string> repository, project, who, comment;
    std::vector<std::string> properties;  // "name=value"
    int patch_level = 1;
    bool untracked = true;  // include untracked (not ignored) files
    bool wait = false;
    std::string dir = ".";  // the git working copy
};

// What git says about the working copy.
struct TryPatch {
    std::string baserev;
    std::optional<std::string> branch;
    std::string diff;
};

// The largest diff sent (the master refuses larger ones too).
constexpr std::size_t kMaxTryDiffBytes = 10 * 1024 * 1024;

// The JSON-RPC body of the job; an error names the bad option.
core::Expected<std::string> try_request_body(const TryOptions& options, const TryPatch& patch);

// Runs git (argv, never a shell) in options.dir for the base revision, branch and diff.
core::Expected<TryPatch> git_try_patch(const TryOptions& options);

// The whole command: returns 0 when the job was accepted (with --wait: and every build
// succeeded), 1 when the master refused it or a build failed, 2 for bad options or a working
// copy git cannot read.
int run_try(const TryOptions& options, std::ostream& out, std::ostream& err);

}  // namespace kiln::master
