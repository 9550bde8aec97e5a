// SPDX-License-Identifier: Apache-2.0
// data::Changes and the change reads of data::Queries on a real (in-memory) SQLite database:
// what a change stores, its parent and sourcestamp, what it announces, and the changes of a
// build and of a sourcestamp.
#include "data/builders.hpp"
#include "data/builds.hpp"
#include "data/buildsets.hpp"
#include "data/changes.hpp"
#include "data/masters.hpp"
#include "data/queries.hpp"
#include "data/store_test_support.hpp"
#include "data/workers.hpp"

#include <boost/json/parse.hpp>

#include <gtest/gtest.h>

namespace kiln::data {
namespace {

class ChangeStore : public testing::StoreTest {
protected:
    ChangeStore() {
        now = 1795282620;
        subscription = bus.subscribe(bus::parse_key("changes/*/*"), [this](const bus::Message& m) {
            events.push_back(bus::format_key(m.key));
            payloads.push_back(*m.payload);
        });
    }

    static NewChange change_on(std::string branch, std::string revision) {
        NewChange change;
        change.author = "Bob Dev <bob@example.com>";
        change.committer = "Bob Dev <bob@example.com>";
        change.comments = "Fix the frobnicator";
        change.revision = std::move(revision);
        change.branch = std::move(branch);
        change.repository = "https://git.example.invalid/proj.git";
        change.project = "proj";
        change.when_timestamp = 1700000000;
        return change;
    }

    // A successful (or failed) build of `builderid` whose buildset has the change's stamp.
    Build build_of(Id builderid, const Change& change, int results) {
        NewBuildset spec;
        const auto& s = change.sourcestamp;
        spec.sourcestamps.push_back({s.branch, s.revision, s.repository, s.project, s.codebase});
        spec.builderids = {builderid};
        auto added = run(buildsets.add(spec));
        const auto brid = added.request_by_builder.at(builderid);
        auto build = run(builds.add(builderid, brid, workerid, masterid, {}, "building"));
        return run(builds.finish(build.buildid, results));
    }

