// SPDX-License-Identifier: Apache-2.0
// Build request collapsing (Buildbot's collapseRequests): when a build starts for a pending
// request, the other pending requests of its builder that the builder's rule deems
// equivalent are served by that one build. The newest of them is built (its sources win);
// the others complete SKIPPED, naming the build that covered them.
#pragma once

#include "core/expected.hpp"
#include "data/buildsets.hpp"

#include <functional>
#include <map>
#include <string_view>
#include <vector>

namespace kiln::process {

struct CollapseCandidate {
    const data::BuildRequest& request;
    const data::CollapseInfo& info;
};

// Whether `newer` may absorb `older` (newer has the higher id). An error counts as "no".
using CollapseRule = std::function<core::Expected<bool>(const CollapseCandidate& newer,
                                                        const CollapseCandidate& older)>;

// Buildbot's default rule (BuildRequest.canBeCollapsed): same buildset; or the same
// codebases with, for each, the same repository, branch and project, no patch, and either
// both sourcestamps came from changes or both have the same revision; and the same
// properties the schedulers set (source "Scheduler", `scheduler` itself aside).
bool can_collapse_by_default(const CollapseCandidate& newer, const CollapseCandidate& older);

struct CollapseGroup {
    data::BuildRequest build;                   // the request the build is for
    std::vector<data::BuildRequest> collapsed;  // completed SKIPPED, covered by the build
};

// The group a build for `chosen` serves among the builder's pending requests. Rule errors
// are logged (naming the builder) and count as "no".
CollapseGroup collapse_group(const data::BuildRequest& chosen,
                             const std::vector<data::BuildRequest>& pending,
                             const std::map<data::Id, data::CollapseInfo>& infos,
                             const CollapseRule& rule, std::string_view builder_name);

}  // namespace kiln::process
