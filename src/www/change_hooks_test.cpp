// SPDX-License-Identifier: Apache-2.0
// Change hooks on a real (in-memory) SQLite database: each dialect's payloads (modelled on
// GitHub's and GitLab's documented webhook examples) become the right changes; signatures,
// tokens and credentials are checked; bad input is answered 400 with the reason and stores
// nothing.
#include "data/queries.hpp"
#include "data/store_test_support.hpp"
#include "www/change_hook_dialects.hpp"
#include "www/change_hooks.hpp"
#include "www/crypto.hpp"
#include "www/detail/hook_payload.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <gtest/gtest.h>

namespace kiln::www {
namespace {

// GitHub's documented push example (trimmed to what a change uses, plus a second commit).
constexpr std::string_view kGitHubPush = R"json({
  "ref": "refs/heads/main",
  "before": "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
  "after": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
  "created": false, "deleted": false, "forced": false, "base_ref": null,
  "compare": "https://github.com/Codertocat/Hello-World/compare/6113728f27ae...0d1a26e67d8f",
  "commits": [
    {"id": "1111111111111111111111111111111111111111", "tree_id": "f9d2a07e9488b91af2641b26b9407fe22a451433",
     "distinct": true, "message": "Add the greeting", "timestamp": "2019-05-15T15:19:30-05:00",
     "url": "https://github.com/Codertocat/Hello-World/commit/1111111111111111111111111111111111111111",
     "author": {"name": "Codertocat", "email": "21031067+Codertocat@users.noreply.github.com", "username": "Codertocat"},
     "committer": {"name": "Codertocat", "email": "21031067+Codertocat@users.noreply.github.com", "username": "Codertocat"},
     "added": ["hello.c"], "removed": ["old.c"], "modified": []},
    {"id": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c", "tree_id": "f9d2a07e9488b91af2641b26b9407fe22a451433",
     "distinct": true, "message": "Update README.md", "timestamp": "2019-05-15T15:20:30-05:00",
     "url": "https://github.com/Codertocat/Hello-World/commit/0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
     "author": {"name": "Codertocat", "email": "21031067+Codertocat@users.noreply.github.com", "username": "Codertocat"},
     "committer": {"name": "GitHub", "email": "noreply@github.com", "username": "web-flow"},
     "added": [], "removed": [], "modified": ["README.md"]}
  ],
  "head_commit": {"id": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c", "distinct": true,
     "message": "Update README.md", "timestamp": "2019-05-15T15:20:30-05:00",
     "url": "https://github.com/Codertocat/Hello-World/commit/0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
     "author": {"name": "Codertocat", "email": "21031067+Codertocat@users.noreply.github.com", "username": "Codertocat"},
     "committer": {"name": "GitHub", "email": "noreply@github.com", "username": "web-flow"},
     "added": [], "removed": [], "modified": ["README.md"]},
  "repository": {"id": 186853002, "node_id": "MDEwOlJlcG9zaXRvcnkxODY4NTMwMDI=", "name": "Hello-World",
     "full_name": "Codertocat/Hello-World", "private": false,
     "owner": {"name": "Codertocat", "login": "Codertocat", "id": 21031067},
     "html_url": "https://github.com/Codertocat/Hello-World", "description": null, "fork": false,
     "default_branch": "main"},
  "pusher": {"name": "Codertocat", "email": "21031067+Codertocat@users.noreply.github.com"},
  "sender": {"login": "Codertocat", "id": 21031067, "type": "User", "site_admin": false}
})json";

