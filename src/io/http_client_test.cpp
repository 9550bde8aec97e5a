// SPDX-License-Identifier: Apache-2.0
// parse_http_url: the master URLs `kiln sendchange --master` accepts.
#include "io/http_client.hpp"

#include <gtest/gtest.h>

namespace kiln::io {
namespace {

TEST(ParseHttpUrl, reads_host_port_and_path) {
    auto url = parse_http_url("http://ci.example:8010/");
    ASSERT_TRUE(url) << url.error().message;
    EXPECT_EQ(url->host, "ci.example");
    EXPECT_EQ(url->port, 8010);
    EXPECT_EQ(url->path, "/");
    url = parse_http_url("127.0.0.1:9000");
    ASSERT_TRUE(url);
    EXPECT_EQ(url->host, "127.0.0.1");
    EXPECT_EQ(url->port, 9000);
    EXPECT_EQ(url->path, "/");
    url = parse_http_url("http://[::1]:8010/ci/");
    ASSERT_TRUE(url);
    EXPECT_EQ(url->host, "::1");
    EXPECT_EQ(url->path, "/ci/");
    url = parse_http_url("http://example.org");
    ASSERT_TRUE(url);
    EXPECT_EQ(url->port, 80);
}

TEST(ParseHttpUrl, refuses_other_schemes_credentials_and_bad_ports) {
    EXPECT_FALSE(parse_http_url("https://ci.example/"));
    EXPECT_FALSE(parse_http_url("http://user:pw@ci.example/"));
    EXPECT_FALSE(parse_http_url("http://ci.example:0/"));
    EXPECT_FALSE(parse_http_url("http://ci.example:99999/"));
    EXPECT_FALSE(parse_http_url("http://:8010/"));
    EXPECT_NE(parse_http_url("https://x/").error().message.find("only http://"), std::string::npos);
}

}  // namespace
}  // namespace kiln::io
