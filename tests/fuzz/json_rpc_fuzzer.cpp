// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: a JSON-RPC control body through parse_json_rpc_request(), the envelope
// check JsonRpc runs before anything else. The first byte picks the Content-Type. Anything may
// be refused; nothing may crash, hang or leak.
#include "www/json_rpc_request.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <variant>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static constexpr std::array<std::string_view, 4> kContentTypes{
        "application/json", "application/json; charset=utf-8", "text/plain", "application/json ;"};
    if (size == 0) return 0;
    const std::optional<std::string_view> content_type =
        data[0] < 0xf0 ? std::optional(kContentTypes[data[0] % kContentTypes.size()])
                       : std::nullopt;
    const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
    auto parsed = kiln::www::parse_json_rpc_request(content_type, body);
    if (const auto* request = std::get_if<kiln::www::RpcRequest>(&parsed)) {
        const auto& id = request->id;
        if (!id.is_string() && !id.is_number() && !id.is_null()) __builtin_trap();
    } else if (std::get<kiln::www::RpcEnvelopeError>(parsed).message.empty()) {
        __builtin_trap();
    }
    return 0;
}
