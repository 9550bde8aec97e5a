// SPDX-License-Identifier: Apache-2.0
#include "core/results.hpp"

#include <array>

namespace kiln::core {
namespace {

constexpr std::array<std::string_view, 7> kNames = {"success",   "warnings", "failure",  "skipped",
                                                    "exception", "retry",    "cancelled"};

// Buildbot's worst_status order: later entries win.
constexpr std::array<Results, 7> kPrecedence = {
    Results::skipped,   Results::success, Results::warnings, Results::failure,
    Results::exception, Results::retry,   Results::cancelled};

int rank(Results r) {
    for (std::size_t i = 0; i < kPrecedence.size(); ++i)
        if (kPrecedence[i] == r) return static_cast<int>(i);
    return 0;
}

}  // namespace

std::string_view to_string(Results result) {
    auto index = static_cast<std::size_t>(result);
    return index < kNames.size() ? kNames[index] : "unknown";
}

std::optional<Results> results_from_string(std::string_view name) {
    for (std::size_t i = 0; i < kNames.size(); ++i)
        if (kNames[i] == name) return static_cast<Results>(i);
    return std::nullopt;
}

Results worst(Results a, Results b) { return rank(a) >= rank(b) ? a : b; }

}  // namespace kiln::core
