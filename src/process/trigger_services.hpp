// SPDX-License-Identifier: Apache-2.0
// TriggerServices: what a Trigger step asks of the master. Triggerable schedulers make its
// buildsets (the master implements this over its scheduler service, which process/ may not
// see); the step then waits for them, reads their builds and cancels them when its build
// is stopped.
#pragma once

#include "core/expected.hpp"
#include "core/properties.hpp"
#include "data/buildsets.hpp"
#include "data/entities.hpp"

#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

namespace kiln::process {

struct TriggerRequest {
    bool waited_for = false;
    std::vector<data::SourceStampSpec> sourcestamps;  // empty: the latest sources
    core::Properties properties;                      // source "Trigger"
    std::optional<data::Id> parent_buildid;
    std::string parent_relationship;
};

class TriggerServices {
public:
    virtual ~TriggerServices() = default;

    // A buildset from the triggerable scheduler `scheduler`; an error when there is none by
    // that name, or it is disabled.
    virtual boost::asio::awaitable<core::Expected<data::AddedBuildset>>
    trigger(std::string scheduler, TriggerRequest request) = 0;
    // Returns the buildset once complete. Cancellable.
    virtual boost::asio::awaitable<data::Buildset> wait_complete(data::Id bsid) = 0;
    // Cancels a build request: a pending one completes CANCELLED, a running one's builds stop.
    virtual boost::asio::awaitable<void> cancel_request(data::Id brid, std::string reason) = 0;
    // The builds of a build request (several after retries).
    virtual boost::asio::awaitable<std::vector<data::Build>> builds_of_request(data::Id brid) = 0;
    // A configured builder's name ("" when unknown).
    virtual std::string builder_name(data::Id builderid) const = 0;
    // The web UI's base URL (Buildbot's buildbotURL), ending with '/'.
    virtual std::string url() const = 0;
};

}  // namespace kiln::process