// GitHub's documented pull_request "opened" example (trimmed).
constexpr std::string_view kGitHubPullRequest = R"json({
  "action": "opened",
  "number": 2,
  "pull_request": {
    "url": "https://api.github.com/repos/Codertocat/Hello-World/pulls/2", "id": 279147437,
    "html_url": "https://github.com/Codertocat/Hello-World/pull/2", "number": 2, "state": "open",
    "locked": false, "title": "Update the README with new information.",
    "user": {"login": "Codertocat", "id": 21031067},
    "body": "This is a pretty simple change that we need to pull into master.",
    "created_at": "2019-05-15T15:20:33Z", "updated_at": "2019-05-15T15:20:33Z",
    "head": {"label": "Codertocat:changes", "ref": "changes", "sha": "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
             "repo": {"full_name": "Codertocat/Hello-World"}},
    "base": {"label": "Codertocat:master", "ref": "master", "sha": "f95f852bd8fca8fcc58a9a2d6c842781e32a215e",
             "repo": {"name": "Hello-World", "full_name": "Codertocat/Hello-World"}},
    "_links": {"html": {"href": "https://github.com/Codertocat/Hello-World/pull/2"}},
    "merged": false, "commits": 1, "additions": 1, "deletions": 1, "changed_files": 1
  },
  "repository": {"name": "Hello-World", "full_name": "Codertocat/Hello-World",
                 "html_url": "https://github.com/Codertocat/Hello-World"},
  "sender": {"login": "Codertocat", "id": 21031067}
})json";

// GitLab's documented push event example (trimmed).
constexpr std::string_view kGitLabPush = R"json({
  "object_kind": "push", "event_name": "push",
  "before": "95790bf891e76fee5e1747ab589903a6a1f80f22",
  "after": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
  "ref": "refs/heads/master",
  "checkout_sha": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
  "user_id": 4, "user_name": "John Smith", "user_username": "jsmith", "user_email": "john@example.com",
  "project_id": 15,
  "project": {"id": 15, "name": "Diaspora", "web_url": "http://example.com/mike/diaspora",
              "git_ssh_url": "git@example.com:mike/diaspora.git",
              "git_http_url": "http://example.com/mike/diaspora.git",
              "path_with_namespace": "mike/diaspora", "default_branch": "master"},
  "repository": {"name": "Diaspora", "url": "git@example.com:mike/diaspora.git", "description": "",
                 "homepage": "http://example.com/mike/diaspora",
                 "git_http_url": "http://example.com/mike/diaspora.git",
                 "git_ssh_url": "git@example.com:mike/diaspora.git", "visibility_level": 0},
  "commits": [
    {"id": "b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327",
     "message": "Update Catalan translation to e38cb41.\n\nSee https://gitlab.com/gitlab-org/gitlab for more information",
     "title": "Update Catalan translation to e38cb41.",
     "timestamp": "2011-12-12T14:27:31+02:00",
     "url": "http://example.com/mike/diaspora/commit/b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327",
     "author": {"name": "Jordi Mallach", "email": "jordi@softcatala.org"},
     "added": ["CHANGELOG"], "modified": ["app/controller/application.rb"], "removed": []},
    {"id": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7", "message": "fixed readme", "title": "fixed readme",
     "timestamp": "2012-01-03T23:36:29+02:00",
     "url": "http://example.com/mike/diaspora/commit/da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
     "author": {"name": "GitLab dev user", "email": "gitlabdev@dv6700.(none)"},
     "added": ["CHANGELOG"], "modified": ["app/controller/application.rb"], "removed": []}
  ],
  "total_commits_count": 2
})json";

