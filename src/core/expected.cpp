// SPDX-License-Identifier: Apache-2.0
#include "core/expected.hpp"

namespace kiln::core {

std::string_view to_string(ErrorKind kind) {
    switch (kind) {
    case ErrorKind::bad_input: return "bad input";
    case ErrorKind::not_found: return "not found";
    case ErrorKind::conflict: return "conflict";
    case ErrorKind::unavailable: return "unavailable";
    case ErrorKind::unauthenticated: return "unauthenticated";
    case ErrorKind::forbidden: return "forbidden";
    case ErrorKind::not_supported: return "not supported";
    case ErrorKind::internal: break;
    }
    return "internal error";
}

}  // namespace kiln::core
