// SPDX-License-Identifier: Apache-2.0
// ascii_run(): the length of a run of ASCII bytes, read eight bytes at a time. The fast path
// of every byte-level text scan (UTF-8 checks, decoding, code-point counts): most build output
// is ASCII.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace kiln::core {

inline std::size_t ascii_run(std::string_view text, std::size_t from = 0) {
    constexpr std::uint64_t kHighBits = 0x8080808080808080ull;
    std::size_t i = from;
    // 32 bytes per test while the text is ASCII (every log line goes through here).
    while (text.size() - i >= 32) {
        std::uint64_t words[4];
        std::memcpy(words, text.data() + i, sizeof words);
        if ((words[0] | words[1] | words[2] | words[3]) & kHighBits) break;
        i += 32;
    }
    while (text.size() - i >= 8) {
        std::uint64_t word;
        std::memcpy(&word, text.data() + i, sizeof word);
        if (word & kHighBits) break;
        i += 8;
    }
    while (i < text.size() && static_cast<unsigned char>(text[i]) < 0x80)
        ++i;
    return i - from;
}

}  // namespace kiln::core
