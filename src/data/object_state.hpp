// SPDX-License-Identifier: Apache-2.0
// ObjectState: small JSON values kept for a named object across restarts and shared by every
// master of the database, in Buildbot's `objects` / `object_state` tables (its db.state API:
// getObjectId, getState, setState, atomicCreateState). The www session secret lives here.
#pragma once

#include "data/context.hpp"

#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>

namespace kiln::data {

class ObjectState {
public:
    explicit ObjectState(Context& context)
        : context_(context) {}

    // The id of the object (name, class_name), created when new, e.g. ("www",
    // "buildbot.www.service.WWWService").
    boost::asio::awaitable<Id> object_id(std::string name, std::string class_name);
    // The value stored under state_name, or nullopt when none is. Text that is not JSON reads
    // as null.
    boost::asio::awaitable<std::optional<boost::json::value>> get(Id objectid,
                                                                  std::string state_name);
    // Stores (or replaces) the value.
    boost::asio::awaitable<void> set(Id objectid, std::string state_name, boost::json::value value);
    // The stored value; when there is none, stores `initial` and returns it. Of masters racing
    // to create it, one wins and every one gets the winner's value.
    boost::asio::awaitable<boost::json::value> get_or_create(Id objectid, std::string state_name,
                                                             boost::json::value initial);

private:
    Context& context_;
};

}  // namespace kiln::data
