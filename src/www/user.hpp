// SPDX-License-Identifier: Apache-2.0
// User: who sent an HTTP request, as authentication established it (anonymous when nothing
// did), with the roles authorization gave them.
#pragma once

#include <string>
#include <vector>

#include <boost/json/object.hpp>

namespace kiln::www {

struct User {
    bool anonymous = true;
    std::string username;
    std::string email;
    std::string full_name;
    std::vector<std::string> groups;
    std::vector<std::string> roles;  // filled by Authz::roles_of

    // Buildbot's user_info: {"anonymous": true}, or username, email, full_name, groups.
    boost::json::object user_info() const;
    // The owner recorded on what this user starts: "anonymous", else the first non-empty of
    // email, username and full name (Buildbot's rule for JSON-RPC calls).
    std::string owner() const;
    bool has_role(std::string_view role) const;
};

}  // namespace kiln::www
