// SPDX-License-Identifier: Apache-2.0
// Build request collapsing: Buildbot's default rule case by case, and the group a build
// serves (the newest compatible request is built, the others are collapsed into it).
#include "process/build_request_collapser.hpp"

#include <gtest/gtest.h>

namespace kiln::process {
namespace {

data::BuildRequest request(data::Id brid, data::Id bsid) {
    data::BuildRequest r;
    r.buildrequestid = brid;
    r.buildsetid = bsid;
    r.builderid = 1;
    return r;
}

data::SourceStamp stamp(data::Id ssid, std::optional<std::string> revision,
                        std::string codebase = "", std::optional<std::string> branch = "main") {
    data::SourceStamp s;
    s.ssid = ssid;
    s.branch = std::move(branch);
    s.revision = std::move(revision);
    s.repository = "https://git.example/app.git";
    s.project = "app";
    s.codebase = std::move(codebase);
    return s;
}

data::CollapseInfo info(std::vector<data::SourceStamp> stamps,
                        std::set<data::Id> with_changes = {}) {
    data::CollapseInfo i;
    i.sourcestamps = std::move(stamps);
    i.ssids_with_changes = std::move(with_changes);
    return i;
}

bool collapses(const data::BuildRequest& newer, const data::CollapseInfo& newer_info,
               const data::BuildRequest& older, const data::CollapseInfo& older_info) {
    return can_collapse_by_default(CollapseCandidate{newer, newer_info},
                                   CollapseCandidate{older, older_info});
}

TEST(DefaultCollapseRule, requests_from_changes_of_one_branch_collapse_whatever_their_revisions) {
    EXPECT_TRUE(collapses(request(2, 2), info({stamp(11, "b")}, {11}), request(1, 1),
                          info({stamp(10, "a")}, {10})));
}

TEST(DefaultCollapseRule, requests_without_changes_collapse_only_on_the_same_revision) {
    EXPECT_TRUE(
        collapses(request(2, 2), info({stamp(10, "")}), request(1, 1), info({stamp(10, "")})));
    EXPECT_FALSE(
        collapses(request(2, 2), info({stamp(11, "b")}), request(1, 1), info({stamp(10, "a")})));
    EXPECT_FALSE(collapses(request(2, 2), info({stamp(11, "b")}, {11}), request(1, 1),
                           info({stamp(10, "a")})))
        << "one from a change, one not";
}

TEST(DefaultCollapseRule, an_older_request_never_absorbs_a_newer_one) {
    EXPECT_FALSE(
        collapses(request(1, 1), info({stamp(10, "")}), request(2, 2), info({stamp(10, "")})));
    EXPECT_TRUE(collapses(request(1, 1), info({}), request(2, 1), info({}))) << "same buildset";
}

TEST(DefaultCollapseRule, branches_codebases_patches_and_scheduler_properties_must_agree) {
    const auto older = request(1, 1);
    const auto newer = request(2, 2);
    const auto base = info({stamp(10, "")});
    EXPECT_FALSE(collapses(newer, info({stamp(11, "", "", "dev")}), older, base));
    EXPECT_FALSE(collapses(newer, info({stamp(10, ""), stamp(12, "", "lib")}), older, base));
    auto patched = info({stamp(13, "")});
    patched.sourcestamps[0].patchid = 7;
    EXPECT_FALSE(collapses(newer, patched, older, base));

    auto scheduled = base;
    scheduled.properties.set("scheduler", "nightly", "Scheduler");
    scheduled.properties.set("owner", "alice", "Force Build Form");
    EXPECT_TRUE(collapses(newer, scheduled, older, base))
        << "'scheduler' itself and properties of other sources do not count";
    scheduled.properties.set("suite", "full", "Scheduler");
    EXPECT_FALSE(collapses(newer, scheduled, older, base));
}

TEST(CollapseGroup, the_newest_compatible_request_is_built_and_the_others_collapse_into_it) {
    std::vector<data::BuildRequest> pending{request(1, 1), request(2, 2), request(3, 3),
                                            request(4, 4)};
    std::map<data::Id, data::CollapseInfo> infos{{1, info({stamp(10, "")})},
                                                 {2, info({stamp(10, "")})},
                                                 {3, info({stamp(11, "other")})},
                                                 {4, info({stamp(10, "")})}};
    CollapseRule rule = [](const CollapseCandidate& newer, const CollapseCandidate& older) {
        return core::Expected<bool>(can_collapse_by_default(newer, older));
    };
    auto group = collapse_group(pending[0], pending, infos, rule, "app");
    EXPECT_EQ(group.build.buildrequestid, 4);
    ASSERT_EQ(group.collapsed.size(), 2u);
    EXPECT_EQ(group.collapsed[0].buildrequestid, 1);
    EXPECT_EQ(group.collapsed[1].buildrequestid, 2);

    auto alone = collapse_group(pending[2], pending, infos, rule, "app");
    EXPECT_EQ(alone.build.buildrequestid, 3);
    EXPECT_TRUE(alone.collapsed.empty());
}

TEST(CollapseGroup, a_rule_that_fails_collapses_nothing) {
    std::vector<data::BuildRequest> pending{request(1, 1), request(2, 2)};
    CollapseRule failing = [](const CollapseCandidate&, const CollapseCandidate&) {
        return core::Expected<bool>(core::fail(core::ErrorKind::internal, "boom"));
    };
    auto group = collapse_group(pending[0], pending, {}, failing, "app");
    EXPECT_EQ(group.build.buildrequestid, 1);
    EXPECT_TRUE(group.collapsed.empty());
}

}  // namespace
}  // namespace kiln::process