// GitLab's documented merge request event example (trimmed).
constexpr std::string_view kGitLabMergeRequest = R"json({
  "object_kind": "merge_request", "event_type": "merge_request",
  "user": {"id": 1, "name": "Administrator", "username": "root"},
  "project": {"id": 1, "name": "Gitlab Test", "web_url": "http://example.com/gitlabhq/gitlab-test"},
  "repository": {"name": "Gitlab Test", "url": "http://example.com/gitlabhq/gitlab-test.git"},
  "object_attributes": {
    "id": 99, "iid": 1, "target_branch": "master", "source_branch": "ms-viewport",
    "source_project_id": 14, "target_project_id": 14, "author_id": 51,
    "title": "MS-Viewport", "description": "Fixes the viewport", "state": "opened",
    "merge_status": "unchecked", "url": "http://example.com/diaspora/merge_requests/1",
    "source": {"name": "Awesome Project", "web_url": "http://example.com/awesome_space/awesome_project",
               "git_ssh_url": "git@example.com:awesome_space/awesome_project.git",
               "git_http_url": "http://example.com/awesome_space/awesome_project.git"},
    "target": {"name": "Awesome Project", "web_url": "http://example.com/awesome_space/awesome_project",
               "git_ssh_url": "git@example.com:awesome_space/awesome_project.git",
               "git_http_url": "http://example.com/awesome_space/awesome_project.git"},
    "last_commit": {"id": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7", "message": "fixed readme",
                    "timestamp": "2012-01-03T23:36:29+02:00",
                    "url": "http://example.com/awesome_space/awesome_project/commits/da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
                    "author": {"name": "GitLab dev user", "email": "gitlabdev@dv6700.(none)"}},
    "work_in_progress": false, "action": "open"
  }
})json";

constexpr std::string_view kSecret = "It's a Secret to Everybody";

std::string signature(std::string_view algorithm, std::string_view key, std::string_view body) {
    const auto mac = algorithm == "sha256" ? hmac_sha256(key, body) : hmac_sha1(key, body);
    return std::string(algorithm) + "=" + to_hex(mac);
}

io::HttpRequest post(std::string target, std::string body, std::string content_type,
                     std::vector<io::HttpHeader> headers = {}) {
    io::HttpRequest request;
    request.method = "POST";
    request.target = std::move(target);
    request.body = std::move(body);
    request.headers = std::move(headers);
    request.headers.push_back({"Content-Type", std::move(content_type)});
    request.remote_endpoint = "127.0.0.1:1";
    return request;
}

io::HttpRequest github(std::string event, std::string_view body, bool sign_256 = true,
                       bool sign_1 = false) {
    std::vector<io::HttpHeader> headers{{"X-GitHub-Event", std::move(event)}};
    if (sign_256) headers.push_back({"X-Hub-Signature-256", signature("sha256", kSecret, body)});
    if (sign_1) headers.push_back({"X-Hub-Signature", signature("sha1", kSecret, body)});
    return post("/change_hook/github", std::string(body), "application/json", std::move(headers));
}

io::HttpRequest gitlab(std::string_view body, std::string token = "gl-token") {
    return post("/change_hook/gitlab", std::string(body), "application/json",
                {{"X-Gitlab-Event", "Push Hook"}, {"X-Gitlab-Token", std::move(token)}});
}

config::ChangeHookConfig all_dialects() {
    config::ChangeHookConfig hooks;
    hooks.base = true;
    hooks.github.emplace();
    hooks.github->secret = std::string(kSecret);
    hooks.github->strict = true;
    hooks.gitlab.emplace();
    hooks.gitlab->secret = "gl-token";
    return hooks;
}

class ChangeHooksTest : public data::testing::StoreTest {
protected:
    ChangeHooksTest() { now = 1795282620; }

    io::HttpResponse send(io::HttpRequest request,
                          config::ChangeHookConfig config = all_dialects()) {
        return run(hooks.handle(std::move(request), std::move(config)));
    }

    std::vector<data::Change> stored() {
        data::Query oldest_first;
        oldest_first.order.push_back({"changeid", false});
        return run(queries.changes(oldest_first)).items;
    }

    data::Queries queries{context};
    ChangeHooks hooks{context};
};

