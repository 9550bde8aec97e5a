// SPDX-License-Identifier: Apache-2.0
// Buildbot's result codes, identical numbers (0 success ... 6 cancelled).
#pragma once

#include <optional>
#include <string_view>

namespace kiln::core {

enum class Results : int {
    success = 0,
    warnings = 1,
    failure = 2,
    skipped = 3,
    exception = 4,
    retry = 5,
    cancelled = 6,
};

// Buildbot's lower-case names: "success", "warnings", ...
std::string_view to_string(Results result);
std::optional<Results> results_from_string(std::string_view name);

// The worse of two results, in Buildbot's order of precedence.
Results worst(Results a, Results b);

}  // namespace kiln::core
