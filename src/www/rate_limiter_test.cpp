// SPDX-License-Identifier: Apache-2.0
// RateLimiter: the token bucket per client, Retry-After, and the bounded table of clients.
#include "www/rate_limiter.hpp"

#include <gtest/gtest.h>

namespace kiln::www {
namespace {

using namespace std::chrono_literals;
using Clock = RateLimiter::Clock;

TEST(RateLimiter, lets_a_burst_through_then_refuses_until_a_token_refills) {
    RateLimiter limiter({.requests_per_second = 2, .burst = 3});
    const auto start = Clock::time_point{} + 1h;
    for (int i = 0; i < 3; ++i)
        EXPECT_FALSE(limiter.take("10.0.0.1", start)) << "request " << i;
    auto refused = limiter.take("10.0.0.1", start);
    ASSERT_TRUE(refused);
    EXPECT_EQ(*refused, 1s) << "half a second to the next token, rounded up";
    EXPECT_FALSE(limiter.take("10.0.0.2", start)) << "another client has its own bucket";
    EXPECT_TRUE(limiter.take("10.0.0.1", start + 400ms));
    EXPECT_FALSE(limiter.take("10.0.0.1", start + 600ms));
    EXPECT_TRUE(limiter.take("10.0.0.1", start + 700ms));
    // Idle long enough, the bucket is full again, never more than the burst.
    for (int i = 0; i < 3; ++i)
        EXPECT_FALSE(limiter.take("10.0.0.1", start + 1h));
    EXPECT_TRUE(limiter.take("10.0.0.1", start + 1h));
}

TEST(RateLimiter, says_how_long_to_wait_at_a_slow_rate) {
    RateLimiter limiter({.requests_per_second = 0.1, .burst = 1});
    const auto start = Clock::time_point{} + 1h;
    EXPECT_FALSE(limiter.take("c", start));
    auto refused = limiter.take("c", start + 2s);
    ASSERT_TRUE(refused);
    EXPECT_EQ(*refused, 8s);
}

TEST(RateLimiter, keeps_its_table_of_clients_bounded) {
    RateLimiter limiter({.requests_per_second = 1, .burst = 2}, 100);
    const auto start = Clock::time_point{} + 1h;
    // Many clients at once, each still within its burst (none is idle long enough to forget).
    for (int i = 0; i < 10'000; ++i) {
        EXPECT_FALSE(limiter.take("client-" + std::to_string(i), start + i * 1ms));
        ASSERT_LE(limiter.tracked_clients(), 100u);
    }
    // Clients whose buckets have refilled are forgotten first, and cost nothing to forget.
    RateLimiter idle({.requests_per_second = 1, .burst = 2}, 10);
    for (int i = 0; i < 10; ++i)
        EXPECT_FALSE(idle.take("old-" + std::to_string(i), start));
    EXPECT_FALSE(idle.take("busy", start + 10s));
    EXPECT_FALSE(idle.take("busy", start + 10s));
    EXPECT_EQ(idle.tracked_clients(), 1u);
    EXPECT_TRUE(idle.take("busy", start + 10s)) << "the busy client's bucket was kept";
}

TEST(RateLimiter, identifies_a_client_by_its_address_without_the_port) {
    EXPECT_EQ(client_address("127.0.0.1:51234"), "127.0.0.1");
    EXPECT_EQ(client_address("[::1]:8010"), "::1");
    EXPECT_EQ(client_address("[2001:db8::7]:1"), "2001:db8::7");
    EXPECT_EQ(client_address("no-port"), "no-port");
}

}  // namespace
}  // namespace kiln::www
