// SPDX-License-Identifier: Apache-2.0
#include "www/json_rpc.hpp"

#include "data/builders.hpp"
#include "data/builds.hpp"
#include "data/buildsets.hpp"
#include "data/queries.hpp"
#include "www/json_output.hpp"
#include "www/json_rpc_request.hpp"
#include "www/path_matcher.hpp"

#include <boost/json/array.hpp>

#include <spdlog/spdlog.h>

namespace kiln::www {

namespace asio = boost::asio;
using data::Id;

namespace {

// A JSON-RPC error reply. id is absent when the body was not decoded that far.
io::HttpResponse rpc_error_value(int status, int code, boost::json::value message,
                                 const std::optional<boost::json::value>& id) {
    boost::json::object error;
    error["code"] = code;
    error["message"] = std::move(message);
    boost::json::object body;
    body["jsonrpc"] = "2.0";
    body["error"] = std::move(error);
    if (id) body["id"] = *id;
    return io::HttpResponse::text(status, to_sorted_json(body), "application/json");
}

io::HttpResponse rpc_error(int status, int code, const std::string& message,
                           const std::optional<boost::json::value>& id) {
    return rpc_error_value(status, code, boost::json::value(message), id);
}

io::HttpResponse rpc_result(const boost::json::value& id, boost::json::value result) {
    boost::json::object body;
    body["id"] = id;
    body["jsonrpc"] = "2.0";
    body["result"] = std::move(result);
    return io::HttpResponse::text(200, to_sorted_json(body), "application/json");
}

int status_of(core::ErrorKind kind) {
    switch (kind) {
    case core::ErrorKind::bad_input: return 400;
    case core::ErrorKind::not_found: return 404;
    case core::ErrorKind::conflict: return 409;
    case core::ErrorKind::unavailable: return 503;
    case core::ErrorKind::unauthenticated: return 401;
    case core::ErrorKind::forbidden: return 403;
    case core::ErrorKind::not_supported: return 501;
    case core::ErrorKind::internal: break;
    }
    return 500;
}

std::string string_param(const boost::json::object& params, std::string_view name,
                         std::string fallback) {
    const auto* value = params.if_contains(name);
    if (value && value->is_string()) return std::string(value->get_string());
    return fallback;
}

boost::json::value submitted_json(const Control::Submitted& submitted) {
    boost::json::object requests;
    for (const auto& [builderid, brid] : submitted.request_by_builder)
        requests[std::to_string(builderid)] = brid;
    return boost::json::array{boost::json::value(submitted.bsid), std::move(requests)};
}

enum class Target { force, build, request, worker, scheduler, master, other };

}  // namespace

struct JsonRpc::Impl {
    data::Context& context;
    Control& control;
    ControlAuthorizer authorize;
    PathMatcher matcher;
    std::vector<std::string> patterns;
    data::Queries queries{context};
    data::Builds builds{context};
    data::Buildsets buildsets{context};
    data::Builders builders{context};

    Impl(data::Context& context_in, Control& control_in, std::vector<std::string> patterns_in,
         ControlAuthorizer authorize_in)
        : context(context_in)
        , control(control_in)
        , authorize(std::move(authorize_in))
        , patterns(std::move(patterns_in)) {
        for (const auto& pattern : patterns)
            matcher.add(pattern);
    }

    static Target target_of(const std::string& pattern) {
        if (pattern == "forceschedulers/i:schedulername") return Target::force;
        if (pattern == "builds/n:buildid" || pattern == "builders/n:builderid/builds/n:number" ||
            pattern == "builders/i:buildername/builds/n:number")
            return Target::build;
        if (pattern == "buildrequests/n:buildrequestid") return Target::request;
        if (pattern.ends_with("workers/n:workerid") || pattern.ends_with("workers/i:name"))
            return Target::worker;
        if (pattern == "schedulers/n:schedulerid") return Target::scheduler;
        if (pattern == "masters/n:masterid") return Target::master;
        return Target::other;
    }

    asio::awaitable<std::optional<data::Build>> find_build(const PathArgs& args) {
        if (auto buildid = args.integer("buildid")) co_return co_await builds.get(*buildid);
        auto number = args.integer("number");
        std::optional<Id> builderid = args.integer("builderid");
        if (!builderid) {
            if (auto name = args.text("buildername"))
                if (auto builder = co_await builders.find(*name)) builderid = builder->builderid;
        }
        if (!builderid || !number) co_return std::nullopt;
        co_return co_await queries.build_by_number(*builderid, static_cast<int>(*number));
    }

    asio::awaitable<std::string> builder_name(Id builderid) {
        auto builder = co_await builders.get(builderid);
        co_return builder ? builder->name : std::string();
    }