    Changes changes{context};
    Queries queries{context};
    Masters masters{context};
    Builders builders{context};
    Workers workers{context};
    Buildsets buildsets{context};
    Builds builds{context};
    Id masterid = 0;
    Id workerid = 0;
    bus::Subscription subscription;
    std::vector<std::string> events;
    std::vector<boost::json::object> payloads;
};

TEST_F(ChangeStore, stores_a_change_in_buildbots_shape_and_announces_it_after_commit) {
    auto spec = change_on("main", "0123456789abcdef0123456789abcdef01234567");
    spec.category = "push";
    spec.revlink = "https://git.example.invalid/proj/commit/0123456";
    spec.files = {"src/frob.c", "README"};
    spec.properties = boost::json::parse(R"({"ticket":"BUG-7","priority":3})").as_object();
    auto change = run(changes.add(spec));
    EXPECT_EQ(change.changeid, 1);

    auto expected = boost::json::parse(R"({
      "author": "Bob Dev <bob@example.com>", "branch": "main", "category": "push",
      "changeid": 1, "codebase": "", "comments": "Fix the frobnicator",
      "committer": "Bob Dev <bob@example.com>", "files": ["src/frob.c", "README"],
      "parent_changeids": [], "project": "proj",
      "properties": {"priority": [3, "Change"], "ticket": ["BUG-7", "Change"]},
      "repository": "https://git.example.invalid/proj.git",
      "revision": "0123456789abcdef0123456789abcdef01234567",
      "revlink": "https://git.example.invalid/proj/commit/0123456",
      "sourcestamp": {"branch": "main", "codebase": "", "created_at": 1795282620, "patch": null,
                      "project": "proj", "repository": "https://git.example.invalid/proj.git",
                      "revision": "0123456789abcdef0123456789abcdef01234567", "ssid": 1},
      "when_timestamp": 1700000000})");
    EXPECT_EQ(boost::json::value(change.to_json()), expected);
    ASSERT_EQ(events, std::vector<std::string>{"changes/1/new"});
    EXPECT_EQ(boost::json::value(payloads[0]), expected);
    auto read = run(queries.change(1));
    ASSERT_TRUE(read);
    EXPECT_EQ(boost::json::value(read->to_json()), expected) << "what is read is what was sent";
}

TEST_F(ChangeStore, a_change_without_optional_fields_has_nulls_and_the_time_of_arrival) {
    NewChange spec;
    spec.author = "dave";
    spec.comments = "via GET";
    spec.branch = "other";
    auto change = run(changes.add(spec));
    auto json = change.to_json();
    EXPECT_TRUE(json.at("committer").is_null());
    EXPECT_TRUE(json.at("revision").is_null());
    EXPECT_TRUE(json.at("revlink").is_null());
    EXPECT_TRUE(json.at("category").is_null());
    EXPECT_EQ(json.at("when_timestamp"), boost::json::value(1795282620));
    EXPECT_EQ(json.at("repository"), boost::json::value(""));
    EXPECT_EQ(json.at("properties"), boost::json::object{});
}

TEST_F(ChangeStore, the_parent_is_the_previous_change_of_the_same_branch_and_repository) {
    auto first = run(changes.add(change_on("main", "a1")));
    auto other_branch = run(changes.add(change_on("dev", "b1")));
    auto second = run(changes.add(change_on("main", "a2")));
    auto other_repo_spec = change_on("main", "c1");
    other_repo_spec.repository = "https://elsewhere/x.git";
    auto other_repo = run(changes.add(other_repo_spec));
    NewChange no_branch = change_on("", "d1");
    no_branch.branch = std::nullopt;
    auto null_branch_1 = run(changes.add(no_branch));
    auto null_branch_2 = run(changes.add(no_branch));

    EXPECT_FALSE(first.parent_changeid);
    EXPECT_FALSE(other_branch.parent_changeid);
    EXPECT_EQ(second.parent_changeid, first.changeid);
    EXPECT_FALSE(other_repo.parent_changeid);
    EXPECT_FALSE(null_branch_1.parent_changeid);
    EXPECT_EQ(null_branch_2.parent_changeid, null_branch_1.changeid);
    EXPECT_EQ(null_branch_2.sourcestamp.ssid, null_branch_1.sourcestamp.ssid)
        << "the same sources share one sourcestamp";
    EXPECT_NE(second.sourcestamp.ssid, first.sourcestamp.ssid);
    EXPECT_EQ(second.to_json().at("parent_changeids"), boost::json::parse("[1]"));
}

TEST_F(ChangeStore, a_push_of_several_commits_is_stored_at_once_and_chained) {
    std::vector<NewChange> push{change_on("main", "p1"), change_on("main", "p2"),
                                change_on("main", "p3")};
    auto stored = run(changes.add_all(push, std::nullopt));
    ASSERT_EQ(stored.size(), 3u);
    EXPECT_FALSE(stored[0].parent_changeid);
    EXPECT_EQ(stored[1].parent_changeid, stored[0].changeid);
    EXPECT_EQ(stored[2].parent_changeid, stored[1].changeid);
    EXPECT_EQ(events,
              (std::vector<std::string>{"changes/1/new", "changes/2/new", "changes/3/new"}));
}

TEST_F(ChangeStore, long_values_are_cut_to_the_columns_without_splitting_a_character) {
    auto spec = change_on("main", "r");
    spec.author = std::string(254, 'a') + "\xc3\xa9" + "tail";  // é straddles byte 255
    auto change = run(changes.add(spec));
    EXPECT_EQ(change.author, std::string(254, 'a'));
    EXPECT_EQ(truncate_utf8("abc", 10), "abc");
}

TEST_F(ChangeStore, collections_push_changeid_into_sql_and_count_every_match) {
    for (int i = 0; i < 5; ++i)
        run(changes.add(change_on("main", "r" + std::to_string(i))));
    Query newest;
    newest.order = {{"changeid", true}};
    newest.limit = 2;
    auto page = run(queries.changes(newest));
    EXPECT_TRUE(page.is_complete);
    ASSERT_EQ(page.items.size(), 2u);
    EXPECT_EQ(page.items[0].changeid, 5);
    EXPECT_EQ(page.items[1].changeid, 4);
    EXPECT_EQ(page.total, 5);

    Query oldest;
    oldest.order = {{"changeid", false}};
    oldest.limit = 1;
    EXPECT_EQ(run(queries.changes(oldest)).items.at(0).changeid, 1);

    Query by_default;
    EXPECT_EQ(run(queries.changes(by_default)).items.front().changeid, 5) << "newest first";

    Query by_branch;
    by_branch.filters.push_back({"branch", FilterOp::eq, {boost::json::value("main")}});
    by_branch.limit = 1;
    auto left = run(queries.changes(by_branch));
    EXPECT_FALSE(left.is_complete) << "branch is filtered by the caller";
    EXPECT_EQ(left.items.size(), 5u);
}

TEST_F(ChangeStore, a_build_contains_its_change_and_those_since_the_last_successful_build) {
    masterid = run(masters.find_or_create("host:/m"));
    const auto builderid = run(builders.configure(masterid, {{"app", {}, {}}})).at("app");
    workerid = run(workers.configure(masterid, {{"w1", {builderid}}})).at("w1");

    auto c1 = run(changes.add(change_on("main", "r1")));
    auto b1 = build_of(builderid, c1, 0);
    auto c2 = run(changes.add(change_on("main", "r2")));
    auto c3 = run(changes.add(change_on("main", "r3")));
    auto b2 = build_of(builderid, c3, 2);  // failed: the next build still contains c2, c3
    auto c4 = run(changes.add(change_on("main", "r4")));
    auto b3 = build_of(builderid, c4, 0);

    auto ids = [](const std::vector<Change>& list) {
        std::vector<Id> out;
        for (const auto& change : list)
            out.push_back(change.changeid);
        return out;
    };
    EXPECT_EQ(ids(run(queries.changes_of_build(b1.buildid, 100))), std::vector<Id>{c1.changeid});
    EXPECT_EQ(ids(run(queries.changes_of_build(b2.buildid, 100))),
              (std::vector<Id>{c3.changeid, c2.changeid}));
    EXPECT_EQ(ids(run(queries.changes_of_build(b3.buildid, 100))),
              (std::vector<Id>{c4.changeid, c3.changeid, c2.changeid}));
    EXPECT_EQ(run(queries.changes_of_build(b3.buildid, 2)).size(), 2u) << "bounded";
    EXPECT_TRUE(run(queries.changes_of_build(999, 100)).empty());

    EXPECT_EQ(ids(run(queries.changes_of_sourcestamp(c2.sourcestamp.ssid))),
              std::vector<Id>{c2.changeid});
    auto builds_of_c3 = run(queries.builds_of_change(c3.changeid, {}));
    ASSERT_EQ(builds_of_c3.items.size(), 1u);
    EXPECT_EQ(builds_of_c3.items[0].buildid, b2.buildid);
    EXPECT_TRUE(run(queries.builds_of_change(c2.changeid, {})).items.empty());
}

}  // namespace
}  // namespace kiln::data
