// SPDX-License-Identifier: Apache-2.0
// RestApi's read side on a real (in-memory) SQLite database filled through data/'s stores:
// paths, result specs, envelopes, errors, log contents and raw downloads, visibility.
#include "data/builders.hpp"
#include "data/builds.hpp"
#include "data/buildsets.hpp"
#include "data/changes.hpp"
#include "data/masters.hpp"
#include "data/store_test_support.hpp"
#include "data/workers.hpp"
#include "www/rest_api.hpp"

#include <boost/json/parse.hpp>

#include <gtest/gtest.h>

namespace kiln::www {
namespace {

using data::Id;

class RestApiTest : public data::testing::StoreTest {
protected:
    RestApiTest() {
        masterid = run(masters.find_or_create("host:/m"));
        run(masters.mark_started(masterid));
        auto ids = run(builders.configure(
            masterid, {{"app", "the app", {"ci", "linux"}}, {"secret", std::nullopt, {}}}));
        app = ids.at("app");
        secret = ids.at("secret");
        workerid = run(workers.configure(masterid, {{"w1", {app, secret}}})).at("w1");
        // Three builds of app (success, failure, running), one of secret.
        for (int i = 0; i < 3; ++i)
            add_build(app, i == 0 ? 0 : 2, i == 2);
        add_build(secret, 0, false);
    }

    Id add_build(Id builderid, int results, bool running) {
        data::NewBuildset spec;
        spec.reason = "forced";
        spec.properties.set("owner", "alice", "Force Build Form");
        spec.builderids = {builderid};
        auto added = run(buildsets.add(spec));
        core::Properties properties;
        properties.set("buildername", "x", "Builder");
        properties.set("owner", "alice", "Force Build Form");
        auto build = run(builds.add(builderid, added.request_by_builder.at(builderid), workerid,
                                    masterid, properties, "building"));
        auto step = run(builds.add_step(build.buildid, "shell"));
        run(builds.start_step(step.stepid));
        auto log = run(builds.add_log(step.stepid, "stdio", "s"));
        run(builds.append_log(log.logid, "hline0\noline1\neline2\noline3\n"));
        run(builds.finish_log(log.logid));
        if (!running) run(builds.finish(build.buildid, results));
        return build.buildid;
    }

    struct Reply {
        int status;
        std::string content_type;
        std::string body;
        boost::json::value json;
    };

    Reply get(std::string path, std::string query = {}, Visibility visibility = {},
              bool pretty = false) {
        return get_from(api, std::move(path), std::move(query), std::move(visibility), pretty);
    }

    Reply get_from(RestApi& from, std::string path, std::string query = {},
                   Visibility visibility = {}, bool pretty = false) {
        auto response = run(from.get(path, query, pretty, false, visibility));
        Reply reply{response.status, "", response.body, {}};
        for (const auto& h : response.headers)
            if (h.name == "Content-Type") reply.content_type = h.value;
        if (response.stream) {
            for (;;) {
                auto piece = run(response.stream());
                if (!piece) break;
                reply.body += *piece;
            }
        }
        boost::system::error_code ec;
        reply.json = boost::json::parse(reply.body, ec);
        return reply;
    }

