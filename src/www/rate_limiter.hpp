// SPDX-License-Identifier: Apache-2.0
// RateLimiter: a token bucket per client (www.rate_limit): each request takes a token, a
// client's bucket holds at most `burst` tokens and refills at `requests_per_second`. The table
// of buckets is bounded: buckets that have refilled completely are forgotten (a new one would
// be the same), and past max_clients the least recently seen clients are forgotten too.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace kiln::www {

struct RateLimit {
    double requests_per_second = 10;
    std::int64_t burst = 20;
    bool operator==(const RateLimit&) const = default;
};

class RateLimiter {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr std::size_t kDefaultMaxClients = 10'000;

    explicit RateLimiter(RateLimit limit, std::size_t max_clients = kDefaultMaxClients);

    // Takes a token from the client's bucket. Empty when the request may go on; otherwise how
    // long until the next token (at least one second, for a Retry-After header).
    std::optional<std::chrono::seconds> take(std::string_view client, Clock::time_point now);

    const RateLimit& limit() const { return limit_; }
    std::size_t tracked_clients() const { return buckets_.size(); }

private:
    struct Bucket {
        double tokens = 0;
        Clock::time_point updated;  // when the client last asked
    };
    struct Hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view text) const {
            return std::hash<std::string_view>{}(text);
        }
    };
    double tokens_at(const Bucket& bucket, Clock::time_point now) const;
    void make_room(Clock::time_point now);

    RateLimit limit_;
    std::size_t max_clients_;
    std::unordered_map<std::string, Bucket, Hash, std::equal_to<>> buckets_;
};

// The address part of "address:port" or "[v6 address]:port" (a remote endpoint), which
// identifies a client for rate limiting.
std::string_view client_address(std::string_view remote_endpoint);

}  // namespace kiln::www
