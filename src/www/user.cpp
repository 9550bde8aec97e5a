// SPDX-License-Identifier: Apache-2.0
#include "www/user.hpp"

#include <algorithm>

#include <boost/json/array.hpp>

namespace kiln::www {

boost::json::object User::user_info() const {
    boost::json::object info;
    if (anonymous) {
        info["anonymous"] = true;
        return info;
    }
    info["username"] = username;
    info["email"] = email;
    info["full_name"] = full_name;
    boost::json::array group_list;
    for (const auto& group : groups)
        group_list.emplace_back(group);
    info["groups"] = std::move(group_list);
    return info;
}

std::string User::owner() const {
    if (anonymous) return "anonymous";
    for (const auto* candidate : {&email, &username, &full_name})
        if (!candidate->empty()) return *candidate;
    return "anonymous";
}

bool User::has_role(std::string_view role) const {
    return std::find(roles.begin(), roles.end(), role) != roles.end();
}

}  // namespace kiln::www
