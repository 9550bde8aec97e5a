// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: arbitrary bytes through the worker-protocol decoder and the typed parsers
// of both directions. Anything may be rejected; nothing may crash, hang or leak.
#include "protocol/codec.hpp"
#include "protocol/messages.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view bytes(reinterpret_cast<const char*>(data), size);
    auto message = kiln::protocol::decode_message(bytes);
    if (!message) return 0;
    if (const auto* request = std::get_if<kiln::protocol::Request>(&*message)) {
        if (auto typed = kiln::protocol::parse_master_request(*request))
            (void)kiln::protocol::encode(*typed, request->seq_number);
        if (auto typed = kiln::protocol::parse_worker_request(*request))
            (void)kiln::protocol::encode(*typed, request->seq_number);
        for (const auto& [key, value] : request->fields)
            (void)kiln::protocol::LineChunk::from_value(value);
    } else {
        (void)kiln::protocol::encode_response(std::get<kiln::protocol::Response>(*message));
    }
    return 0;
}
