// SPDX-License-Identifier: Apache-2.0
// live_json against what Python's json.dumps and str() write (expected texts from Python 3.11).
#include "www/live_json.hpp"

#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <gtest/gtest.h>

namespace {

namespace json = boost::json;
using kiln::www::live_json;
using kiln::www::LiveJsonStyle;
using kiln::www::python_str;

TEST(LiveJson, keeps_key_order_with_compact_or_python_separators) {
    const auto value = json::parse(R"({"b":1,"a":[1,"x",null,true],"c":{"z":false,"y":{}}})");
    EXPECT_EQ(live_json(value, LiveJsonStyle::compact),
              R"({"b":1,"a":[1,"x",null,true],"c":{"z":false,"y":{}}})");
    EXPECT_EQ(live_json(value, LiveJsonStyle::python),
              R"({"b": 1, "a": [1, "x", null, true], "c": {"z": false, "y": {}}})");
    EXPECT_EQ(live_json(json::parse("[]"), LiveJsonStyle::python), "[]");
}

TEST(LiveJson, escapes_like_ensure_ascii) {
    json::value value = json::string("\"\\/\n\r\t\b\f\x01\x7f caf\xc3\xa9 \xf0\x9f\x98\x80");
    EXPECT_EQ(live_json(value, LiveJsonStyle::compact),
              R"("\"\\/\n\r\t\b\f\u0001\u007f caf\u00e9 \ud83d\ude00")");
}

TEST(LiveJson, replaces_each_byte_of_invalid_utf8) {
    json::value value = json::string("a\xff\xc3(b\xed\xa0\x80");  // bad byte, cut, surrogate
    EXPECT_EQ(live_json(value, LiveJsonStyle::compact), R"("a\ufffd\ufffd(b\ufffd\ufffd\ufffd")");
}

TEST(LiveJson, writes_numbers_as_python_does) {
    const std::vector<std::pair<double, std::string>> cases = {
        {1.0, "1.0"},
        {0.1, "0.1"},
        {0.3, "0.3"},
        {1e16, "1e+16"},
        {1e15, "1000000000000000.0"},
        {1e-5, "1e-05"},
        {0.0001, "0.0001"},
        {-0.0, "-0.0"},
        {1.5e300, "1.5e+300"},
        {123.456, "123.456"},
        {2.5e-7, "2.5e-07"},
        {1234567890123456.8, "1234567890123456.8"},
        {12345678901234567.0, "1.2345678901234568e+16"},
        {5e-324, "5e-324"},
        {1.7976931348623157e308, "1.7976931348623157e+308"},
        {std::numeric_limits<double>::infinity(), "Infinity"},
        {-std::numeric_limits<double>::infinity(), "-Infinity"},
        {std::numeric_limits<double>::quiet_NaN(), "NaN"},
    };
    for (const auto& [number, text] : cases)
        EXPECT_EQ(live_json(json::value(number), LiveJsonStyle::compact), text) << text;
    EXPECT_EQ(live_json(json::value(-42), LiveJsonStyle::compact), "-42");
    EXPECT_EQ(live_json(json::value(18446744073709551615u), LiveJsonStyle::compact),
              "18446744073709551615");
}

TEST(LiveJson, python_str_matches_pythons_str_of_the_decoded_value) {
    EXPECT_EQ(python_str(json::parse("42")), "42");
    EXPECT_EQ(python_str(json::parse("null")), "None");
    EXPECT_EQ(python_str(json::parse("false")), "False");
    EXPECT_EQ(python_str(json::parse("1.5")), "1.5");
    EXPECT_EQ(python_str(json::parse(R"("plain 'text'")")), "plain 'text'");
    EXPECT_EQ(python_str(json::parse(
                  R"(["a", 1, true, null, {"k": "it's"}, "say \"hi\"", "tab\t", 1.5])")),
              R"(['a', 1, True, None, {'k': "it's"}, 'say "hi"', 'tab\t', 1.5])");
    EXPECT_EQ(python_str(json::parse(R"({"a": {"b": []}})")), "{'a': {'b': []}}");
}

}  // namespace
