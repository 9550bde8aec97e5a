// SPDX-License-Identifier: Apache-2.0
#include "www/random_uuid.hpp"

#include <array>
#include <cstdint>
#include <random>

#include <sodium.h>

namespace kiln::www {
namespace {

std::array<std::uint8_t, 16> random_bytes() {
    std::array<std::uint8_t, 16> bytes{};
    static const bool has_sodium = sodium_init() >= 0;  // 0: started now, 1: already
    if (has_sodium) {
        randombytes_buf(bytes.data(), bytes.size());
        return bytes;
    }
    std::random_device device;
    for (std::size_t i = 0; i < bytes.size(); i += 4) {
        const auto word = device();
        for (std::size_t j = 0; j < 4; ++j)
            bytes[i + j] = static_cast<std::uint8_t>(word >> (8 * j));
    }
    return bytes;
}

}  // namespace

std::string random_uuid() {
    auto bytes = random_bytes();
    bytes[6] = static_cast<std::uint8_t>((bytes[6] & 0x0F) | 0x40);  // version 4
    bytes[8] = static_cast<std::uint8_t>((bytes[8] & 0x3F) | 0x80);  // RFC 4122 variant
    constexpr char kHex[] = "0123456789abcdef";
    std::string text;
    text.reserve(36);
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) text += '-';
        text += kHex[bytes[i] >> 4];
        text += kHex[bytes[i] & 0x0F];
    }
    return text;
}

}  // namespace kiln::www
