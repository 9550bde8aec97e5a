// SPDX-License-Identifier: Apache-2.0
// The version Kiln reports (worker info, --version, the API's /version).
#pragma once

#include <string_view>

namespace kiln::core {

inline constexpr std::string_view kVersion = "0.1.0";

}  // namespace kiln::core
