// SPDX-License-Identifier: Apache-2.0
// The cryptography www/'s authentication uses, on libsodium: argon2id password hashes, API
// token digests, HMAC-SHA256 for session tokens and webhook signatures, constant-time
// comparison, random bytes, hex and unpadded base64url; HMAC-SHA1 (OpenSSL) for old webhooks. Every
// function is thread-safe (sodium_init runs once).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace kiln::www {

// Initialises libsodium once; throws std::runtime_error when it cannot. The functions below
// call it themselves.
void ensure_sodium();

// How much work one password hash costs (libsodium's opslimit / memlimit).
struct PasswordCost {
    unsigned long long operations;
    std::size_t memory_bytes;
    // libsodium's "interactive" limits (64 MiB, about 0.1 s): the default for web logins.
    static PasswordCost interactive();
    // libsodium's "moderate" limits (256 MiB, about 0.7 s).
    static PasswordCost moderate();
};

// An argon2id hash string ("$argon2id$v=19$m=...,t=...,p=1$salt$hash") of the password with a
// fresh random salt. Slow by design: never call it on the domain executor. Throws
// std::runtime_error when memory runs out.
std::string hash_password(std::string_view password,
                          PasswordCost cost = PasswordCost::interactive());
// Whether the password matches an argon2id hash string made by hash_password (false for
// anything else). As slow as hash_password.
bool verify_password(std::string_view hash, std::string_view password);

// `count` random bytes from the operating system's generator.
std::string random_bytes(std::size_t count);
// Lowercase hex of the bytes.
std::string to_hex(std::string_view bytes);
// RFC 4648 §5 base64url without padding (as JWT uses), and its inverse (nullopt when the text
// is not valid unpadded base64url).
std::string base64url_encode(std::string_view bytes);
std::optional<std::string> base64url_decode(std::string_view text);

// The hex BLAKE2b-256 digest of an API token's text: what the users file stores.
std::string token_digest(std::string_view token);
// HMAC-SHA1 of the message (20 raw bytes): only for peers that still sign with it (GitHub's
// X-Hub-Signature).
std::string hmac_sha1(std::string_view key, std::string_view message);
// HMAC-SHA256 of the message (32 raw bytes); the key may have any length.
std::string hmac_sha256(std::string_view key, std::string_view message);
// Equality whose time depends only on the lengths, not on where the bytes differ.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace kiln::www