    data::Masters masters{context};
    data::Builders builders{context};
    data::Workers workers{context};
    data::Buildsets buildsets{context};
    data::Builds builds{context};
    data::Changes changes{context};
    RestApi api{context, [] { return std::shared_ptr<const config::MasterConfig>(); }};
    Id masterid = 0, app = 0, secret = 0, workerid = 0;
};

TEST_F(RestApiTest, lists_builds_in_the_envelope_with_the_real_total) {
    auto reply = get("builds", "limit=2&order=-buildid");
    ASSERT_EQ(reply.status, 200) << reply.body;
    EXPECT_EQ(reply.content_type, "application/json; charset=utf-8");
    const auto& list = reply.json.at("builds").as_array();
    ASSERT_EQ(list.size(), 2u);
    EXPECT_EQ(list[0].at("buildid").as_int64(), 4);
    EXPECT_EQ(list[1].at("buildid").as_int64(), 3);
    EXPECT_EQ(reply.json.at("meta").at("total").as_int64(), 4);
    EXPECT_TRUE(list[0].at("properties").as_object().empty());
    // Sorted keys, compact.
    EXPECT_EQ(reply.body.rfind("{\"builds\":[{\"builderid\":", 0), 0u) << reply.body;
}

TEST_F(RestApiTest, filters_with_operators_and_booleans) {
    auto failed = get("builds", "results__ne=0&complete=true");
    ASSERT_EQ(failed.status, 200) << failed.body;
    ASSERT_EQ(failed.json.at("builds").as_array().size(), 1u);
    EXPECT_EQ(failed.json.at("builds").as_array()[0].at("buildid").as_int64(), 2);

    auto running = get("builds", "complete=false");
    ASSERT_EQ(running.json.at("builds").as_array().size(), 1u);
    EXPECT_EQ(running.json.at("builds").as_array()[0].at("buildid").as_int64(), 3);

    auto in_set = get("builds", "buildid__in=1&buildid__in=4&field=buildid");
    ASSERT_EQ(in_set.status, 200) << in_set.body;
    ASSERT_EQ(in_set.json.at("builds").as_array().size(), 2u);
    EXPECT_EQ(in_set.json.at("builds").as_array()[1].as_object().size(), 1u);

    auto contains = get("builders", "tags__contains=linux");
    ASSERT_EQ(contains.json.at("builders").as_array().size(), 1u);
    EXPECT_EQ(contains.json.at("builders").as_array()[0].at("name").as_string(), "app");
}

TEST_F(RestApiTest, answers_buildbots_errors) {
    EXPECT_EQ(get("builds", "bogus=1").json.at("error").as_string(),
              "unrecognized query parameter 'bogus'");
    EXPECT_EQ(get("builds", "buildid=abc").json.at("error").as_string(),
              "invalid filter value for buildid");
    EXPECT_EQ(get("builds", "limit=x").json.at("error").as_string(), "invalid limit");
    EXPECT_EQ(get("builds", "order=nope").json.at("error").as_string(), "no such field 'nope'");
    EXPECT_EQ(get("builds", "field=buildid&results=0").json.at("error").as_string(),
              "cannot filter on un-selected fields");
    EXPECT_EQ(get("builds/1", "results=0").json.at("error").as_string(),
              "this is not a collection");
    auto unknown = get("builds/");
    EXPECT_EQ(unknown.status, 404);
    EXPECT_EQ(unknown.json.at("error").as_string(), "Invalid path: builds/");
    EXPECT_EQ(unknown.content_type, "text/plain; charset=utf-8");
    EXPECT_EQ(get("builds/999").status, 404);
    // An unknown operator is ignored, as Buildbot does.
    EXPECT_EQ(get("builds", "buildid__nope=1").json.at("meta").at("total").as_int64(), 4);
}

TEST_F(RestApiTest, reads_nested_paths_by_id_and_by_name) {
    auto by_name = get("builders/app/builds/2");
    ASSERT_EQ(by_name.status, 200) << by_name.body;
    EXPECT_EQ(by_name.json.at("builds").as_array()[0].at("buildid").as_int64(), 2);
    EXPECT_TRUE(by_name.json.at("meta").as_object().empty());

    auto steps = get("builders/" + std::to_string(app) + "/builds/1/steps");
    ASSERT_EQ(steps.status, 200) << steps.body;
    EXPECT_EQ(steps.json.at("steps").as_array()[0].at("name").as_string(), "shell");

    auto log = get("builds/1/steps/shell/logs/stdio");
    ASSERT_EQ(log.status, 200) << log.body;
    EXPECT_EQ(log.json.at("logs").as_array()[0].at("num_lines").as_int64(), 4);

    auto properties = get("builds/1", "property=owner");
    EXPECT_EQ(properties.json.at("builds").as_array()[0].at("properties").at("owner").at(0),
              "alice");
    auto all = get("builds/1/properties");
    EXPECT_EQ(all.json.at("properties").as_array()[0].at("buildername").at(1), "Builder");

    auto requests = get("buildrequests", "property=owner&complete=false");
    ASSERT_EQ(requests.status, 200) << requests.body;
    ASSERT_EQ(requests.json.at("buildrequests").as_array().size(), 4u);
    EXPECT_EQ(requests.json.at("buildrequests").as_array()[0].at("properties").at("owner").at(0),
              "alice");
    auto workers_reply = get("workers/w1");
    EXPECT_EQ(workers_reply.json.at("workers").as_array()[0].at("workerid").as_int64(), workerid);
}

TEST_F(RestApiTest, streams_log_contents_by_line_range_and_raw_without_stream_tags) {
    auto contents = get("logs/1/contents", "offset=1&limit=2");
    ASSERT_EQ(contents.status, 200) << contents.body;
    const auto& chunk = contents.json.at("logchunks").as_array()[0];
    EXPECT_EQ(chunk.at("content").as_string(), "oline1\neline2\n");
    EXPECT_EQ(chunk.at("firstline").as_int64(), 1);
    EXPECT_EQ(chunk.at("logid").as_int64(), 1);
    EXPECT_TRUE(contents.json.at("meta").as_object().empty());

    auto pretty = get("logs/1/contents", "", {}, true);
    ASSERT_TRUE(pretty.json.is_object()) << pretty.body;
    EXPECT_EQ(pretty.json.at("logchunks").as_array()[0].at("content").as_string(),
              "hline0\noline1\neline2\noline3\n");
    EXPECT_EQ(pretty.content_type, "text/plain; charset=utf-8");

    EXPECT_EQ(get("logs/1/contents", "offset=9").status, 404);

    auto raw = get("logs/1/raw");
    ASSERT_EQ(raw.status, 200);
    EXPECT_EQ(raw.body, "line0\nline1\nline2\nline3");
}

TEST_F(RestApiTest, a_hidden_builder_is_absent_from_lists_entities_and_counts) {
    Visibility visibility{[](std::string_view name) { return name != "secret"; }};
    auto list = get("builders", "", visibility);
    ASSERT_EQ(list.json.at("builders").as_array().size(), 1u);
    auto all_builds = get("builds", "", visibility);
    EXPECT_EQ(all_builds.json.at("meta").at("total").as_int64(), 3);
    EXPECT_EQ(get("builds/4", "", visibility).status, 404);
    EXPECT_EQ(get("builders/secret", "", visibility).status, 404);
    EXPECT_EQ(get("logs/4", "", visibility).status, 404);
    EXPECT_EQ(get("buildrequests", "", visibility).json.at("meta").at("total").as_int64(), 3);
    EXPECT_EQ(get("buildsets", "", visibility).json.at("buildsets").as_array().size(), 3u);
    // Without restrictions it is there.
    EXPECT_EQ(get("builds/4").status, 200);
}

TEST_F(RestApiTest, a_restricted_reader_pages_buildsets_once_with_the_visible_total) {
    // Buildsets 1-3 are app's, 4 is secret's; 5 (app) comes after the hidden one.
    add_build(app, 0, false);
    Visibility visibility{[](std::string_view name) { return name != "secret"; }};
    auto page = get("buildsets", "order=bsid&limit=2&offset=2", visibility);
    ASSERT_EQ(page.status, 200) << page.body;
    const auto& list = page.json.at("buildsets").as_array();
    ASSERT_EQ(list.size(), 2u) << page.body;
    EXPECT_EQ(list[0].at("bsid").as_int64(), 3);
    EXPECT_EQ(list[1].at("bsid").as_int64(), 5);
    EXPECT_EQ(page.json.at("meta").at("total").as_int64(), 4);
    EXPECT_EQ(
        get("buildsets", "order=bsid&limit=2&offset=2").json.at("meta").at("total").as_int64(), 5);
}

TEST_F(RestApiTest, the_spec_lists_every_pattern_with_its_type) {
    auto reply = get("application.spec");
    ASSERT_EQ(reply.status, 200);
    const auto& specs = reply.json.at("specs").as_array();
    EXPECT_EQ(specs.size(), api.patterns().size());
    bool found = false;
    for (const auto& spec : specs)
        if (spec.at("path") == "builders/n:builderid/builds/n:build_number/steps") {
            found = true;
            EXPECT_EQ(spec.at("plural"), "steps");
        }
    EXPECT_TRUE(found);
}

// Three changes on main (the last one built by app, successfully), one on dev.
class RestApiChanges : public RestApiTest {
protected:
    RestApiChanges() {
        for (int i = 1; i <= 3; ++i)
            last = run(changes.add(change_on("main", "r" + std::to_string(i))));
        run(changes.add(change_on("dev", "d1")));
        data::NewBuildset spec;
        const auto& stamp = last.sourcestamp;
        spec.sourcestamps.push_back(
            {stamp.branch, stamp.revision, stamp.repository, stamp.project, stamp.codebase});
        spec.builderids = {app};
        auto added = run(buildsets.add(spec));
        auto build = run(
            builds.add(app, added.request_by_builder.at(app), workerid, masterid, {}, "building"));
        built = run(builds.finish(build.buildid, 0));
    }

