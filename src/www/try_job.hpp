// SPDX-License-Identifier: Apache-2.0
// TryJob: the parameters of a try job posted to POST /api/v2/tryschedulers/<name> (JSON-RPC
// method "try", docs/decisions/0014-try.md), checked field by field. The names are those of
// Buildbot's try job files (v6): builderNames, branch, baserev, repository, project,
// patch_level, patch_body or patch_body_base64, who, comment, properties, jobid. Pure, so it
// is unit-tested on its own.
#pragma once

#include "core/expected.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

namespace kiln::www {

// The largest diff a try job may carry (decoded bytes).
constexpr std::size_t kMaxTryPatchBytes = 10 * 1024 * 1024;
// The request body limit of /api/v2/tryschedulers/: the diff in base64 plus the other fields.
constexpr std::size_t kMaxTryBodyBytes = 16 * 1024 * 1024;

struct TryJob {
    std::vector<std::string> builders;    // at least one, no duplicates
    std::optional<std::string> branch;    // nullopt: the step's default branch
    std::optional<std::string> revision;  // the base revision; nullopt: the branch's tip
    std::string repository;
    std::string project;
    int patch_level = 1;
    std::string patch_body;  // the diff's bytes; empty: build the base revision unpatched
    std::string who;         // the patch's author (empty: the user's name)
    std::string comment;
    boost::json::object properties;    // source "try build"
    std::optional<std::string> jobid;  // the buildset's external_idstring
};

// The job, or Error{bad_input, "<field>: <what is wrong>"}. max_patch_bytes bounds the
// decoded diff.
core::Expected<TryJob> parse_try_job(const boost::json::object& params,
                                     std::size_t max_patch_bytes = kMaxTryPatchBytes);

}  // namespace kiln::www
