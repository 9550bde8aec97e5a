// SPDX-License-Identifier: Apache-2.0
// JsonRpc: Buildbot's control calls, JSON-RPC 2.0 POSTed to a REST path (specs/rest-api.md
// §6): force, stop, rebuild, cancel, worker stop/pause/unpause/kill, scheduler enable, and
// Kiln's graceful master shutdown and try jobs (POST tryschedulers/<name>, method "try":
// docs/decisions/0014-try.md). The envelope is checked with Buildbot's messages and
// codes; each action is authorized (with the builder it concerns) before Control runs it.
#pragma once

#include "core/expected.hpp"
#include "data/context.hpp"
#include "io/http_server.hpp"
#include "www/try_job.hpp"
#include "www/user.hpp"

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

namespace kiln::www {

// What the master does for control calls (implemented by master/, which owns the builds).
class Control {
public:
    virtual ~Control() = default;

    struct Submitted {
        data::Id bsid = 0;
        std::map<data::Id, data::Id> request_by_builder;  // builderid -> buildrequestid
    };
    // A force through the named force scheduler for the given builders (all of its builders
    // when empty). params: every form field by its fullName. A bad field is bad_input whose
    // message is "<field>: <what is wrong>".
    virtual boost::asio::awaitable<core::Expected<Submitted>>
    force(std::string scheduler, boost::json::object params, std::vector<std::string> builders,
          std::string owner) = 0;
    // Stops a running build (a finished one: nothing happens, no error).
    virtual boost::asio::awaitable<core::Expected<void>> stop_build(data::Id buildid,
                                                                    std::string reason) = 0;
    // A new buildset like the build's, reason "rebuild", for the same builder.
    virtual boost::asio::awaitable<core::Expected<Submitted>> rebuild(data::Id buildid) = 0;
    // Cancels a pending request, or stops the builds of a claimed one.
    virtual boost::asio::awaitable<core::Expected<void>> cancel_request(data::Id buildrequestid,
                                                                        std::string reason) = 0;
    // action: "stop", "pause", "unpause", "kill".
    virtual boost::asio::awaitable<core::Expected<void>>
    control_worker(data::Id workerid, std::string action, std::string reason) = 0;
    virtual boost::asio::awaitable<core::Expected<void>> enable_scheduler(data::Id schedulerid,
                                                                          bool enabled) = 0;
    // A graceful master shutdown (no new builds; running ones finish, then the master stops).
    virtual boost::asio::awaitable<core::Expected<void>> shutdown_master() = 0;
    // A try job through the named try scheduler: one buildset for the job's builders (each
    // must be one of the scheduler's: else bad_input "builderNames: ..."), its sourcestamp
    // carrying the patch. owner: who posted it.
    virtual boost::asio::awaitable<core::Expected<Submitted>>
    try_job(std::string scheduler, TryJob job, std::string owner, std::string username) = 0;
};

// What the authorizer is asked about one control call.
struct ControlCheck {
    std::string action;             // the JSON-RPC method
    std::vector<std::string> path;  // REST path segments
    std::string builder;            // the builder concerned, when there is one
    std::string owner;              // the owner of the build or request concerned
};
using ControlAuthorizer = std::function<core::Expected<void>(const User&, const ControlCheck&)>;

class JsonRpc {
public:
    // patterns: the REST path patterns (RestApi::patterns()), matched the same way.
    JsonRpc(data::Context& context, Control& control, std::vector<std::string> patterns,
            ControlAuthorizer authorize);
    ~JsonRpc();
    JsonRpc(const JsonRpc&) = delete;
    JsonRpc& operator=(const JsonRpc&) = delete;

    // Answers POST /api/v2/<path> with body and content type from the request.
    boost::asio::awaitable<io::HttpResponse> call(std::string path, io::HttpRequest request,
                                                  User user);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace kiln::www