    static data::NewChange change_on(std::string branch, std::string revision) {
        data::NewChange change;
        change.author = "Bob <bob@example.com>";
        change.comments = "change " + revision;
        change.branch = std::move(branch);
        change.revision = std::move(revision);
        change.repository = "https://git.example/proj.git";
        change.files = {"a.c"};
        change.properties["ticket"] = "BUG-7";
        return change;
    }

    static std::vector<std::int64_t> ids(const Reply& reply) {
        std::vector<std::int64_t> out;
        for (const auto& item : reply.json.at("changes").as_array())
            out.push_back(item.at("changeid").as_int64());
        return out;
    }

    data::Change last;
    data::Build built;
};

TEST_F(RestApiChanges, lists_changes_newest_first_with_the_real_total) {
    auto reply = get("changes");
    ASSERT_EQ(reply.status, 200) << reply.body;
    EXPECT_EQ(ids(reply), (std::vector<std::int64_t>{4, 3, 2, 1}));
    EXPECT_EQ(reply.json.at("meta").at("total").as_int64(), 4);
    const auto& first = reply.json.at("changes").as_array()[1].as_object();
    EXPECT_EQ(first.at("properties"), boost::json::parse(R"({"ticket":["BUG-7","Change"]})"));
    EXPECT_EQ(first.at("parent_changeids"), boost::json::parse("[2]"));
    EXPECT_EQ(first.at("sourcestamp").at("revision"), boost::json::value("r3"));
}

TEST_F(RestApiChanges, orders_and_pages_as_asked_where_buildbot_reverses) {
    EXPECT_EQ(ids(get("changes", "order=-changeid")), (std::vector<std::int64_t>{4, 3, 2, 1}));
    EXPECT_EQ(ids(get("changes", "order=changeid")), (std::vector<std::int64_t>{1, 2, 3, 4}));
    auto newest = get("changes", "order=-changeid&limit=2");
    EXPECT_EQ(ids(newest), (std::vector<std::int64_t>{4, 3}));
    EXPECT_EQ(newest.json.at("meta").at("total").as_int64(), 4) << "the real count";
    EXPECT_EQ(ids(get("changes", "limit=1")), std::vector<std::int64_t>{4}) << "the newest";
    EXPECT_EQ(ids(get("changes", "offset=1&limit=2")), (std::vector<std::int64_t>{3, 2}));
}

TEST_F(RestApiChanges, filters_other_fields_in_memory) {
    auto main = get("changes", "branch=main&order=-changeid&limit=2");
    ASSERT_EQ(main.status, 200) << main.body;
    EXPECT_EQ(ids(main), (std::vector<std::int64_t>{3, 2}));
    EXPECT_EQ(main.json.at("meta").at("total").as_int64(), 3);
    EXPECT_EQ(ids(get("changes", "revision__contains=d")), std::vector<std::int64_t>{4});
    EXPECT_EQ(ids(get("changes", "changeid__gt=2&order=changeid")),
              (std::vector<std::int64_t>{3, 4}));
    EXPECT_EQ(ids(get("changes", "order=-when_timestamp&order=changeid&limit=1")),
              std::vector<std::int64_t>{1});
    auto fields = get("changes", "field=changeid&field=branch&limit=1");
    EXPECT_EQ(fields.json.at("changes").at(0).as_object().size(), 2u);
}

TEST_F(RestApiChanges, answers_one_change_its_properties_and_its_builds) {
    auto one = get("changes/3");
    ASSERT_EQ(one.status, 200) << one.body;
    EXPECT_EQ(ids(one), std::vector<std::int64_t>{3});
    EXPECT_FALSE(one.json.at("meta").as_object().contains("total"));
    EXPECT_EQ(get("changes/99").status, 404);

    auto properties = get("changes/3/properties_list");
    ASSERT_EQ(properties.status, 200) << properties.body;
    EXPECT_EQ(properties.json.at("_properties"),
              boost::json::parse(R"([{"name":"ticket","source":"Change","value":"\"BUG-7\""}])"));
    EXPECT_EQ(get("changes/99/properties_list").status, 404);

