// SPDX-License-Identifier: Apache-2.0
// Base64 (RFC 4648, standard alphabet, padded), used for HTTP Basic credentials.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace kiln::core {

std::string base64_encode(std::string_view bytes);
// Empty optional when `text` is not valid padded base64.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace kiln::core
