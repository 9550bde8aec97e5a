// SPDX-License-Identifier: Apache-2.0
// The JSON-RPC body `kiln try` posts: Buildbot's try job fields, the diff in base64, and
// precise complaints about bad options.
#include "core/base64.hpp"
#include "master/try_client.hpp"

#include <boost/json/parse.hpp>

#include <gtest/gtest.h>

namespace kiln::master {
namespace {

TEST(TryRequestBody, carries_the_job_as_buildbot_try_fields) {
    TryOptions options;
    options.builders = {"a", "b"};
    options.comment = "please";
    options.who = "dana";
    options.properties = {"k=v=w"};
    options.patch_level = 0;
    TryPatch patch{"0123456789abcdef0123456789abcdef01234567", "main",
                   std::string("diff\0bytes", 10)};
    auto body = try_request_body(options, patch);
    ASSERT_TRUE(body) << body.error().message;
    auto json = boost::json::parse(*body).as_object();
    EXPECT_EQ(json.at("jsonrpc"), "2.0");
    EXPECT_EQ(json.at("method"), "try");
    const auto& params = json.at("params").as_object();
    EXPECT_EQ(params.at("builderNames"), boost::json::array({"a", "b"}));
    EXPECT_EQ(params.at("baserev"), "0123456789abcdef0123456789abcdef01234567");
    EXPECT_EQ(params.at("branch"), "main");
    EXPECT_EQ(params.at("comment"), "please");
    EXPECT_EQ(params.at("who"), "dana");
    EXPECT_EQ(params.at("patch_level"), 0);
    EXPECT_EQ(params.at("properties").at("k"), "v=w");
    EXPECT_EQ(core::base64_decode(params.at("patch_body_base64").as_string()),
              std::string("diff\0bytes", 10));
    EXPECT_FALSE(params.contains("repository"));
}

TEST(TryRequestBody, refuses_bad_options_before_sending) {
    TryOptions options;
    TryPatch patch{"abc", std::nullopt, "x"};
    EXPECT_EQ(try_request_body(options, patch).error().message, "give at least one --builder");
    options.builders = {"a"};
    options.properties = {"novalue"};
    EXPECT_EQ(try_request_body(options, patch).error().message,
              "--property 'novalue': expected NAME=VALUE");
    options.properties.clear();
    patch.diff.assign(kMaxTryDiffBytes + 1, 'x');
    EXPECT_NE(try_request_body(options, patch).error().message.find("more than the limit"),
              std::string::npos);
}

}  // namespace
}  // namespace kiln::master
