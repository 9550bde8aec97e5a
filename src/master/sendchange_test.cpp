// SPDX-License-Identifier: Apache-2.0
// The form `kiln sendchange` posts to /change_hook/base: only the fields given, files and
// properties as JSON text, and precise complaints about bad options.
#include "master/sendchange.hpp"

#include <sstream>

#include <gtest/gtest.h>

namespace kiln::master {
namespace {

TEST(SendChange, encodes_the_given_fields_as_the_base_hook_reads_them) {
    SendChangeOptions options;
    options.who = "Dana <dana@example.com>";
    options.branch = "main";
    options.comments = "Fix & ship";
    options.files = {"a.c", "dir/b c.h"};
    options.properties = {"ticket=REL-1", "legacy:colon"};
    options.when = 1700001234;
    auto form = sendchange_form(options);
    ASSERT_TRUE(form) << form.error().message;
    EXPECT_EQ(*form, "author=Dana%20%3Cdana%40example.com%3E&branch=main&comments=Fix%20%26%20ship"
                     "&files=%5B%22a.c%22%2C%22dir%2Fb%20c.h%22%5D"
                     "&properties=%7B%22ticket%22%3A%22REL-1%22%2C%22legacy%22%3A%22colon%22%7D"
                     "&when_timestamp=1700001234");
}

TEST(SendChange, refuses_bad_options_before_sending) {
    SendChangeOptions options;
    options.properties = {"novalue"};
    EXPECT_FALSE(sendchange_form(options));
    options.properties.clear();
    options.comments = "x";
    options.logfile = "/nonexistent";
    EXPECT_NE(sendchange_form(options).error().message.find("--comments and --logfile"),
              std::string::npos);
    options.comments.reset();
    EXPECT_NE(sendchange_form(options).error().message.find("cannot read"), std::string::npos);

    std::ostringstream out, err;
    options.logfile.reset();
    options.master = "https://ci.example/";
    EXPECT_EQ(send_change(options, out, err), 2);
    EXPECT_NE(err.str().find("--master"), std::string::npos);
}

}  // namespace
}  // namespace kiln::master
