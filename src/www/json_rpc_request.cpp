// SPDX-License-Identifier: Apache-2.0
#include "www/json_rpc_request.hpp"

#include <boost/json/parse.hpp>

namespace kiln::www {

namespace {

bool is_content_json(std::optional<std::string_view> content_type) {
    if (!content_type) return false;
    auto type = content_type->substr(0, content_type->find(';'));
    while (!type.empty() && type.back() == ' ')
        type.remove_suffix(1);
    return type == "application/json";
}

RpcEnvelopeError invalid(std::string message) {
    return RpcEnvelopeError{kRpcInvalidRequest, std::move(message)};
}

}  // namespace

ParsedRpcRequest parse_json_rpc_request(std::optional<std::string_view> content_type,
                                        std::string_view body) {
    if (!is_content_json(content_type))
        return invalid("Invalid content-type (use application/json)");
    boost::system::error_code ec;
    auto parsed = boost::json::parse(body, ec);
    if (ec) return RpcEnvelopeError{kRpcParseError, "JSON parse error: " + ec.message()};
    if (parsed.is_array()) return invalid("JSONRPC batch requests are not supported");
    if (!parsed.is_object()) return invalid("JSONRPC root object must be an object");
    auto& fields = parsed.get_object();
    for (const char* key : {"jsonrpc", "method", "id", "params"})
        if (!fields.contains(key)) return invalid("missing key '" + std::string(key) + "'");
    if (!fields.at("jsonrpc").is_string() || fields.at("jsonrpc").get_string() != "2.0")
        return invalid("only JSONRPC 2.0 is supported");
    auto& id = fields.at("id");
    if (!id.is_string() && !id.is_number() && !id.is_null())
        return invalid("'id' must be a string, number, or null");
    if (!fields.at("method").is_string()) return invalid("'method' must be a string");
    if (!fields.at("params").is_object()) return invalid("'params' must be an object");
    RpcRequest request;
    request.method = std::string(fields.at("method").get_string());
    request.id = std::move(id);
    request.params = std::move(fields.at("params").get_object());
    return request;
}

}  // namespace kiln::www
