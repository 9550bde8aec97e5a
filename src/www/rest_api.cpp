// SPDX-License-Identifier: Apache-2.0
// The routes, answering (envelope, errors), visibility and path arguments of RestApi; the
// resources' handlers are in rest_*.cpp (detail/rest_impl.hpp lists them).
#include "www/rest_api.hpp"

#include "www/detail/rest_impl.hpp"
#include "www/json_output.hpp"

#include <algorithm>

#include <boost/json/array.hpp>

namespace kiln::www {

namespace asio = boost::asio;
using data::Id;
using namespace rest;

namespace {

FieldType integer_type() {
    FieldType type;
    type.kind = FieldKind::integer;
    return type;
}

}  // namespace

asio::awaitable<void> RestApi::Impl::ensure_hidden(Call& call) {
    if (!call.hidden) {
        call.hidden.emplace();
        if (call.visibility.is_restricted()) {
            auto names = co_await queries.builder_names();
            for (const auto& [id, name] : names)
                if (!call.visibility.may_view_builder(name)) call.hidden->insert(id);
        }
    }
}

asio::awaitable<bool> RestApi::Impl::is_hidden(Call& call, Id builderid) {
    co_await ensure_hidden(call);
    const auto& hidden = *call.hidden;
    co_return hidden.count(builderid) != 0;
}

asio::awaitable<std::optional<Id>> RestApi::Impl::resolve_builderid(Call& call) {
    std::optional<Id> builderid = call.args.integer("builderid");
    if (!builderid) {
        if (auto name = call.args.text("buildername")) {
            auto builder = co_await builders.find(*name);
            if (builder) builderid = builder->builderid;
        } else if (auto text = call.args.text("builderid")) {
            // builders/:builderid/forceschedulers takes any text: a number or a name.
            auto builder = co_await builders.find(*text);
            if (builder)
                builderid = builder->builderid;
            else if (auto parsed = convert_filter_value(integer_type(), *text))
                builderid = parsed->as_int64();
        }
    }
    if (builderid && co_await is_hidden(call, *builderid)) co_return std::nullopt;
    co_return builderid;
}

asio::awaitable<std::optional<data::Build>> RestApi::Impl::resolve_build(Call& call) {
    std::optional<data::Build> build;
    if (auto buildid = call.args.integer("buildid")) {
        build = co_await builds.get(*buildid);
    } else {
        auto number = call.args.integer("build_number");
        if (!number) number = call.args.integer("number");
        auto builderid = co_await resolve_builderid(call);
        if (!number || !builderid) co_return std::nullopt;
        build = co_await queries.build_by_number(*builderid, static_cast<int>(*number));
    }
    if (build && co_await is_hidden(call, build->builderid)) co_return std::nullopt;
    co_return build;
}

asio::awaitable<std::optional<data::Step>> RestApi::Impl::resolve_step(Call& call) {
    if (auto stepid = call.args.integer("stepid")) {
        auto step = co_await builds.get_step(*stepid);
        if (!step) co_return std::nullopt;
        auto builderid = co_await queries.builder_of_step(*stepid);
        if (!builderid || co_await is_hidden(call, *builderid)) co_return std::nullopt;
        co_return step;
    }
    auto build = co_await resolve_build(call);
    if (!build) co_return std::nullopt;
    auto steps = co_await builds.steps(build->buildid);
    auto name = call.args.text("step_name");
    auto number = call.args.integer("step_number");
    for (auto& step : steps)
        if ((name && step.name == *name) || (number && step.number == *number))
            co_return std::move(step);
    co_return std::nullopt;
}

asio::awaitable<std::optional<data::Log>> RestApi::Impl::resolve_log(Call& call) {
    if (auto logid = call.args.integer("logid")) {
        auto log = co_await builds.get_log(*logid);
        if (!log) co_return std::nullopt;
        auto builderid = co_await queries.builder_of_step(log->stepid);
        if (!builderid || co_await is_hidden(call, *builderid)) co_return std::nullopt;
        co_return log;
    }
    auto step = co_await resolve_step(call);
    if (!step) co_return std::nullopt;
    auto slug = call.args.text("log_slug");
    auto logs = co_await builds.logs(step->stepid);
    for (auto& log : logs)
        if (slug && log.slug == *slug) co_return std::move(log);
    co_return std::nullopt;
}

asio::awaitable<Result> RestApi::Impl::root(Call&) {
    Items items;
    for (const char* name :
         {"builders", "builds", "buildrequests", "workers", "logchunks", "buildsets", "changes",
          "changesources", "masters", "sourcestamps", "schedulers", "forceschedulers"}) {
        boost::json::object link;
        link["name"] = name;
        items.push_back(std::move(link));
    }
    co_return collection(std::move(items));
}

asio::awaitable<Result> RestApi::Impl::application_spec(Call&) {
    Items items;
    for (std::size_t i = 0; i < routes.size(); ++i) {
        const auto& type = resource_type(routes[i].type);
        boost::json::object spec;
        spec["path"] = pattern_texts[i];
        spec["plural"] = type.plural;
        spec["type"] = type.name;
        spec["type_spec"] = type.type_spec();
        items.push_back(std::move(spec));
    }
    co_return collection(std::move(items));
}

data::Query RestApi::Impl::sql_query(const Call& call) const {
    auto query = call.spec.to_query();
    query.max_unpaged_rows = options.max_unpaged_items;
    return query;
}

asio::awaitable<void> RestApi::Impl::add_hidden_filter(Call& call, data::Query& query) {
    co_await ensure_hidden(call);
    const auto& hidden = *call.hidden;
    if (hidden.empty()) co_return;
    data::Filter filter{"builderid", data::FilterOp::notin, {}};
    for (auto id : hidden)
        filter.values.emplace_back(id);
    query.filters.push_back(std::move(filter));
}

Items RestApi::Impl::property_list(const core::Properties& properties) {
    Items items;
    for (const auto& [name, property] : properties.all()) {
        boost::json::object item;
        item["name"] = name;
        item["source"] = property.source;
        item["value"] = to_sorted_json(property.value);
        items.push_back(std::move(item));
    }
    return items;
}

asio::awaitable<Result> RestApi::Impl::empty_collection(Call&) { co_return collection({}); }

asio::awaitable<Result> RestApi::Impl::no_entity(Call&) { co_return not_found(); }

asio::awaitable<Result> RestApi::Impl::logchunks_root(Call&) {
    co_return core::Error{core::ErrorKind::bad_input,
                          "log contents are read under a log: logs/<logid>/contents"};
}

void RestApi::Impl::add_routes() {
    using I = Impl;
    route("", "rootlink", &I::root, true);
    route("application.spec", "spec", &I::application_spec, true);
    route("builders", "builder", &I::builders_collection, true);
    route("builders/:builderid/forceschedulers", "forcescheduler", &I::forceschedulers_collection,
          true);
    route("builders/i:buildername", "builder", &I::builder_entity, false);
    route("builders/i:buildername/builds", "build", &I::builds_collection, true);
    for (const char* builder : {"builders/i:buildername", "builders/n:builderid"}) {
        const std::string b = builder;
        const std::string build = b + "/builds/n:build_number";
        route(build + "/data", "build_data", &I::empty_collection, true);
        route(build + "/data/i:name", "build_data", &I::no_entity, false);
        route(build + "/data/i:name/value", "build_data", &I::no_entity, false);
        if (b == "builders/n:builderid") {
            route(b + "/buildrequests", "buildrequest", &I::buildrequests_collection, true);
            route(b + "/builds", "build", &I::builds_collection, true);
            route(build + "/changes", "change", &I::build_changes, true);
            route(build + "/properties", "sourcedproperties", &I::build_properties, false);
        }
        route(build + "/steps", "step", &I::steps_collection, true);
        for (const char* step_key : {"i:step_name", "n:step_number"}) {
            const std::string step = build + "/steps/" + step_key;
            route(step, "step", &I::step_entity, false);
            route(step + "/logs", "log", &I::logs_collection, true);
            route(step + "/logs/i:log_slug", "log", &I::log_entity, false);
            if (b == "builders/n:builderid") {
                route(step + "/logs/i:log_slug/contents", "logchunk", &I::log_contents, false);
                route(step + "/logs/i:log_slug/raw", "logchunk", &I::log_raw, false);
            }
        }
        route(b + "/builds/n:number", "build", &I::build_entity, false);
        if (b == "builders/i:buildername") {
            route(b + "/test_result_sets", "test_result_set", &I::empty_collection, true);
        } else {
            route(b, "builder", &I::builder_entity, false);
            route(b + "/masters", "master", &I::masters_collection, true);
            route(b + "/masters/n:masterid", "master", &I::master_entity, false);
            route(b + "/test_result_sets", "test_result_set", &I::empty_collection, true);
            route(b + "/workers", "worker", &I::workers_collection, true);
            route(b + "/workers/i:name", "worker", &I::worker_entity, false);
            route(b + "/workers/n:workerid", "worker", &I::worker_entity, false);
        }
    }
    route("buildrequests", "buildrequest", &I::buildrequests_collection, true);
    route("buildrequests/n:buildrequestid", "buildrequest", &I::buildrequest_entity, false);
    route("buildrequests/n:buildrequestid/builds", "build", &I::builds_collection, true);
    route("builds", "build", &I::builds_collection, true);
    route("builds/n:buildid", "build", &I::build_entity, false);
    route("builds/n:buildid/changes", "change", &I::build_changes, true);
    route("builds/n:buildid/data", "build_data", &I::empty_collection, true);
    route("builds/n:buildid/data/i:name", "build_data", &I::no_entity, false);
    route("builds/n:buildid/data/i:name/value", "build_data", &I::no_entity, false);
    route("builds/n:buildid/properties", "sourcedproperties", &I::build_properties, false);
    route("builds/n:buildid/property_list", "_property", &I::build_property_list, true);
    route("builds/n:buildid/steps", "step", &I::steps_collection, true);
    for (const char* step_key : {"i:step_name", "n:step_number"}) {
        const std::string step = std::string("builds/n:buildid/steps/") + step_key;
        route(step, "step", &I::step_entity, false);
        route(step + "/logs", "log", &I::logs_collection, true);
        route(step + "/logs/i:log_slug", "log", &I::log_entity, false);
        route(step + "/logs/i:log_slug/contents", "logchunk", &I::log_contents, false);
        route(step + "/logs/i:log_slug/raw", "logchunk", &I::log_raw, false);
    }
    route("builds/n:buildid/test_result_sets", "test_result_set", &I::empty_collection, true);
    route("buildsets", "buildset", &I::buildsets_collection, true);
    route("buildsets/n:bsid", "buildset", &I::buildset_entity, false);
    route("buildsets/n:bsid/properties", "sourcedproperties", &I::buildset_properties, false);
    route("buildsets/n:bsid/properties_list", "_property", &I::buildset_property_list, true);
    route("changes", "change", &I::changes_collection, true);
    route("changes/n:changeid", "change", &I::change_entity, false);
    route("changes/n:changeid/builds", "build", &I::builds_collection, true);
    route("changes/n:changeid/properties_list", "_property", &I::change_property_list, true);
    route("changesources", "changesource", &I::empty_collection, true);
    route("changesources/n:changesourceid", "changesource", &I::no_entity, false);
    route("forceschedulers", "forcescheduler", &I::forceschedulers_collection, true);
    route("forceschedulers/i:schedulername", "forcescheduler", &I::forcescheduler_entity, false);
    route("logchunks", "logchunk", &I::logchunks_root, true);
    route("logs/n:logid", "log", &I::log_entity, false);
    route("logs/n:logid/contents", "logchunk", &I::log_contents, false);
    route("logs/n:logid/raw", "logchunk", &I::log_raw, false);
    route("masters", "master", &I::masters_collection, true);
    route("masters/n:masterid", "master", &I::master_entity, false);
    route("masters/n:masterid/builders", "builder", &I::builders_collection, true);
    route("masters/n:masterid/builders/n:builderid", "builder", &I::builder_entity, false);
    route("masters/n:masterid/builders/n:builderid/workers", "worker", &I::workers_collection,
          true);
    route("masters/n:masterid/builders/n:builderid/workers/i:name", "worker", &I::worker_entity,
          false);
    route("masters/n:masterid/builders/n:builderid/workers/n:workerid", "worker", &I::worker_entity,
          false);
    route("masters/n:masterid/changesources", "changesource", &I::empty_collection, true);
    route("masters/n:masterid/changesources/n:changesourceid", "changesource", &I::no_entity,
          false);
    route("masters/n:masterid/schedulers", "scheduler", &I::schedulers_collection, true);
    route("masters/n:masterid/schedulers/n:schedulerid", "scheduler", &I::scheduler_entity, false);
    route("masters/n:masterid/workers", "worker", &I::workers_collection, true);
    route("masters/n:masterid/workers/i:name", "worker", &I::worker_entity, false);
    route("masters/n:masterid/workers/n:workerid", "worker", &I::worker_entity, false);
    route("schedulers", "scheduler", &I::schedulers_collection, true);
    route("schedulers/n:schedulerid", "scheduler", &I::scheduler_entity, false);
    route("sourcestamps", "sourcestamp", &I::sourcestamps_collection, true);
    route("sourcestamps/n:ssid", "sourcestamp", &I::sourcestamp_entity, false);
    route("sourcestamps/n:ssid/changes", "change", &I::sourcestamp_changes, true);
    route("steps/n:stepid", "step", &I::step_entity, false);
    route("steps/n:stepid/logs", "log", &I::logs_collection, true);
    route("steps/n:stepid/logs/i:log_slug", "log", &I::log_entity, false);
    route("steps/n:stepid/logs/i:log_slug/contents", "logchunk", &I::log_contents, false);
    route("steps/n:stepid/logs/i:log_slug/raw", "logchunk", &I::log_raw, false);
    route("steps/n:stepid/test_result_sets", "test_result_set", &I::empty_collection, true);
    route("test_result_sets/n:test_result_setid", "test_result_set", &I::no_entity, false);
    route("test_result_sets/n:test_result_setid/results", "test_result", &I::empty_collection,
          true);
    route("workers", "worker", &I::workers_collection, true);
    route("workers/i:name", "worker", &I::worker_entity, false);
    route("workers/n:workerid", "worker", &I::worker_entity, false);
    route("workers/n:workerid/builds", "build", &I::builds_collection, true);
}

io::HttpResponse RestApi::Impl::envelope(const Route& route, Answer& answer,
                                         const Call& call) const {
    const auto& type = *call.type;
    std::int64_t total = answer.total;
    if (answer.is_collection && !answer.is_paged) total = apply_in_memory(answer.items, call.spec);
    if (!answer.is_collection) total = 0;
    // In the items' storage, so that they move into the list instead of being copied.
    const auto storage = answer.items.empty() ? call.storage : answer.items.front().storage();
    boost::json::array list(storage);
    list.reserve(answer.items.size());
    for (auto& item : answer.items) {
        select_fields(item, call.spec.fields);
        list.emplace_back(std::move(item));
    }
    boost::json::object body(storage);
    body[type.plural] = std::move(list);
    boost::json::object meta(storage);
    if (route.is_collection && answer.is_collection) meta["total"] = total;
    body["meta"] = std::move(meta);
    auto text = to_sorted_json(body, call.pretty ? JsonStyle::pretty : JsonStyle::compact);
    io::HttpResponse response;
    response.set_header("Content-Type", call.pretty ? "text/plain; charset=utf-8"
                                                    : "application/json; charset=utf-8");
    response.content_length = text.size();
    if (!call.head) response.body = std::move(text);
    return response;
}

asio::awaitable<io::HttpResponse> RestApi::Impl::answer(std::string path, std::string query,
                                                        bool pretty, bool head,
                                                        Visibility visibility) {
    auto segments = split_path(path);
    auto match = matcher.match(segments);
    if (!match) co_return rest_error(404, "Invalid path: " + path);
    const auto& route = routes[match->index];
    Call call;
    call.args = std::move(match->args);
    call.type = &resource_type(route.type);
    call.visibility = std::move(visibility);
    call.pretty = pretty;
    call.head = head;
    auto params = parse_query_string(query);
    if (!params) co_return rest_error(400, params.error().message);
    auto spec = parse_result_spec(params.value(), *call.type, route.is_collection);
    if (!spec) co_return rest_error(400, spec.error().message);
    call.spec = std::move(spec).value();
    if (route.is_collection) cap_paging(call.spec, options.max_page_size);

    auto result = co_await (this->*route.handler)(call);
    if (!result) {
        const auto& error = result.error();
        switch (error.kind) {
        case core::ErrorKind::not_found:
            co_return rest_error(404, error.message == "not found"
                                          ? "not found while getting from endpoint for /" + path
                                          : error.message);
        case core::ErrorKind::bad_input: co_return rest_error(400, error.message);
        default: co_return rest_error(500, error.message);
        }
    }
    auto& answer_value = result.value();
    if (answer_value.response) {
        auto response = std::move(*answer_value.response);
        if (head) response.stream = {};
        co_return response;
    }
    co_return envelope(route, answer_value, call);
}

RestApi::RestApi(data::Context& context, ConfigSource config, RestOptions options)
    : impl_(std::make_unique<Impl>(context, std::move(config), options)) {}

RestApi::~RestApi() = default;

asio::awaitable<io::HttpResponse> RestApi::get(std::string path, std::string query, bool pretty,
                                               bool head, Visibility visibility) {
    co_return co_await impl_->answer(std::move(path), std::move(query), pretty, head,
                                     std::move(visibility));
}

const std::vector<std::string>& RestApi::patterns() const { return impl_->pattern_texts; }

void cap_paging(ResultSpec& spec, std::int64_t max_page_size) {
    // A negative limit reads as none (SQLite's LIMIT -1), a negative offset as 0.
    if (!spec.limit || *spec.limit < 0 || *spec.limit > max_page_size) spec.limit = max_page_size;
    if (spec.offset && *spec.offset < 0) spec.offset = 0;
}

io::HttpResponse rest_error(int status, std::string_view message) {
    // Buildbot writes {"error": "..."} with Python's default separators, as text/plain.
    std::string body = "{\"error\": " + to_sorted_json(boost::json::value(message)) + "}";
    return io::HttpResponse::text(status, std::move(body));
}

}  // namespace kiln::www
