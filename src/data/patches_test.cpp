// SPDX-License-Identifier: Apache-2.0
// Patched sourcestamps (try jobs): the patch row, a new stamp per patch, the patch on the
// stamps of buildsets and of the REST queries (body null, as Buildbot shows it), and the body
// read back byte for byte.
#include "data/buildsets.hpp"
#include "data/queries.hpp"
#include "data/store_test_support.hpp"

#include <gtest/gtest.h>

namespace kiln::data {
namespace {

class Patches : public testing::StoreTest {
protected:
    AddedBuildset add(std::optional<PatchSpec> patch) {
        NewBuildset spec;
        spec.reason = "'try' job by user alice";
        SourceStampSpec stamp{"main", "abc123", "repo", "proj", ""};
        stamp.patch = std::move(patch);
        spec.sourcestamps.push_back(stamp);
        return run(buildsets.add(std::move(spec)));
    }

    Buildsets buildsets{context};
    Queries queries{context};
};

TEST_F(Patches, a_patched_stamp_carries_its_patch_and_each_patch_makes_a_new_stamp) {
    static constexpr char kBody[] = "diff --git a/x b/x\nGIT binary patch\n\x00\xff";
    const std::string body(kBody, sizeof(kBody) - 1);
    PatchSpec patch{2, body, "alice", "first try", std::string()};
    const auto first = add(patch);
    const auto second = add(patch);
    const auto plain = add(std::nullopt);
    const auto plain_again = add(std::nullopt);

    auto one = run(buildsets.get(first.bsid));
    auto two = run(buildsets.get(second.bsid));
    ASSERT_TRUE(one && two);
    ASSERT_EQ(one->sourcestamps.size(), 1u);
    const auto& stamp = one->sourcestamps[0];
    ASSERT_TRUE(stamp.patch);
    EXPECT_EQ(stamp.patchid, stamp.patch->patchid);
    EXPECT_EQ(stamp.patch->level, 2);
    EXPECT_EQ(stamp.patch->author, "alice");
    EXPECT_EQ(stamp.patch->comment, "first try");
    EXPECT_EQ(stamp.patch->subdir, std::optional<std::string>(""));
    EXPECT_TRUE(stamp.patch->body.empty());  // not loaded with the stamp
    // The same patch twice: two patches, two stamps (never deduplicated).
    EXPECT_NE(two->sourcestamps[0].ssid, stamp.ssid);
    EXPECT_NE(two->sourcestamps[0].patch->patchid, stamp.patch->patchid);
    // Patchless stamps still share one row.
    auto p1 = run(buildsets.get(plain.bsid));
    auto p2 = run(buildsets.get(plain_again.bsid));
    EXPECT_EQ(p1->sourcestamps[0].ssid, p2->sourcestamps[0].ssid);
    EXPECT_FALSE(p1->sourcestamps[0].patch);

    EXPECT_EQ(run(buildsets.patch_body(stamp.patch->patchid)), std::optional<std::string>(body));
    EXPECT_EQ(run(buildsets.patch_body(999)), std::nullopt);

    auto json = stamp.to_json();
    const auto& shown = json.at("patch").as_object();
    EXPECT_EQ(shown.at("patchid"), stamp.patch->patchid);
    EXPECT_EQ(shown.at("level"), 2);
    EXPECT_EQ(shown.at("author"), "alice");
    EXPECT_EQ(shown.at("comment"), "first try");
    EXPECT_EQ(shown.at("subdir"), "");
    EXPECT_TRUE(shown.at("body").is_null());
    EXPECT_TRUE(p1->sourcestamps[0].to_json().at("patch").is_null());

    // The REST queries show it too.
    auto entity = run(queries.sourcestamp(stamp.ssid));
    ASSERT_TRUE(entity && entity->patch);
    EXPECT_EQ(entity->patch->comment, "first try");
    auto all = run(queries.sourcestamps(Query{}));
    int patched = 0;
    for (const auto& item : all.items)
        patched += item.patch ? 1 : 0;
    EXPECT_EQ(patched, 2);
    EXPECT_EQ(all.items.size(), 3u);
}

}  // namespace
}  // namespace kiln::data
