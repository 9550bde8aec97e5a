// SPDX-License-Identifier: Apache-2.0
// parse_json_rpc_request(): the JSON-RPC envelope checks with Buildbot's messages and codes.
#include "www/json_rpc_request.hpp"

#include <gtest/gtest.h>

namespace kiln::www {
namespace {

constexpr std::optional<std::string_view> kJson = "application/json";

RpcEnvelopeError refusal(std::optional<std::string_view> content_type, std::string_view body) {
    auto parsed = parse_json_rpc_request(content_type, body);
    if (const auto* error = std::get_if<RpcEnvelopeError>(&parsed)) return *error;
    ADD_FAILURE() << "accepted: " << body;
    return {};
}

TEST(ParseJsonRpcRequest, reads_method_id_and_params) {
    auto parsed = parse_json_rpc_request(
        "application/json; charset=utf-8",
        R"({"jsonrpc": "2.0", "method": "force", "id": 7, "params": {"reason": "r"}})");
    ASSERT_TRUE(std::holds_alternative<RpcRequest>(parsed));
    const auto& request = std::get<RpcRequest>(parsed);
    EXPECT_EQ(request.method, "force");
    EXPECT_EQ(request.id, boost::json::value(7));
    EXPECT_EQ(request.params.at("reason"), "r");

    auto null_id = parse_json_rpc_request(
        kJson, R"({"jsonrpc": "2.0", "method": "stop", "id": null, "params": {}})");
    ASSERT_TRUE(std::holds_alternative<RpcRequest>(null_id));
    EXPECT_TRUE(std::get<RpcRequest>(null_id).id.is_null());
}

TEST(ParseJsonRpcRequest, refuses_with_buildbots_messages_and_codes) {
    EXPECT_EQ(refusal(std::nullopt, "{}").message, "Invalid content-type (use application/json)");
    EXPECT_EQ(refusal("application/x-www-form-urlencoded", "{}").code, kRpcInvalidRequest);
    auto not_json = refusal(kJson, "{nope");
    EXPECT_EQ(not_json.code, kRpcParseError);
    EXPECT_EQ(not_json.message.rfind("JSON parse error: ", 0), 0u);
    EXPECT_EQ(refusal(kJson, "[]").message, "JSONRPC batch requests are not supported");
    EXPECT_EQ(refusal(kJson, "3").message, "JSONRPC root object must be an object");
    EXPECT_EQ(refusal(kJson, R"({"jsonrpc": "2.0", "method": "m", "params": {}})").message,
              "missing key 'id'");
    EXPECT_EQ(refusal(kJson, R"({"jsonrpc": "1.0", "method": "m", "id": 1, "params": {}})").message,
              "only JSONRPC 2.0 is supported");
    EXPECT_EQ(
        refusal(kJson, R"({"jsonrpc": "2.0", "method": "m", "id": [], "params": {}})").message,
        "'id' must be a string, number, or null");
    EXPECT_EQ(refusal(kJson, R"({"jsonrpc": "2.0", "method": 1, "id": 1, "params": {}})").message,
              "'method' must be a string");
    EXPECT_EQ(refusal(kJson, R"({"jsonrpc": "2.0", "method": "m", "id": 1, "params": []})").message,
              "'params' must be an object");
    EXPECT_EQ(refusal(kJson, "").code, kRpcParseError);
}

}  // namespace
}  // namespace kiln::www