TEST(HookPayload, reads_iso_8601_times_with_offsets) {
    EXPECT_EQ(detail::parse_iso8601("2019-05-15T15:20:30-05:00"), 1557951630);
    EXPECT_EQ(detail::parse_iso8601("2011-12-12T14:27:31+02:00"), 1323692851);
    EXPECT_EQ(detail::parse_iso8601("2019-05-15T15:20:33Z"), 1557933633);
    EXPECT_EQ(detail::parse_iso8601("2019-05-15T15:20:33.123Z"), 1557933633);
    EXPECT_EQ(detail::parse_iso8601("2019-05-15 15:20:33 UTC"), 1557933633);
    EXPECT_EQ(detail::parse_iso8601("2019-05-15T15:20:33+0000"), 1557933633);
    EXPECT_FALSE(detail::parse_iso8601("yesterday"));
    EXPECT_FALSE(detail::parse_iso8601("2019-13-15T15:20:33Z"));
    EXPECT_FALSE(detail::parse_iso8601("2019-05-15T15:20:33 PST"));
}

TEST(HookPayload, hmacs_match_known_answers) {
    const std::string_view message = "The quick brown fox jumps over the lazy dog";
    EXPECT_EQ(to_hex(hmac_sha1("key", message)), "de7c9b85b8b78aa6bc8a7a36f70a90701c9db4d9");
    EXPECT_EQ(to_hex(hmac_sha256("key", message)),
              "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8");
}

TEST_F(ChangeHooksTest, base_form_post_stores_the_change_as_buildbot_does) {
    auto response = send(
        post("/change_hook/base",
             "author=Bob+Dev+%3Cbob%40example.com%3E&committer=Bob+Dev+%3Cbob%40example.com%3E"
             "&comments=Fix+the+frobnicator&revision=0123456789abcdef0123456789abcdef01234567"
             "&branch=main&repository=https%3A%2F%2Fgit.example.invalid%2Fproj.git&project=proj"
             "&category=push&revlink=https%3A%2F%2Fgit.example.invalid%2Fproj%2Fcommit%2F0123456"
             "&files=%5B%22src%2Ffrob.c%22%2C%22README%22%5D"
             "&properties=%7B%22ticket%22%3A%22BUG-7%22%2C%22priority%22%3A3%7D"
             "&when_timestamp=1700000000",
             "application/x-www-form-urlencoded"));
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.body, "1 change found");
    ASSERT_EQ(response.headers.size(), 1u);
    EXPECT_EQ(response.headers[0].value, "text/html; charset=utf-8");
    auto changes = stored();
    ASSERT_EQ(changes.size(), 1u);
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
    EXPECT_EQ(boost::json::value(changes[0].to_json()), expected);
}

TEST_F(ChangeHooksTest, base_get_with_a_query_string_and_a_json_body_also_work) {
    io::HttpRequest get;
    get.method = "GET";
    get.target = "/change_hook/base?comments=via+GET&branch=other&who=dave";
    auto response = send(get);
    EXPECT_EQ(response.status, 200) << response.body;
    auto json = post("/change_hook", R"({"author": "erin", "comments": "as JSON", "files": ["a"],
        "properties": {"k": [1, 2]}, "when_timestamp": 1600000000.7, "branch": "dev"})",
                     "application/json");
    response = send(json);
    EXPECT_EQ(response.status, 200) << response.body;
    auto changes = stored();
    ASSERT_EQ(changes.size(), 2u);
    EXPECT_EQ(changes[0].author, "dave") << "'who' is Buildbot's older name for author";
    EXPECT_EQ(changes[0].comments, "via GET");
    EXPECT_EQ(changes[0].branch, "other");
    EXPECT_FALSE(changes[0].revision);
    EXPECT_FALSE(changes[0].committer);
    EXPECT_EQ(changes[0].when_timestamp, 1795282620) << "now";
    EXPECT_EQ(changes[1].author, "erin");
    EXPECT_EQ(changes[1].files, std::vector<std::string>{"a"});
    EXPECT_EQ(changes[1].when_timestamp, 1600000000);
    EXPECT_EQ(changes[1].properties.value_or_null("k"), boost::json::parse("[1,2]"));
}

