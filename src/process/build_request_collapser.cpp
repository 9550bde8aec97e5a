// SPDX-License-Identifier: Apache-2.0
#include "process/build_request_collapser.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

namespace kiln::process {

namespace {

std::map<std::string, const data::SourceStamp*> by_codebase(const data::CollapseInfo& info) {
    std::map<std::string, const data::SourceStamp*> stamps;
    for (const auto& stamp : info.sourcestamps)
        stamps[stamp.codebase] = &stamp;
    return stamps;
}

std::map<std::string, boost::json::value> scheduler_properties(const core::Properties& all) {
    std::map<std::string, boost::json::value> chosen;
    for (const auto& [name, property] : all.all())
        if (property.source == "Scheduler" && name != "scheduler") chosen[name] = property.value;
    return chosen;
}

}  // namespace

bool can_collapse_by_default(const CollapseCandidate& newer, const CollapseCandidate& older) {
    if (newer.request.buildsetid == older.request.buildsetid) return true;
    // Two requests submitted together must not cancel each other: only a newer one absorbs.
    if (newer.request.buildrequestid < older.request.buildrequestid) return false;
    const auto mine = by_codebase(newer.info);
    const auto theirs = by_codebase(older.info);
    if (mine.size() != theirs.size()) return false;
    for (const auto& [codebase, stamp] : mine) {
        auto other = theirs.find(codebase);
        if (other == theirs.end()) return false;
        const auto& a = *stamp;
        const auto& b = *other->second;
        if (a.repository != b.repository || a.branch != b.branch || a.project != b.project)
            return false;
        if (a.patchid || b.patchid) return false;
        const bool a_has_changes = newer.info.ssids_with_changes.contains(a.ssid);
        const bool b_has_changes = older.info.ssids_with_changes.contains(b.ssid);
        if (a_has_changes && b_has_changes) continue;
        if (a_has_changes != b_has_changes) return false;
        if (a.revision != b.revision) return false;
    }
    return scheduler_properties(newer.info.properties) ==
           scheduler_properties(older.info.properties);
}

CollapseGroup collapse_group(const data::BuildRequest& chosen,
                             const std::vector<data::BuildRequest>& pending,
                             const std::map<data::Id, data::CollapseInfo>& infos,
                             const CollapseRule& rule, std::string_view builder_name) {
    static const data::CollapseInfo kNoInfo;
    auto info_of = [&](const data::BuildRequest& request) -> const data::CollapseInfo& {
        auto found = infos.find(request.buildsetid);
        return found == infos.end() ? kNoInfo : found->second;
    };
    auto compatible = [&](const data::BuildRequest& a, const data::BuildRequest& b) {
        const bool a_newer = a.buildrequestid > b.buildrequestid;
        const auto& newer = a_newer ? a : b;
        const auto& older = a_newer ? b : a;
        auto result = rule(CollapseCandidate{newer, info_of(newer)},
                           CollapseCandidate{older, info_of(older)});
        if (!result) {
            spdlog::warn("builder {}: collapse_requests: {}", builder_name, result.error().message);
            return false;
        }
        return *result;
    };
    std::vector<data::BuildRequest> group{chosen};
    for (const auto& request : pending)
        if (request.buildrequestid != chosen.buildrequestid && compatible(chosen, request))
            group.push_back(request);
    CollapseGroup result;
    result.build = *std::max_element(group.begin(), group.end(), [](const auto& a, const auto& b) {
        return a.buildrequestid < b.buildrequestid;
    });
    for (const auto& request : group)
        if (request.buildrequestid != result.build.buildrequestid &&
            compatible(result.build, request))
            result.collapsed.push_back(request);
    return result;
}

}  // namespace kiln::process
