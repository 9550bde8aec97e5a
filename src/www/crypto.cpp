// SPDX-License-Identifier: Apache-2.0
#include "www/crypto.hpp"

#include <mutex>
#include <stdexcept>
#include <string>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>

namespace kiln::www {

void ensure_sodium() {
    static std::once_flag once;
    std::call_once(once, [] {
        if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialised");
    });
}

PasswordCost PasswordCost::interactive() {
    return {crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE,
            crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE};
}

PasswordCost PasswordCost::moderate() {
    return {crypto_pwhash_argon2id_OPSLIMIT_MODERATE, crypto_pwhash_argon2id_MEMLIMIT_MODERATE};
}

std::string hash_password(std::string_view password, PasswordCost cost) {
    ensure_sodium();
    char hash[crypto_pwhash_argon2id_STRBYTES];
    if (crypto_pwhash_argon2id_str(hash, password.data(), password.size(), cost.operations,
                                   cost.memory_bytes) != 0)
        throw std::runtime_error("password hashing ran out of memory");
    return hash;
}

bool verify_password(std::string_view hash, std::string_view password) {
    ensure_sodium();
    if (!hash.starts_with("$argon2id$") || hash.size() >= crypto_pwhash_argon2id_STRBYTES)
        return false;
    const std::string terminated(hash);  // libsodium reads a NUL-terminated string
    return crypto_pwhash_argon2id_str_verify(terminated.c_str(), password.data(),
                                             password.size()) == 0;
}

std::string random_bytes(std::size_t count) {
    ensure_sodium();
    std::string bytes(count, '\0');
    randombytes_buf(bytes.data(), bytes.size());
    return bytes;
}

std::string to_hex(std::string_view bytes) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string hex;
    hex.reserve(bytes.size() * 2);
    for (const char c : bytes) {
        const auto byte = static_cast<unsigned char>(c);
        hex += kHex[byte >> 4];
        hex += kHex[byte & 0xfu];
    }
    return hex;
}

std::string base64url_encode(std::string_view bytes) {
    ensure_sodium();
    constexpr int kVariant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
    std::string text(sodium_base64_encoded_len(bytes.size(), kVariant), '\0');
    sodium_bin2base64(text.data(), text.size(),
                      reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), kVariant);
    text.resize(text.size() - 1);  // the terminating NUL
    return text;
}

std::optional<std::string> base64url_decode(std::string_view text) {
    ensure_sodium();
    std::string bytes(text.size() * 3 / 4 + 3, '\0');
    std::size_t length = 0;
    const char* end = nullptr;
    if (sodium_base642bin(reinterpret_cast<unsigned char*>(bytes.data()), bytes.size(), text.data(),
                          text.size(), nullptr, &length, &end,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        end != text.data() + text.size())
        return std::nullopt;
    bytes.resize(length);
    return bytes;
}

std::string token_digest(std::string_view token) {
    ensure_sodium();
    unsigned char digest[crypto_generichash_BYTES];  // 32 bytes: BLAKE2b-256
    crypto_generichash(digest, sizeof digest, reinterpret_cast<const unsigned char*>(token.data()),
                       token.size(), nullptr, 0);
    return to_hex({reinterpret_cast<const char*>(digest), sizeof digest});
}

std::string hmac_sha1(std::string_view key, std::string_view message) {
    // libsodium has no SHA-1: OpenSSL's one-shot HMAC (GitHub's legacy webhook signature).
    std::string mac(EVP_MAX_MD_SIZE, '\0');
    unsigned int size = 0;
    if (!HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()),
              reinterpret_cast<const unsigned char*>(message.data()), message.size(),
              reinterpret_cast<unsigned char*>(mac.data()), &size))
        throw std::runtime_error("HMAC-SHA1 failed");
    mac.resize(size);
    return mac;
}

std::string hmac_sha256(std::string_view key, std::string_view message) {
    ensure_sodium();
    crypto_auth_hmacsha256_state state;
    crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(key.data()),
                                key.size());
    crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(message.data()),
                                  message.size());
    std::string mac(crypto_auth_hmacsha256_BYTES, '\0');
    crypto_auth_hmacsha256_final(&state, reinterpret_cast<unsigned char*>(mac.data()));
    sodium_memzero(&state, sizeof state);
    return mac;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
    ensure_sodium();
    if (a.size() != b.size()) return false;
    return a.empty() || sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace kiln::www