TEST_F(ChangeHooksTest, base_refuses_malformed_fields_and_stores_nothing) {
    const std::pair<std::string, std::string> cases[] = {
        {"author=a&files=%5Bbroken", "'files' must be JSON text"},
        {"author=a&files=%7B%7D", "'files' must be a JSON list of file names"},
        {"author=a&properties=%5B1%5D", "'properties' must be a JSON object"},
        {"author=a&when_timestamp=soon", "'when_timestamp' must be a time in seconds"},
        {"author=a&when=-5", "'when' must be a time in seconds"},
        {"author=%zz", "bad"},
    };
    for (const auto& [body, reason] : cases) {
        auto response = send(post("/change_hook/base", body, "application/x-www-form-urlencoded"));
        EXPECT_EQ(response.status, 400) << body;
        if (reason != "bad") {
            EXPECT_NE(response.body.find(reason), std::string::npos) << response.body;
            EXPECT_EQ(response.reason, response.body) << "the reason phrase says it too";
        }
    }
    auto response = send(post("/change_hook/base", "[1, 2", "application/json"));
    EXPECT_EQ(response.status, 400);
    EXPECT_NE(response.body.find("Error loading JSON"), std::string::npos) << response.body;
    EXPECT_TRUE(stored().empty());
}

TEST_F(ChangeHooksTest, github_push_makes_one_change_per_commit) {
    auto response = send(github("push", kGitHubPush));
    ASSERT_EQ(response.status, 200) << response.body;
    EXPECT_EQ(response.body, "2 change found");
    auto changes = stored();
    ASSERT_EQ(changes.size(), 2u);
    const auto& first = changes[0];
    EXPECT_EQ(first.revision, "1111111111111111111111111111111111111111");
    EXPECT_EQ(first.files, (std::vector<std::string>{"hello.c", "old.c"}));
    EXPECT_EQ(first.comments, "Add the greeting");
    const auto& head = changes[1];
    EXPECT_EQ(head.author, "Codertocat <21031067+Codertocat@users.noreply.github.com>");
    EXPECT_EQ(head.committer, "GitHub <noreply@github.com>");
    EXPECT_EQ(head.files, std::vector<std::string>{"README.md"});
    EXPECT_EQ(head.comments, "Update README.md");
    EXPECT_EQ(head.revision, "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c");
    EXPECT_EQ(head.when_timestamp, 1557951630);
    EXPECT_EQ(head.branch, "main");
    EXPECT_EQ(head.revlink, "https://github.com/Codertocat/Hello-World/commit/"
                            "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c");
    EXPECT_EQ(head.repository, "https://github.com/Codertocat/Hello-World");
    EXPECT_EQ(head.project, "Codertocat/Hello-World");
    EXPECT_FALSE(head.category);
    EXPECT_EQ(head.properties.value_or_null("github_distinct"), boost::json::value(true));
    EXPECT_EQ(head.properties.value_or_null("event"), boost::json::value("push"));
    EXPECT_EQ(head.properties.find("event")->source, "Change");
    EXPECT_EQ(head.parent_changeid, first.changeid);
}

TEST_F(ChangeHooksTest, github_accepts_either_signature_and_checks_both_when_both_come) {
    EXPECT_EQ(send(github("push", kGitHubPush, false, true)).status, 200) << "sha1 alone";
    EXPECT_EQ(send(github("push", kGitHubPush, true, true)).status, 200) << "both";
    auto both_one_bad = github("push", kGitHubPush, true, false);
    both_one_bad.headers.push_back({"X-Hub-Signature", "sha1=" + std::string(40, '0')});
    auto response = send(both_one_bad);
    EXPECT_EQ(response.status, 400);
    EXPECT_EQ(response.body, "Hash mismatch");
    EXPECT_EQ(stored().size(), 4u);
}

