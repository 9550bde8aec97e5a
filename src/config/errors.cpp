// SPDX-License-Identifier: Apache-2.0
#include "config/errors.hpp"

namespace kiln::config {

std::string SourceLocation::to_string() const {
    if (line <= 0) return file;
    return file + ":" + std::to_string(line);
}

std::string ConfigError::to_string() const {
    if (where.file.empty()) return message;
    return where.to_string() + ": " + message;
}

}  // namespace kiln::config