    auto change_builds = get("changes/3/builds");
    ASSERT_EQ(change_builds.status, 200) << change_builds.body;
    const auto& list = change_builds.json.at("builds").as_array();
    ASSERT_EQ(list.size(), 1u);
    EXPECT_EQ(list[0].at("buildid").as_int64(), built.buildid);
    EXPECT_TRUE(get("changes/2/builds").json.at("builds").as_array().empty());
}

TEST_F(RestApiChanges, a_build_lists_the_changes_it_contains) {
    const auto path = "builds/" + std::to_string(built.buildid) + "/changes";
    EXPECT_EQ(ids(get(path)), (std::vector<std::int64_t>{3, 2, 1}));
    EXPECT_EQ(ids(get("builders/" + std::to_string(app) + "/builds/" +
                      std::to_string(built.number) + "/changes")),
              (std::vector<std::int64_t>{3, 2, 1}));
    EXPECT_TRUE(get("builds/1/changes").json.at("changes").as_array().empty());
    EXPECT_TRUE(get("builds/999/changes").json.at("changes").as_array().empty());
    Visibility none{[](std::string_view) { return false; }};
    EXPECT_TRUE(get(path, {}, none).json.at("changes").as_array().empty())
        << "a hidden builder's build shows no changes";
}

TEST_F(RestApiChanges, a_sourcestamp_lists_its_newest_change) {
    auto reply = get("sourcestamps/" + std::to_string(last.sourcestamp.ssid) + "/changes");
    EXPECT_EQ(ids(reply), std::vector<std::int64_t>{3});
    EXPECT_EQ(reply.json.at("meta").at("total").as_int64(), 1);
    EXPECT_TRUE(get("sourcestamps/999/changes").json.at("changes").as_array().empty());
}

TEST_F(RestApiTest, a_crawler_gets_bounded_pages_however_it_pages) {
    RestApi small{context, [] { return std::shared_ptr<const config::MasterConfig>(); },
                  RestOptions{.max_page_size = 3, .max_unpaged_items = 3}};
    auto count = [](const Reply& reply, const char* plural) {
        return reply.json.at(plural).as_array().size();
    };
    // No limit, a huge one or a negative one: at most a page; meta.total still counts all.
    for (const char* query : {"", "limit=1000000", "limit=-1", "limit=-9223372036854775808"}) {
        auto reply = get_from(small, "builds", query);
        ASSERT_EQ(reply.status, 200) << query << ": " << reply.body;
        EXPECT_EQ(count(reply, "builds"), 3u) << query;
        EXPECT_EQ(reply.json.at("meta").at("total").as_int64(), 4) << query;
    }
    // Collections paged in memory are capped the same way.
    auto specs = get_from(small, "application.spec");
    EXPECT_EQ(count(specs, "specs"), 3u);
    EXPECT_EQ(specs.json.at("meta").at("total").as_int64(),
              static_cast<std::int64_t>(api.patterns().size()));
    // An offset far beyond the end is an empty page (SQL's OFFSET; nothing read into memory).
    for (const char* path : {"builds", "buildrequests", "buildsets", "sourcestamps", "builders"}) {
        auto reply = get_from(small, path, "offset=9223372036854775807&limit=9223372036854775807");
        ASSERT_EQ(reply.status, 200) << path << ": " << reply.body;
        EXPECT_TRUE(reply.json.at(path).as_array().empty()) << path;
    }
    auto negative = get_from(small, "builds", "offset=-5&order=buildid");
    EXPECT_EQ(negative.json.at("builds").as_array()[0].at("buildid").as_int64(), 1)
        << "a negative offset reads as 0";
    // Log contents: limit and offset are lines, and no value overflows.
    auto lines = get("logs/1/contents", "offset=1&limit=9223372036854775807");
    ASSERT_EQ(lines.status, 200) << lines.body;
    EXPECT_EQ(lines.json.at("logchunks").as_array()[0].at("content").as_string(),
              "oline1\neline2\noline3\n");
    EXPECT_EQ(get("logs/1/contents", "offset=9223372036854775807&limit=9223372036854775807").status,
              404);
    EXPECT_EQ(get("logs/1/contents", "offset=-1").status, 404);
}

TEST_F(RestApiTest, refuses_an_order_the_database_cannot_apply_to_too_many_items) {
    RestApi small{context, [] { return std::shared_ptr<const config::MasterConfig>(); },
                  RestOptions{.max_page_size = 3, .max_unpaged_items = 3}};
    // Ordering on an object field is done in memory, after reading every match.
    auto refused = get_from(small, "builds", "order=properties");
    EXPECT_EQ(refused.status, 400);
    EXPECT_NE(refused.json.at("error").as_string().find("more than 3 items"), std::string::npos)
        << refused.body;
    auto narrowed = get_from(small, "builds", "order=properties&builderid=" + std::to_string(app));
    ASSERT_EQ(narrowed.status, 200) << narrowed.body;
    EXPECT_EQ(narrowed.json.at("builds").as_array().size(), 3u);
    EXPECT_EQ(get("builds", "order=properties").status, 200) << "the default bound is larger";
}

}  // namespace
}  // namespace kiln::www
