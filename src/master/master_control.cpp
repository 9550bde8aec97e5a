// SPDX-License-Identifier: Apache-2.0
#include "master/master_control.hpp"

#include <algorithm>

#include <boost/json/serialize.hpp>

namespace kiln::master {

namespace asio = boost::asio;

namespace {

// A form value as the text Master::force parses ("1", "true", "main").
std::string form_text(const boost::json::value& value) {
    if (value.is_string()) return std::string(value.get_string());
    if (value.is_bool()) return value.get_bool() ? "true" : "false";
    if (value.is_null()) return {};
    if (const auto* list = value.if_array(); list && list->size() == 1)
        return form_text(list->front());
    return boost::json::serialize(value);
}

// Master::force says "parameter 'x' must be ..."; the form wants "x: ...".
core::Error field_error(core::Error error) {
    const std::string prefix = "parameter '";
    if (error.kind == core::ErrorKind::bad_input && error.message.starts_with(prefix)) {
        const auto end = error.message.find('\'', prefix.size());
        if (end != std::string::npos) {
            auto field = error.message.substr(prefix.size(), end - prefix.size());
            auto rest = error.message.substr(end + 1);
            while (!rest.empty() && (rest.front() == ' ' || rest.front() == ':'))
                rest.erase(0, 1);
            error.message = field + ": " + rest;
        }
    }
    return error;
}

class MasterControl : public www::Control {
public:
    explicit MasterControl(Master& master)
        : master_(master) {}

    asio::awaitable<core::Expected<Submitted>> force(std::string scheduler,
                                                     boost::json::object params,
                                                     std::vector<std::string> builders,
                                                     std::string owner) override {
        auto config = master_.current_config();
        const auto* found = config->find_scheduler(scheduler);
        if (!found || found->type != "force")
            co_return core::fail(core::ErrorKind::not_found,
                                 "no force scheduler named '" + scheduler + "'");
        std::vector<std::string> targets;
        for (const auto& name : found->builders)
            if (builders.empty() ||
                std::find(builders.begin(), builders.end(), name) != builders.end())
                targets.push_back(name);
        if (targets.empty())
            co_return core::fail(core::ErrorKind::bad_input,
                                 "builderNames: none of the given builders is forced by '" +
                                     scheduler + "'");
        // An anonymous user is known by the name typed in the form, as Buildbot does.
        if (owner == "anonymous")
            if (const auto* name = params.if_contains("username"); name && name->is_string())
                owner = std::string(name->get_string());

        Submitted submitted;
        for (const auto& builder : targets) {
            ForceRequest request;
            request.builder = builder;
            request.scheduler = scheduler;
            request.owner = owner;
            if (const auto* reason = params.if_contains("reason"); reason && reason->is_string())
                request.reason = std::string(reason->get_string());
            for (const auto& parameter : found->parameters)
                if (const auto* value = params.if_contains(parameter.name))
                    request.properties.emplace_back(parameter.name, form_text(*value));
            for (const char* field : {"branch", "revision", "repository", "project"})
                if (const auto* value = params.if_contains(field); value && value->is_string())
                    request.properties.emplace_back(field, form_text(*value));
            auto result = co_await master_.force(std::move(request));
            if (!result) co_return field_error(result.error());
            if (submitted.bsid == 0) submitted.bsid = result.value().bsid;
            auto builderid = master_.builder_id(builder);
            if (!result.value().buildrequestids.empty())
                submitted.request_by_builder[builderid] = result.value().buildrequestids.front();
        }
        co_return submitted;
    }

    asio::awaitable<core::Expected<void>> stop_build(data::Id buildid,
                                                     std::string reason) override {
        co_return co_await master_.stop_build(buildid, std::move(reason));
    }

    asio::awaitable<core::Expected<Submitted>> rebuild(data::Id buildid) override {
        auto result = co_await master_.rebuild(buildid);
        if (!result) co_return result.error();
        Submitted submitted;
        submitted.bsid = result.value().bsid;
        for (auto brid : result.value().buildrequestids)
            submitted.request_by_builder[result.value().builderid] = brid;
        co_return submitted;
    }

    asio::awaitable<core::Expected<void>> cancel_request(data::Id buildrequestid,
                                                         std::string reason) override {
        co_return co_await master_.cancel_request(buildrequestid, std::move(reason));
    }

    asio::awaitable<core::Expected<void>> control_worker(data::Id workerid, std::string action,
                                                         std::string) override {
        auto name = master_.worker_name(workerid);
        if (name.empty())
            co_return core::fail(core::ErrorKind::not_found,
                                 "worker " + std::to_string(workerid) + " is not configured");
        co_return co_await master_.control_worker(std::move(name), std::move(action));
    }

    asio::awaitable<core::Expected<void>> enable_scheduler(data::Id schedulerid,
                                                           bool enabled) override {
        co_return co_await master_.enable_scheduler(schedulerid, enabled);
    }

    asio::awaitable<core::Expected<Submitted>> try_job(std::string scheduler, www::TryJob job,
                                                       std::string owner,
                                                       std::string username) override {
        auto result = co_await master_.try_job(std::move(scheduler), std::move(job),
                                               std::move(owner), std::move(username));
        if (!result) co_return result.error();
        Submitted submitted;
        submitted.bsid = result.value().bsid;
        submitted.request_by_builder = result.value().request_by_builder;
        co_return submitted;
    }

    asio::awaitable<core::Expected<void>> shutdown_master() override {
        master_.request_stop(std::nullopt);
        co_return core::Expected<void>{};
    }

private:
    Master& master_;
};

}  // namespace

std::unique_ptr<www::Control> make_master_control(Master& master) {
    return std::make_unique<MasterControl>(master);
}

}  // namespace kiln::master
