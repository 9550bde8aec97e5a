// SPDX-License-Identifier: Apache-2.0
// Where a configuration value came from, and one configuration error ("file:line: message").
#pragma once

#include <string>

namespace kiln::config {

// A place in master.lua (or a file it requires), relative to the master directory.
// line 0 = the file as a whole.
struct SourceLocation {
    std::string file;
    int line = 0;

    // "master.lua:12", or "master.lua" when line is 0.
    std::string to_string() const;
    bool operator==(const SourceLocation&) const = default;
};

struct ConfigError {
    SourceLocation where;
    std::string message;

    // "file:line: message" (the form `kiln checkconfig` prints).
    std::string to_string() const;
};

}  // namespace kiln::config