TEST_F(ChangeHooksTest, github_refuses_bad_missing_or_malformed_signatures) {
    struct Case {
        std::string header, value, reason;
    };
    const Case cases[] = {
        {"X-Hub-Signature-256", "sha256=" + std::string(64, 'a'), "Hash mismatch"},
        {"X-Hub-Signature", "sha1=deadbeef", "Hash mismatch"},
        {"X-Hub-Signature-256", "sha256", "Wrong signature format: sha256"},
        {"X-Hub-Signature", "md5=abc", "Unknown hash type: md5"},
        {"X-Hub-Signature-256", signature("sha256", "another secret", kGitHubPush),
         "Hash mismatch"},
    };
    for (const auto& c : cases) {
        auto request = github("push", kGitHubPush, false, false);
        request.headers.push_back({c.header, c.value});
        auto response = send(request);
        EXPECT_EQ(response.status, 400) << c.value;
        EXPECT_EQ(response.body, c.reason);
        EXPECT_EQ(response.reason, c.reason);
    }
    auto unsigned_request = github("push", kGitHubPush, false, false);
    auto response = send(unsigned_request);
    EXPECT_EQ(response.status, 400);
    EXPECT_EQ(response.body, "Request has no required signature");
    auto tampered = github("push", kGitHubPush);
    tampered.body[tampered.body.find("main")] = 'M';
    EXPECT_EQ(send(tampered).body, "Hash mismatch");
    EXPECT_TRUE(stored().empty());

    auto lenient = all_dialects();
    lenient.github->strict = false;
    EXPECT_EQ(send(unsigned_request, lenient).status, 200) << "not strict: unsigned is fine";
    lenient.github->secret.reset();
    auto wrong = github("push", kGitHubPush, false, false);
    wrong.headers.push_back({"X-Hub-Signature", "sha1=deadbeef"});
    EXPECT_EQ(send(wrong, lenient).status, 200) << "without a secret nothing is checked";
}

TEST_F(ChangeHooksTest, github_answers_ping_and_refuses_unknown_events_and_bad_bodies) {
    auto ping = send(github("ping", R"({"zen": "Keep it logically awesome.", "hook_id": 1})"));
    EXPECT_EQ(ping.status, 200);
    EXPECT_EQ(ping.body, "no change found");
    auto issues = send(github("issues", R"({"action": "opened"})"));
    EXPECT_EQ(issues.status, 400);
    EXPECT_EQ(issues.body, "Unknown event: issues");
    auto broken = send(github("push", R"({"ref": )"));
    EXPECT_EQ(broken.status, 400);
    EXPECT_NE(broken.body.find("Error loading JSON"), std::string::npos);
    auto text = github("push", kGitHubPush);
    text.headers.back().value = "text/plain";
    EXPECT_EQ(send(text).body, "Unknown content type: text/plain");
    auto incomplete = send(github("push", R"({"ref": "refs/heads/main", "repository": {}})"));
    EXPECT_EQ(incomplete.status, 400);
    EXPECT_EQ(incomplete.body, "payload: 'repository.html_url' is missing");
    auto wrong_type = std::string(kGitHubPush);
    wrong_type.replace(wrong_type.find("\"Update README.md\""), 18, "42");
    EXPECT_EQ(send(github("push", wrong_type)).body, "payload: 'message' must be a string");
    EXPECT_TRUE(stored().empty());
}

