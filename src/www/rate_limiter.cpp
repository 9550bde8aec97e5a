// SPDX-License-Identifier: Apache-2.0
#include "www/rate_limiter.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace kiln::www {

RateLimiter::RateLimiter(RateLimit limit, std::size_t max_clients)
    : limit_(limit)
    , max_clients_(std::max<std::size_t>(max_clients, 1)) {
    limit_.requests_per_second = std::max(limit_.requests_per_second, 1e-6);
    limit_.burst = std::max<std::int64_t>(limit_.burst, 1);
}

double RateLimiter::tokens_at(const Bucket& bucket, Clock::time_point now) const {
    if (now <= bucket.updated) return bucket.tokens;
    const std::chrono::duration<double> elapsed = now - bucket.updated;
    return std::min(static_cast<double>(limit_.burst),
                    bucket.tokens + elapsed.count() * limit_.requests_per_second);
}

void RateLimiter::make_room(Clock::time_point now) {
    // A bucket that has refilled completely is the same as no bucket.
    std::erase_if(buckets_, [&](const auto& entry) {
        return tokens_at(entry.second, now) >= static_cast<double>(limit_.burst);
    });
    if (buckets_.size() < max_clients_) return;
    // Still full (many active clients): forget the least recently seen tenth at once, so
    // that this scan runs once per many new clients rather than once per request.
    std::vector<Clock::time_point> seen;
    seen.reserve(buckets_.size());
    for (const auto& [client, bucket] : buckets_)
        seen.push_back(bucket.updated);
    const auto drop = std::max<std::size_t>(buckets_.size() / 10, 1);
    const auto nth = seen.begin() + static_cast<std::ptrdiff_t>(drop - 1);
    std::nth_element(seen.begin(), nth, seen.end());
    const auto cutoff = *nth;
    std::erase_if(buckets_, [&](const auto& entry) { return entry.second.updated <= cutoff; });
}

std::optional<std::chrono::seconds> RateLimiter::take(std::string_view client,
                                                      Clock::time_point now) {
    auto found = buckets_.find(client);
    if (found == buckets_.end()) {
        if (buckets_.size() >= max_clients_) make_room(now);
        const Bucket full{static_cast<double>(limit_.burst), now};
        found = buckets_.emplace(std::string(client), full).first;
    }
    auto& bucket = found->second;
    bucket.tokens = tokens_at(bucket, now);
    bucket.updated = std::max(bucket.updated, now);
    if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return std::nullopt;
    }
    const double wait = (1 - bucket.tokens) / limit_.requests_per_second;
    const auto whole = static_cast<std::int64_t>(std::ceil(wait));
    return std::chrono::seconds(std::max<std::int64_t>(1, whole));
}

std::string_view client_address(std::string_view remote_endpoint) {
    if (remote_endpoint.starts_with('[')) {
        const auto close = remote_endpoint.find(']');
        if (close != std::string_view::npos) return remote_endpoint.substr(1, close - 1);
    }
    const auto colon = remote_endpoint.rfind(':');
    if (colon == std::string_view::npos) return remote_endpoint;
    return remote_endpoint.substr(0, colon);
}

}  // namespace kiln::www
