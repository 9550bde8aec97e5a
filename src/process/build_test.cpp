// SPDX-License-Identifier: Apache-2.0
// Buildbot's rules for turning step results into a build's results and state string.
#include "process/build.hpp"

#include <gtest/gtest.h>

namespace kiln::process {
namespace {

using core::Results;

TEST(BuildResults, a_failing_step_fails_the_build_but_does_not_halt_it_by_default) {
    StepOptions options;
    auto [results, halt] = merge_step_results(options, Results::failure, Results::success);
    EXPECT_EQ(results, Results::failure);
    EXPECT_FALSE(halt);
}

TEST(BuildResults, halt_on_failure_stops_the_build) {
    StepOptions options;
    options.halt_on_failure = true;
    EXPECT_TRUE(merge_step_results(options, Results::failure, Results::success).second);
    EXPECT_FALSE(merge_step_results(options, Results::success, Results::success).second);
}

TEST(BuildResults, warn_on_failure_without_flunk_gives_warnings) {
    StepOptions options;
    options.flunk_on_failure = false;
    options.warn_on_failure = true;
    EXPECT_EQ(merge_step_results(options, Results::failure, Results::success).first,
              Results::warnings);
    options.warn_on_failure = false;
    EXPECT_EQ(merge_step_results(options, Results::failure, Results::success).first,
              Results::success);
}

TEST(BuildResults, step_warnings_count_only_with_warn_or_flunk_on_warnings) {
    StepOptions options;
    EXPECT_EQ(merge_step_results(options, Results::warnings, Results::success).first,
              Results::success);
    options.warn_on_warnings = true;
    EXPECT_EQ(merge_step_results(options, Results::warnings, Results::success).first,
              Results::warnings);
    options.flunk_on_warnings = true;
    EXPECT_EQ(merge_step_results(options, Results::warnings, Results::success).first,
              Results::failure);
}

TEST(BuildResults, exception_retry_and_cancelled_always_end_the_build) {
    StepOptions options;
    for (auto step : {Results::exception, Results::retry, Results::cancelled}) {
        auto [results, halt] = merge_step_results(options, step, Results::failure);
        EXPECT_EQ(results, step);
        EXPECT_TRUE(halt);
    }
}

TEST(BuildResults, the_build_keeps_its_worst_result) {
    StepOptions options;
    EXPECT_EQ(merge_step_results(options, Results::success, Results::failure).first,
              Results::failure);
}

TEST(BuildSummary, reads_like_buildbot) {
    EXPECT_EQ(build_summary(Results::success, std::nullopt, {}), "build successful");
    EXPECT_EQ(build_summary(Results::failure, std::nullopt, {"'make check' (failure)"}),
              "failed 'make check' (failure)");
    EXPECT_EQ(build_summary(Results::cancelled, std::string("stopped by alice"),
                            {"'sleep 30' (cancelled)"}),
              "cancelled (stopped by alice) 'sleep 30' (cancelled)");
    EXPECT_EQ(build_summary(Results::retry, std::nullopt, {"worker not available"}),
              "retry worker not available");
}

}  // namespace
}  // namespace kiln::process