TEST_F(ChangeHooksTest, github_form_encoded_payloads_tags_deletions_and_skips) {
    const std::string form = "payload=" + [] {
        std::string encoded;
        for (char c : kGitHubPush) {
            if (std::isalnum(static_cast<unsigned char>(c)))
                encoded += c;
            else {
                char buffer[4];
                std::snprintf(buffer, sizeof buffer, "%%%02X", static_cast<unsigned char>(c));
                encoded += buffer;
            }
        }
        return encoded;
    }();
    auto request = github("push", form);
    request.headers.back().value = "application/x-www-form-urlencoded";
    EXPECT_EQ(send(request).status, 200);
    EXPECT_EQ(stored().size(), 2u);

    auto payload = boost::json::parse(kGitHubPush).as_object();
    payload["ref"] = "refs/tags/v1.0";
    auto tag = boost::json::serialize(payload);
    EXPECT_EQ(send(github("push", tag)).body, "2 change found");
    EXPECT_EQ(stored().back().branch, "v1.0");
    EXPECT_EQ(stored().back().category, "tag");

    payload["ref"] = "refs/heads/main";
    payload["deleted"] = true;
    EXPECT_EQ(send(github("push", boost::json::serialize(payload))).body, "no change found");
    payload["deleted"] = false;
    payload["head_commit"].as_object()["message"] = "Docs only [ci skip]";
    EXPECT_EQ(send(github("push", boost::json::serialize(payload))).body, "no change found");
    payload["head_commit"].as_object()["message"] = "Builds";
    payload["created"] = true;
    EXPECT_EQ(send(github("push", boost::json::serialize(payload))).body, "1 change found")
        << "a new branch: only its head commit";
    EXPECT_EQ(stored().size(), 5u);
}

TEST_F(ChangeHooksTest, github_pull_requests_come_from_the_payload_alone) {
    auto hooks_config = all_dialects();
    hooks_config.github->github_property_whitelist = {"github.head.ref", "github.user.*"};
    auto response = send(github("pull_request", kGitHubPullRequest), hooks_config);
    ASSERT_EQ(response.status, 200) << response.body;
    auto changes = stored();
    ASSERT_EQ(changes.size(), 1u);
    const auto& change = changes[0];
    EXPECT_EQ(change.branch, "refs/pull/2/merge");
    EXPECT_EQ(change.revision, "ec26c3e57ca3a959ca5aad62de7213c562f8c821");
    EXPECT_EQ(change.category, "pull");
    EXPECT_EQ(change.author, "Codertocat");
    EXPECT_EQ(change.project, "Codertocat/Hello-World");
    EXPECT_EQ(change.repository, "https://github.com/Codertocat/Hello-World");
    EXPECT_EQ(change.revlink, "https://github.com/Codertocat/Hello-World/pull/2");
    EXPECT_EQ(change.when_timestamp, 1557933633);
    EXPECT_TRUE(change.files.empty()) << "no API call for the file list";
    EXPECT_EQ(change.comments, "GitHub Pull Request #2 (1 commit)\nUpdate the README with new "
                               "information.\nThis is a pretty simple change that we need to "
                               "pull into master.");
    EXPECT_EQ(change.properties.value_or_null("basename"), boost::json::value("master"));
    EXPECT_EQ(change.properties.value_or_null("event"), boost::json::value("pull_request"));
    EXPECT_EQ(change.properties.value_or_null("pullrequesturl"),
              boost::json::value("https://github.com/Codertocat/Hello-World/pull/2"));
    EXPECT_EQ(change.properties.value_or_null("github.head.ref"), boost::json::value("changes"));
    EXPECT_EQ(change.properties.value_or_null("github.user.login"),
              boost::json::value("Codertocat"));
    EXPECT_FALSE(change.properties.has("github.title"));

    auto closed = boost::json::parse(kGitHubPullRequest).as_object();
    closed["action"] = "closed";
    EXPECT_EQ(send(github("pull_request", boost::json::serialize(closed))).body, "no change found");
}

