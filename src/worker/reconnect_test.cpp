// SPDX-License-Identifier: Apache-2.0
// The worker's reconnect back-off: grows, is jittered, never exceeds the configured cap.
#include "worker/worker.hpp"

#include <gtest/gtest.h>

namespace kiln::worker {
namespace {

using std::chrono::milliseconds;

TEST(ReconnectDelay, grows_with_each_attempt) {
    EXPECT_LT(reconnect_delay(1, 300, 0), reconnect_delay(3, 300, 0));
}

TEST(ReconnectDelay, never_exceeds_the_cap_even_with_jitter) {
    for (int attempt = 1; attempt < 40; ++attempt)
        EXPECT_LE(reconnect_delay(attempt, 2.0, 0.99), milliseconds(2000)) << attempt;
}

TEST(ReconnectDelay, jitter_spreads_delays_below_the_cap) {
    EXPECT_GT(reconnect_delay(1, 300, 0.5), reconnect_delay(1, 300, 0.0));
}

}  // namespace
}  // namespace kiln::worker
