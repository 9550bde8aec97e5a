// SPDX-License-Identifier: Apache-2.0
// Every message of the captured Buildbot 3.7 session (specs/worker-protocol-transcript.jsonl)
// decoded, typed and re-encoded.
#include "protocol/codec.hpp"
#include "protocol/messages.hpp"

#include <cmath>
#include <fstream>

#include <boost/json.hpp>

#include <gtest/gtest.h>

using namespace kiln::protocol;
namespace json = boost::json;

namespace {

std::string unhex(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i + 1 < text.size(); i += 2)
        out += static_cast<char>(std::stoi(std::string(text.substr(i, 2)), nullptr, 16));
    return out;
}

// The transcript shows bin values as {"<bin>": {"bin_len": n, ...}}: rebuild n bytes.
Value from_json(const json::value& v) {
    switch (v.kind()) {
    case json::kind::null: return Value{};
    case json::kind::bool_: return Value{v.get_bool()};
    case json::kind::int64: return Value{static_cast<long long>(v.get_int64())};
    case json::kind::uint64: return Value{static_cast<unsigned long long>(v.get_uint64())};
    case json::kind::double_: return Value{v.get_double()};
    case json::kind::string: return Value{std::string(v.get_string())};
    case json::kind::array: {
        Array a;
        for (const auto& item : v.get_array())
            a.push_back(from_json(item));
        return Value{std::move(a)};
    }
    case json::kind::object: {
        const auto& object = v.get_object();
        if (object.size() == 1 && object.contains("<bin>")) {
            const auto& bin = object.at("<bin>").as_object();
            auto length = bin.at("bin_len").to_number<std::size_t>();
            if (bin.contains("prefix_utf8") && bin.at("prefix_utf8").as_string().size() == length)
                return Value{Binary{std::string(bin.at("prefix_utf8").as_string())}};
            return Value{Binary{std::string(length, 'x')}};
        }
        Map m;
        for (const auto& [key, item] : object)
            m.emplace_back(std::string(key), from_json(item));
        return Value{std::move(m)};
    }
    }
    return Value{};
}

// Equality that allows the last digit of a float to differ: Boost.JSON 1.81 does not always
// parse decimal text to the nearest double.
bool same(const Value& a, const Value& b) {
    if (a.is_float() && b.is_float()) {
        double x = *a.as_number(), y = *b.as_number();
        return std::abs(x - y) <= 1e-15 * std::max(std::abs(x), std::abs(y));
    }
    if (a.is_array() && b.is_array()) {
        const auto &x = *a.if_array(), &y = *b.if_array();
        if (x.size() != y.size()) return false;
        for (std::size_t i = 0; i < x.size(); ++i)
            if (!same(x[i], y[i])) return false;
        return true;
    }
    if (a.is_map() && b.is_map()) {
        const auto &x = *a.if_map(), &y = *b.if_map();
        if (x.size() != y.size()) return false;
        for (std::size_t i = 0; i < x.size(); ++i)
            if (x[i].first != y[i].first || !same(x[i].second, y[i].second)) return false;
        return true;
    }
    return a == b;
}

struct Captured {
    int line = 0;
    std::string direction;
    json::value message;
    std::string raw;  // exact bytes, for short messages
};

std::vector<Captured> load_transcript() {
    std::ifstream in(std::string(KILN_SHARED_DIR) + "/specs/worker-protocol-transcript.jsonl");
    std::vector<Captured> all;
    std::string line;
    while (std::getline(in, line)) {
        auto object = json::parse(line).as_object();
        if (!object.contains("msg")) continue;
        Captured c;
        c.line = static_cast<int>(object.at("n").as_int64());
        c.direction = std::string(object.at("dir").as_string());
        c.message = object.at("msg");
        if (object.contains("raw_hex")) c.raw = unhex(object.at("raw_hex").as_string());
        all.push_back(std::move(c));
    }
    return all;
}

}  // namespace

TEST(Transcript, holds_every_captured_message) {
    auto all = load_transcript();
    EXPECT_EQ(all.size(), 436u) << "transcript not found or changed: " KILN_SHARED_DIR;
}

TEST(Transcript, raw_messages_decode_to_the_captured_values_and_re_encode_byte_for_byte) {
    int checked = 0;
    for (const auto& c : load_transcript()) {
        if (c.raw.empty()) continue;
        auto decoded = decode(c.raw);
        ASSERT_TRUE(decoded) << "line " << c.line << ": " << decoded.error().message;
        EXPECT_TRUE(same(*decoded, from_json(c.message)))
            << "line " << c.line << ": " << decoded->debug_string();
        EXPECT_EQ(encode(*decoded), c.raw) << "line " << c.line;
        ++checked;
    }
    EXPECT_EQ(checked, 321);
}

TEST(Transcript, every_message_parses_into_its_typed_form_and_back) {
    int requests = 0;
    int responses = 0;
    for (const auto& c : load_transcript()) {
        auto value = from_json(c.message);
        auto message = decode_message(encode(value));
        ASSERT_TRUE(message) << "line " << c.line << ": " << message.error().message;
        if (const auto* response = std::get_if<Response>(&*message)) {
            ++responses;
            if (!c.raw.empty()) {
                EXPECT_EQ(encode_response(*response), c.raw) << "line " << c.line;
            }
            continue;
        }
        const auto& request = std::get<Request>(*message);
        ++requests;
        std::string reencoded;
        if (c.direction == "M->W") {
            auto typed = parse_master_request(request);
            ASSERT_TRUE(typed) << "line " << c.line << ": " << typed.error().message;
            EXPECT_EQ(op_name(*typed), request.op);
            reencoded = encode(*typed, request.seq_number);
        } else {
            auto typed = parse_worker_request(request);
            ASSERT_TRUE(typed) << "line " << c.line << ": " << typed.error().message;
            EXPECT_EQ(op_name(*typed), request.op);
            reencoded = encode(*typed, request.seq_number);
        }
        // The typed encoders put the keys in the stock peers' order, so the bytes match.
        EXPECT_EQ(reencoded, encode(value)) << "line " << c.line << " op " << request.op;
    }
    EXPECT_EQ(requests + responses, 436);
    EXPECT_EQ(responses, 218);
}

TEST(Transcript, worker_info_carries_the_stock_command_list) {
    for (const auto& c : load_transcript()) {
        auto value = from_json(c.message);
        const auto* result = value.find("result");
        if (!result || !result->find("worker_commands")) continue;
        const auto& commands = *result->find("worker_commands")->if_map();
        ASSERT_EQ(commands.size(), stock_worker_commands().size());
        for (const auto& name : stock_worker_commands()) {
            const auto* version = find(commands, name);
            ASSERT_NE(version, nullptr) << name;
            EXPECT_EQ(*version, Value{"3.1"});
        }
        return;
    }
    FAIL() << "no get_worker_info response in the transcript";
}