TEST_F(ChangeHooksTest, gitlab_push_and_merge_request_events_make_changes) {
    auto response = send(gitlab(kGitLabPush));
    ASSERT_EQ(response.status, 200) << response.body;
    EXPECT_EQ(response.body, "2 change found");
    auto changes = stored();
    ASSERT_EQ(changes.size(), 2u);
    EXPECT_EQ(changes[0].author, "Jordi Mallach <jordi@softcatala.org>");
    EXPECT_EQ(changes[0].files,
              (std::vector<std::string>{"CHANGELOG", "app/controller/application.rb"}));
    EXPECT_EQ(changes[0].when_timestamp, 1323692851);
    EXPECT_EQ(changes[0].branch, "master");
    EXPECT_EQ(changes[0].repository, "git@example.com:mike/diaspora.git");
    EXPECT_EQ(changes[0].project, "Diaspora");
    EXPECT_EQ(changes[0].category, "push");
    EXPECT_EQ(changes[1].revision, "da1560886d4f094c3e6c9ef40349f7d38b5d27d7");

    auto with_codebase = gitlab(kGitLabMergeRequest);
    with_codebase.target += "?codebase=web";
    response = send(with_codebase);
    ASSERT_EQ(response.status, 200) << response.body;
    const auto request_change = stored().back();
    EXPECT_EQ(request_change.branch, "master");
    EXPECT_EQ(request_change.category, "merge_request");
    EXPECT_EQ(request_change.codebase, "web");
    EXPECT_EQ(request_change.comments, "MR#1: MS-Viewport\n\nFixes the viewport");
    EXPECT_EQ(request_change.repository, "http://example.com/awesome_space/awesome_project.git");
    EXPECT_EQ(request_change.properties.value_or_null("source_branch"),
              boost::json::value("ms-viewport"));
    EXPECT_EQ(request_change.properties.value_or_null("target_project_id"), boost::json::value(14));

    auto merged = boost::json::parse(kGitLabMergeRequest).as_object();
    merged["object_attributes"].as_object()["state"] = "merged";
    EXPECT_EQ(send(gitlab(boost::json::serialize(merged))).body, "no change found");
}

TEST_F(ChangeHooksTest, gitlab_refuses_a_wrong_token_and_unknown_events) {
    auto response = send(gitlab(kGitLabPush, "guess"));
    EXPECT_EQ(response.status, 400);
    EXPECT_EQ(response.body, "Invalid secret");
    response = send(gitlab(R"({"object_kind": "pipeline"})"));
    EXPECT_EQ(response.status, 400);
    EXPECT_EQ(response.body, "Unknown event: pipeline");
    response = send(gitlab("not json"));
    EXPECT_EQ(response.status, 400);
    EXPECT_TRUE(stored().empty());
}

TEST_F(ChangeHooksTest, a_dialect_must_be_enabled_and_hooks_must_be_configured) {
    config::ChangeHookConfig base_only;
    base_only.base = true;
    auto response = send(gitlab(kGitLabPush), base_only);
    EXPECT_EQ(response.status, 400);
    EXPECT_EQ(response.body, "The dialect specified, 'gitlab', wasn't whitelisted in change_hook");
    EXPECT_EQ(response.reason, response.body);
    EXPECT_EQ(send(post("/change_hook/bitbucket", "{}", "application/json"), base_only).status,
              400);
    EXPECT_EQ(send(post("/change_hook", "author=a", "application/x-www-form-urlencoded"),
                   config::ChangeHookConfig{})
                  .status,
              404);
    EXPECT_TRUE(stored().empty());
    EXPECT_TRUE(is_change_hook_path("/change_hook"));
    EXPECT_TRUE(is_change_hook_path("/change_hook/github"));
    EXPECT_FALSE(is_change_hook_path("/change_hooks"));
}

TEST_F(ChangeHooksTest, change_hook_auth_requires_basic_credentials) {
    auto hooks_config = all_dialects();
    hooks_config.auth = {{"robot", "s3cret"}};
    auto request = post("/change_hook/base", "author=a", "application/x-www-form-urlencoded");
    auto response = send(request, hooks_config);
    EXPECT_EQ(response.status, 401);
    auto wrong = request;
    wrong.headers.push_back({"Authorization", "Basic cm9ib3Q6Z3Vlc3M="});  // robot:guess
    EXPECT_EQ(send(wrong, hooks_config).status, 401);
    auto right = request;
    right.headers.push_back({"Authorization", "Basic cm9ib3Q6czNjcmV0"});  // robot:s3cret
    EXPECT_EQ(send(right, hooks_config).status, 200);
    EXPECT_EQ(stored().size(), 1u);
}

}  // namespace
}  // namespace kiln::www
