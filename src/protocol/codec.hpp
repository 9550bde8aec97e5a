// SPDX-License-Identifier: Apache-2.0
// msgpack encoding and decoding of protocol Values, with the conventions both Buildbot peers
// use: str for text, bin for bytes, smallest int formats, float64, maps with str keys.
#pragma once

#include "core/expected.hpp"
#include "protocol/value.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace kiln::protocol {

struct DecodeLimits {
    std::size_t max_depth = 32;
    std::size_t max_container_entries = 1 << 20;
};

// Decodes exactly one msgpack document. Errors (truncated data, trailing bytes, invalid UTF-8
// in a str, non-string map keys, ext types, nesting deeper than the limit) name the problem.
core::Expected<Value> decode(std::string_view bytes, const DecodeLimits& limits = {});

// Appends the msgpack encoding of `value` to `out`.
void encode(const Value& value, std::string& out);
std::string encode(const Value& value);

// Writes msgpack piece by piece, in the formats encode() uses (smallest int formats, float64,
// str for text), for messages built without a Value tree (line chunks: two numbers per line).
class MessageWriter {
public:
    explicit MessageWriter(std::string& out)
        : out_(out) {}

    void map(std::size_t entries);
    void array(std::size_t items);
    void str(std::string_view text);
    void integer(std::int64_t i);
    void number(double d);
    void value(const Value& value);

private:
    void header(unsigned char tag, std::uint64_t value, std::size_t bytes);

    std::string& out_;
};

// True when `text` is valid UTF-8 (no overlongs, no surrogates, at most U+10FFFF).
bool is_valid_utf8(std::string_view text);

}  // namespace kiln::protocol
