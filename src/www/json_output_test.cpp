// SPDX-License-Identifier: Apache-2.0
// JSON text as Buildbot writes it: sorted keys, its escapes, compact and pretty layouts, and
// the object/array overloads writing what the json::value one writes.
#include "www/json_output.hpp"

#include <string>

#include <boost/json/parse.hpp>

#include <gtest/gtest.h>

namespace kiln::www {
namespace {

TEST(JsonOutput, sorts_keys_and_escapes_quotes_backslashes_and_control_characters) {
    boost::json::object object{{"b", 1}, {"a", "q\"b\\n\nt\tc\x01 é€"}, {"c", nullptr}};
    EXPECT_EQ(to_sorted_json(object), R"({"a":"q\"b\\n\nt\tc\u0001 é€","b":1,"c":null})");
}

TEST(JsonOutput, writes_the_pretty_layout_with_two_space_indents) {
    const auto value = boost::json::parse(R"({"z":[],"a":[1,{"c":null,"b":true}],"m":{}})");
    EXPECT_EQ(to_sorted_json(value, JsonStyle::pretty), "{\n"
                                                        "  \"a\": [\n"
                                                        "    1,\n"
                                                        "    {\n"
                                                        "      \"b\": true,\n"
                                                        "      \"c\": null\n"
                                                        "    }\n"
                                                        "  ],\n"
                                                        "  \"m\": {},\n"
                                                        "  \"z\": []\n"
                                                        "}");
}

TEST(JsonOutput, writes_an_object_or_array_as_the_same_text_as_that_value) {
    const auto value = boost::json::parse(
        R"({"k3":-5,"k1":[18446744073709551615,2.5,"s"],"k2":{"y":false,"x":"\u001f"}})");
    for (auto style : {JsonStyle::compact, JsonStyle::pretty}) {
        EXPECT_EQ(to_sorted_json(value.as_object(), style), to_sorted_json(value, style));
        const auto& list = value.as_object().at("k1").as_array();
        EXPECT_EQ(to_sorted_json(list, style), to_sorted_json(boost::json::value(list), style));
    }
    EXPECT_EQ(to_sorted_json(value.as_object().at("k2").as_object()),
              R"({"x":"\u001f","y":false})");
}

TEST(JsonOutput, sorts_objects_with_more_keys_than_fit_on_the_stack) {
    boost::json::object object;
    std::string expected = "{";
    for (int i = 99; i >= 0; --i)
        object[std::to_string(1000 + i)] = i;
    for (int i = 0; i < 100; ++i)
        expected += (i ? ",\"" : "\"") + std::to_string(1000 + i) + "\":" + std::to_string(i);
    EXPECT_EQ(to_sorted_json(object), expected + "}");
}

}  // namespace
}  // namespace kiln::www
