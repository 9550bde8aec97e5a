// SPDX-License-Identifier: Apache-2.0
// `kiln sendchange`: sends one change to a master's base change hook (/change_hook/base) over
// HTTP, as Buildbot's `buildbot sendchange` does over PB.
#pragma once

#include "core/expected.hpp"

#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace kiln::master {

struct SendChangeOptions {
    std::string master;               // the master's web URL: http://host:port/ (or host:port)
    std::optional<std::string> auth;  // "user:password" for www.change_hook_auth
    std::optional<std::string> who, repository, branch, revision, comments, category, project,
        codebase, revlink;
    std::optional<std::string> logfile;  // comments read from this file ("-": standard input)
    std::vector<std::string> files;
    std::vector<std::string> properties;  // "name=value" (or Buildbot's "name:value")
    std::optional<double> when;           // epoch seconds
};

// The form body of the change (application/x-www-form-urlencoded); an error names the bad
// option.
core::Expected<std::string> sendchange_form(const SendChangeOptions& options);

// Posts the change; prints the master's answer. Returns 0 when the master stored it, 1 with
// the master's message (or the connection's failure) on `err` otherwise.
int send_change(const SendChangeOptions& options, std::ostream& out, std::ostream& err);

}  // namespace kiln::master
