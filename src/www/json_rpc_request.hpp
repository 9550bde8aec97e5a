// SPDX-License-Identifier: Apache-2.0
// The JSON-RPC 2.0 envelope of a control call (specs/rest-api.md §6): the content type and the
// body checked with Buildbot's messages and error codes, before anything is looked up. Pure, so
// it is unit-tested and fuzzed on its own.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

namespace kiln::www {

constexpr int kRpcParseError = -32700;
constexpr int kRpcInvalidRequest = -32600;

// A call as the envelope carried it.
struct RpcRequest {
    std::string method;
    boost::json::value id;  // a string, a number or null
    boost::json::object params;
};

// Why the envelope was refused (answered 400 without an id, as Buildbot does).
struct RpcEnvelopeError {
    int code = kRpcInvalidRequest;  // kRpcParseError for a body that is not JSON
    std::string message;
};

using ParsedRpcRequest = std::variant<RpcRequest, RpcEnvelopeError>;

// content_type: the request's Content-Type header, if any. Only application/json (with any
// parameters) is accepted; the body must be one object with "jsonrpc": "2.0", a string
// "method", an "id" that is a string, number or null, and an object "params".
ParsedRpcRequest parse_json_rpc_request(std::optional<std::string_view> content_type,
                                        std::string_view body);

}  // namespace kiln::www