    asio::awaitable<io::HttpResponse> call(std::string path, io::HttpRequest request, User user);
    asio::awaitable<io::HttpResponse> try_job(std::string scheduler, std::string method,
                                              boost::json::object params,
                                              std::vector<std::string> segments, User user,
                                              boost::json::value id);
};

// A try job runs the posted diff on the workers, so it always needs a known user (as
// Buildbot's Try_Userpass), then www.authz ("try", per builder) as every control call.
asio::awaitable<io::HttpResponse> JsonRpc::Impl::try_job(std::string scheduler, std::string method,
                                                         boost::json::object params,
                                                         std::vector<std::string> segments,
                                                         User user, boost::json::value id) {
    const std::optional<boost::json::value> with_id = id;
    if (method != "try")
        co_return rpc_error(501, -32601, "action: " + method + " is not supported", with_id);
    if (user.anonymous)
        co_return rpc_error(401, -32600, "a try job needs credentials (a user of www.auth)",
                            with_id);
    auto job = parse_try_job(params);
    if (!job) {
        const auto& message = job.error().message;
        const auto colon = message.find(": ");
        boost::json::object fields;
        if (colon != std::string::npos)
            fields[message.substr(0, colon)] = message.substr(colon + 2);
        else
            fields["params"] = message;
        co_return rpc_error_value(400, -32602, std::move(fields), with_id);
    }
    ControlCheck check{method, std::move(segments), {}, {}};
    for (const auto& name : job.value().builders) {
        check.builder = name;
        if (auto allowed = authorize(user, check); !allowed) {
            const auto& error = allowed.error();
            co_return rpc_error(status_of(error.kind), -32600, error.message, with_id);
        }
    }
    auto owner = user.owner();
    auto username = user.username;
    auto submitted = co_await control.try_job(std::move(scheduler), std::move(job.value()),
                                              std::move(owner), std::move(username));
    if (!submitted) {
        const auto& error = submitted.error();
        if (error.kind == core::ErrorKind::bad_input) {
            const auto colon = error.message.find(": ");
            boost::json::object fields;
            if (colon != std::string::npos)
                fields[error.message.substr(0, colon)] = error.message.substr(colon + 2);
            else
                fields["params"] = error.message;
            co_return rpc_error_value(400, -32602, std::move(fields), with_id);
        }
        co_return rpc_error(status_of(error.kind),
                            error.kind == core::ErrorKind::internal ? -32603 : -32600,
                            error.message, with_id);
    }
    co_return rpc_result(id, submitted_json(submitted.value()));
}

asio::awaitable<io::HttpResponse> JsonRpc::Impl::call(std::string path, io::HttpRequest request,
                                                      User user) {
    auto parsed = parse_json_rpc_request(request.header("Content-Type"), request.body);
    if (const auto* refused = std::get_if<RpcEnvelopeError>(&parsed)) {
        const std::optional<boost::json::value> no_id;
        co_return rpc_error(400, refused->code, refused->message, no_id);
    }
    auto& envelope = std::get<RpcRequest>(parsed);
    const std::string method = envelope.method;
    const boost::json::value id = envelope.id;
    auto params = std::move(envelope.params);
    params["owner"] = user.owner();  // Buildbot overwrites whatever the client sent
    const std::optional<boost::json::value> with_id = id;

    auto segments = split_path(path);
    if (segments.size() == 2 && segments[0] == "tryschedulers") {
        auto scheduler = segments[1];
        co_return co_await try_job(std::move(scheduler), method, params, std::move(segments), user,
                                   id);
    }
    auto match = matcher.match(segments);
    if (!match) co_return rpc_error(404, -32600, "Invalid path: " + path, with_id);
    const auto target = target_of(patterns[match->index]);
    const auto& args = match->args;
    auto unsupported = [&] {
        return rpc_error(501, -32601, "action: " + method + " is not supported", with_id);
    };
    auto failure = [&](const core::Error& error) {
        return rpc_error(status_of(error.kind),
                         error.kind == core::ErrorKind::internal ? -32603 : -32600, error.message,
                         with_id);
    };

    ControlCheck check{method, segments, {}, {}};
    switch (target) {
    case Target::force: {
        if (method != "force") co_return rpc_result(id, nullptr);  // Buildbot: 200 null
        std::vector<std::string> names;
        if (const auto* list = params.if_contains("builderNames"); list && list->is_array()) {
            for (const auto& name : list->get_array())
                if (name.is_string()) names.emplace_back(name.get_string());
        } else if (const auto* builderid = params.if_contains("builderid")) {
            std::optional<Id> bid;
            if (builderid->is_int64()) bid = builderid->get_int64();
            if (builderid->is_string()) {
                try {
                    bid = std::stoll(std::string(builderid->get_string()));
                } catch (const std::exception&) {
                    boost::json::object fields;
                    fields["builderid"] = "not a builder id";
                    co_return rpc_error_value(400, -32602, std::move(fields), with_id);
                }
            }
            if (bid) {
                auto name = co_await builder_name(*bid);
                if (name.empty())
                    co_return rpc_error(404, -32600, "no builder " + std::to_string(*bid), with_id);
                names.push_back(name);
            }
        }
        for (const auto& name : names) {
            check.builder = name;
            if (auto allowed = authorize(user, check); !allowed) co_return failure(allowed.error());
        }
        if (names.empty())
            if (auto allowed = authorize(user, check); !allowed) co_return failure(allowed.error());
        auto scheduler = *args.text("schedulername");
        auto owner = user.owner();
        auto submitted = co_await control.force(std::move(scheduler), params, std::move(names),
                                                std::move(owner));
        if (!submitted) {
            const auto& error = submitted.error();
            if (error.kind == core::ErrorKind::bad_input) {
                // "<field>: <text>" becomes {"<field>": "<text>"}, as Buildbot's form errors.
                const auto colon = error.message.find(": ");
                boost::json::object fields;
                if (colon != std::string::npos)
                    fields[error.message.substr(0, colon)] = error.message.substr(colon + 2);
                else
                    fields["params"] = error.message;
                co_return rpc_error_value(400, -32602, std::move(fields), with_id);
            }
            co_return failure(error);
        }
        co_return rpc_result(id, submitted_json(submitted.value()));
    }
    case Target::build: {
        if (method != "stop" && method != "rebuild") co_return unsupported();
        auto build = co_await find_build(args);
        if (!build) co_return rpc_error(404, -32600, "no such build", with_id);
        check.builder = co_await builder_name(build->builderid);
        auto properties = co_await builds.properties(build->buildid);
        if (const auto* owner = properties.find("owner"); owner && owner->value.is_string())
            check.owner = std::string(owner->value.get_string());
        if (auto allowed = authorize(user, check); !allowed) co_return failure(allowed.error());
        if (method == "stop") {
            auto reason = string_param(params, "reason", "no reason");
            auto stopped = co_await control.stop_build(build->buildid, std::move(reason));
            if (!stopped) co_return failure(stopped.error());
            co_return rpc_result(id, nullptr);
        }
        auto submitted = co_await control.rebuild(build->buildid);
        if (!submitted) co_return failure(submitted.error());
        co_return rpc_result(id, submitted_json(submitted.value()));
    }
    case Target::request: {
        if (method != "cancel") co_return unsupported();
        const auto brid = *args.integer("buildrequestid");
        auto request_row = co_await buildsets.get_request(brid);
        if (!request_row) co_return rpc_error(404, -32600, "no such build request", with_id);
        check.builder = co_await builder_name(request_row->builderid);
        auto properties = co_await buildsets.properties(request_row->buildsetid);
        if (const auto* owner = properties.find("owner"); owner && owner->value.is_string())
            check.owner = std::string(owner->value.get_string());
        if (auto allowed = authorize(user, check); !allowed) co_return failure(allowed.error());
        auto reason = string_param(params, "reason", "no reason");
        auto cancelled = co_await control.cancel_request(brid, std::move(reason));
        if (!cancelled) co_return failure(cancelled.error());
        co_return rpc_result(id, nullptr);
    }
    case Target::worker: {
        if (method != "stop" && method != "pause" && method != "unpause" && method != "kill")
            co_return unsupported();
        std::optional<Id> workerid = args.integer("workerid");
        if (!workerid) {
            auto name = args.text("name");
            auto workers = co_await queries.workers();
            for (const auto& worker : workers)
                if (name && worker.name == *name) workerid = worker.workerid;
        }
        if (!workerid) co_return rpc_error(404, -32600, "no such worker", with_id);
        if (auto allowed = authorize(user, check); !allowed) co_return failure(allowed.error());
        auto reason = string_param(params, "reason", "no reason");
        auto action = method;
        auto done =
            co_await control.control_worker(*workerid, std::move(action), std::move(reason));
        if (!done) co_return failure(done.error());
        co_return rpc_result(id, nullptr);
    }
    case Target::scheduler: {
        if (method != "enable") co_return rpc_result(id, nullptr);  // Buildbot: 200 null
        const auto* enabled = params.if_contains("enabled");
        if (!enabled || !enabled->is_bool()) {
            boost::json::object fields;
            fields["enabled"] = "must be a boolean";
            co_return rpc_error_value(400, -32602, std::move(fields), with_id);
        }
        if (auto allowed = authorize(user, check); !allowed) co_return failure(allowed.error());
        auto done =
            co_await control.enable_scheduler(*args.integer("schedulerid"), enabled->get_bool());
        if (!done) co_return failure(done.error());
        co_return rpc_result(id, nullptr);
    }
    case Target::master: {
        if (method != "shutdown") co_return unsupported();
        if (auto allowed = authorize(user, check); !allowed) co_return failure(allowed.error());
        auto done = co_await control.shutdown_master();
        if (!done) co_return failure(done.error());
        co_return rpc_result(id, nullptr);
    }
    case Target::other: break;
    }
    co_return unsupported();
}

JsonRpc::JsonRpc(data::Context& context, Control& control, std::vector<std::string> patterns,
                 ControlAuthorizer authorize)
    : impl_(std::make_unique<Impl>(context, control, std::move(patterns), std::move(authorize))) {}

JsonRpc::~JsonRpc() = default;

asio::awaitable<io::HttpResponse> JsonRpc::call(std::string path, io::HttpRequest request,
                                                User user) {
    co_return co_await impl_->call(std::move(path), std::move(request), std::move(user));
}

}  // namespace kiln::www
