// SPDX-License-Identifier: Apache-2.0
// parse_try_job(): every field of a try job checked, with the field named in the error; and
// the k.allow.try authorization rule.
#include "core/base64.hpp"
#include "www/authz.hpp"
#include "www/try_job.hpp"

#include <boost/json/parse.hpp>

#include <gtest/gtest.h>

namespace kiln::www {
namespace {

boost::json::object params(std::string_view json) { return boost::json::parse(json).as_object(); }

std::string refusal(std::string_view json, std::size_t max_patch = kMaxTryPatchBytes) {
    auto job = parse_try_job(params(json), max_patch);
    if (job) {
        ADD_FAILURE() << "accepted: " << json;
        return {};
    }
    EXPECT_EQ(job.error().kind, core::ErrorKind::bad_input);
    return job.error().message;
}

TEST(ParseTryJob, reads_every_field) {
    auto job = parse_try_job(params(R"({"builderNames": ["a", "b"], "branch": "main",
        "baserev": "0123abcd", "repository": "file:///r.git", "project": "p", "who": "alice",
        "comment": "line one\nline two", "patch_level": 2, "patch_body": "--- a/x\n+++ b/x\n",
        "properties": {"n": 1, "s": "t"}, "jobid": "job-7", "owner": "ignored"})"));
    ASSERT_TRUE(job) << job.error().message;
    const auto& j = job.value();
    EXPECT_EQ(j.builders, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(j.branch, std::optional<std::string>("main"));
    EXPECT_EQ(j.revision, std::optional<std::string>("0123abcd"));
    EXPECT_EQ(j.repository, "file:///r.git");
    EXPECT_EQ(j.project, "p");
    EXPECT_EQ(j.who, "alice");
    EXPECT_EQ(j.comment, "line one\nline two");
    EXPECT_EQ(j.patch_level, 2);
    EXPECT_EQ(j.patch_body, "--- a/x\n+++ b/x\n");
    EXPECT_EQ(j.properties.size(), 2u);
    EXPECT_EQ(j.jobid, std::optional<std::string>("job-7"));
}

TEST(ParseTryJob, defaults_and_empty_strings) {
    auto job = parse_try_job(params(R"({"builderNames": ["a"], "branch": "", "baserev": null})"));
    ASSERT_TRUE(job) << job.error().message;
    EXPECT_EQ(job.value().branch, std::nullopt);
    EXPECT_EQ(job.value().revision, std::nullopt);
    EXPECT_EQ(job.value().patch_level, 1);
    EXPECT_TRUE(job.value().patch_body.empty());
    EXPECT_TRUE(job.value().properties.empty());
    auto level = parse_try_job(params(R"({"builderNames": ["a"], "patch_level": "0"})"));
    ASSERT_TRUE(level);
    EXPECT_EQ(level.value().patch_level, 0);
}

TEST(ParseTryJob, decodes_a_base64_patch_with_binary_bytes) {
    const std::string body("GIT binary patch\n\x00\xff\xfe", 20);
    boost::json::object p = params(R"({"builderNames": ["a"]})");
    p["patch_body_base64"] = core::base64_encode(body);
    auto job = parse_try_job(p);
    ASSERT_TRUE(job) << job.error().message;
    EXPECT_EQ(job.value().patch_body, body);
}

TEST(ParseTryJob, refuses_bad_builder_lists) {
    EXPECT_EQ(refusal(R"({})"), "builderNames: must be a non-empty list of builder names");
    EXPECT_EQ(refusal(R"({"builderNames": []})"),
              "builderNames: must be a non-empty list of builder names");
    EXPECT_EQ(refusal(R"({"builderNames": "a"})"),
              "builderNames: must be a non-empty list of builder names");
    EXPECT_EQ(refusal(R"({"builderNames": [1]})").substr(0, 14), "builderNames: ");
    EXPECT_EQ(refusal(R"({"builderNames": [""]})").substr(0, 14), "builderNames: ");
    EXPECT_EQ(refusal(R"({"builderNames": ["a", "a"]})"), "builderNames: names 'a' twice");
}

TEST(ParseTryJob, refuses_bad_text_fields) {
    EXPECT_EQ(refusal(R"({"builderNames": ["a"], "branch": 3})"), "branch: must be a string");
    EXPECT_EQ(refusal(R"({"builderNames": ["a"], "baserev": "a\nb"})"),
              "baserev: must not hold control characters");
    const std::string long_branch(257, 'x');
    EXPECT_EQ(refusal(R"({"builderNames": ["a"], "branch": ")" + long_branch + R"("})"),
              "branch: is longer than 256 bytes");
    EXPECT_EQ(refusal(R"({"builderNames": ["a"], "who": ["x"]})"), "who: must be a string");
}

TEST(ParseTryJob, refuses_bad_patch_levels_and_bodies) {
    EXPECT_EQ(refusal(R"({"builderNames": ["a"], "patch_level": -1})"),
              "patch_level: must be an integer from 0 to 100");
    EXPECT_EQ(refusal(R"({"builderNames": ["a"], "patch_level": "x"})"),
              "patch_level: must be an integer from 0 to 100");
    EXPECT_EQ(refusal(R"({"builderNames": ["a"], "patch_level": 1.5})"),
              "patch_level: must be an integer from 0 to 100");
    EXPECT_EQ(refusal(R"({"builderNames": ["a"], "patch_body": "x", "patch_body_base64": "eA=="})"),
              "patch_body: give either patch_body or patch_body_base64, not both");
    EXPECT_EQ(refusal(R"({"builderNames": ["a"], "patch_body_base64": "not base64!"})"),
              "patch_body_base64: is not valid base64");
    EXPECT_EQ(refusal(R"({"builderNames": ["a"], "patch_body": 7})"),
              "patch_body: must be a string");
}

TEST(ParseTryJob, refuses_patches_over_the_limit_in_either_form) {
    const std::string big(101, 'x');
    boost::json::object plain = params(R"({"builderNames": ["a"]})");
    plain["patch_body"] = big;
    auto job = parse_try_job(plain, 100);
    ASSERT_FALSE(job);
    EXPECT_EQ(job.error().message, "patch_body: is larger than 100 bytes");
    boost::json::object encoded = params(R"({"builderNames": ["a"]})");
    encoded["patch_body_base64"] = core::base64_encode(big);
    job = parse_try_job(encoded, 100);
    ASSERT_FALSE(job);
    EXPECT_EQ(job.error().message, "patch_body_base64: is larger than 100 bytes");
    // Exactly at the limit is fine.
    encoded["patch_body_base64"] = core::base64_encode(std::string(100, 'x'));
    EXPECT_TRUE(parse_try_job(encoded, 100));
}

TEST(ParseTryJob, refuses_bad_properties) {
    EXPECT_EQ(refusal(R"({"builderNames": ["a"], "properties": [1]})"),
              "properties: must be an object");
    EXPECT_EQ(refusal(R"({"builderNames": ["a"], "properties": {"": 1}})"),
              "properties: has a bad name ''");
}

TEST(AllowTry, matches_try_calls_on_tryschedulers_for_the_builders_named) {
    config::AuthzConfig authz;
    config::RoleMatcherConfig groups;
    groups.type = "from_groups";
    authz.roles.push_back(groups);
    config::AllowRuleConfig rule;
    rule.type = "try";
    rule.role = "testers";
    rule.builder = "linux-*";
    authz.rules.push_back(rule);
    Authorizer authorizer(authz);
    User tester;
    tester.anonymous = false;
    tester.username = "t";
    tester.groups = {"testers"};
    User other = tester;
    other.groups = {"devs"};
    const AuthzRequest on_linux{"try", {"tryschedulers", "try"}, {"linux-x86"}, {}};
    const AuthzRequest on_mac{"try", {"tryschedulers", "try"}, {"mac"}, {}};
    EXPECT_TRUE(authorizer.check(tester, on_linux));
    auto refused = authorizer.check(other, on_linux);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().kind, core::ErrorKind::forbidden);
    EXPECT_EQ(refused.error().message, "you need to have role 'testers'");
    // The rule's builder glob does not cover mac: no rule matches, so it is allowed.
    EXPECT_TRUE(authorizer.check(other, on_mac));
    // A force is not a try.
    const AuthzRequest force{"force", {"forceschedulers", "f"}, {"linux-x86"}, {}};
    EXPECT_TRUE(authorizer.check(other, force));
}

}  // namespace
}  // namespace kiln::www
