// SPDX-License-Identifier: Apache-2.0
// RestApi: builds, steps and build properties.
#include "www/detail/rest_impl.hpp"

#include <boost/json/array.hpp>

namespace kiln::www {

namespace asio = boost::asio;
using data::Id;
using namespace rest;

asio::awaitable<void> RestApi::Impl::attach_build_properties(Call& call, Items& items) {
    for (auto& item : items)
        item["properties"] = boost::json::object{};
    if (!call.spec.wants_properties() || items.empty()) co_return;
    std::vector<Id> ids;
    for (const auto& item : items)
        ids.push_back(item.at("buildid").as_int64());
    auto properties = co_await queries.build_properties(ids, call.spec.property_names());
    for (auto& item : items)
        item["properties"] = properties[item.at("buildid").as_int64()].to_api();
}

asio::awaitable<Result> RestApi::Impl::paged_builds(Call& call, data::Query query) {
    co_await add_hidden_filter(call, query);
    auto result = co_await queries.builds(std::move(query));
    if (auto checked = check_read(result); !checked) co_return checked.error();
    Answer answer = collection(to_items(result.items, call.storage));
    answer.is_paged = result.is_complete;
    answer.total = result.total;
    co_return answer;
}

asio::awaitable<Result> RestApi::Impl::builds_collection(Call& call) {
    auto query = sql_query(call);
    auto scope = [&](const char* field, Id id) {
        query.filters.push_back({field, data::FilterOp::eq, {boost::json::value(id)}});
    };
    if (call.args.has("builderid") || call.args.has("buildername")) {
        auto builderid = co_await resolve_builderid(call);
        if (!builderid) co_return collection({});
        scope("builderid", *builderid);
    }
    if (auto brid = call.args.integer("buildrequestid")) {
        // A request collapsed into another's build lists the build that covered it.
        auto covering = co_await buildsets.covering_build(*brid);
        if (covering)
            scope("buildid", *covering);
        else
            scope("buildrequestid", *brid);
    }
    if (auto workerid = call.args.integer("workerid")) scope("workerid", *workerid);
    if (auto changeid = call.args.integer("changeid")) {
        co_await add_hidden_filter(call, query);
        auto result = co_await queries.builds_of_change(*changeid, std::move(query));
        Answer answer = collection(to_items(result.items, call.storage));
        answer.is_paged = result.is_complete;
        answer.total = result.total;
        co_await attach_build_properties(call, answer.items);
        co_return answer;
    }
    auto answer = co_await paged_builds(call, std::move(query));
    if (answer) co_await attach_build_properties(call, answer.value().items);
    co_return answer;
}

asio::awaitable<Result> RestApi::Impl::build_entity(Call& call) {
    auto build = co_await resolve_build(call);
    if (!build) co_return not_found();
    Items items{build->to_json()};
    co_await attach_build_properties(call, items);
    co_return entity(std::move(items.front()));
}

asio::awaitable<Result> RestApi::Impl::steps_collection(Call& call) {
    auto build = co_await resolve_build(call);
    if (!build) {
        // Buildbot: /builds/999/steps is an empty list, /builders/1/builds/999/steps a 404.
        if (call.args.has("buildid")) co_return collection({});
        co_return not_found();
    }
    auto steps = co_await builds.steps(build->buildid);
    co_return collection(to_items(steps, call.storage));
}

asio::awaitable<Result> RestApi::Impl::step_entity(Call& call) {
    auto step = co_await resolve_step(call);
    if (!step) co_return not_found();
    co_return entity(step->to_json());
}

asio::awaitable<Result> RestApi::Impl::build_properties(Call& call) {
    auto build = co_await resolve_build(call);
    if (!build) co_return not_found();
    auto properties = co_await builds.properties(build->buildid);
    co_return entity(properties.to_api());
}

asio::awaitable<Result> RestApi::Impl::build_property_list(Call& call) {
    auto build = co_await resolve_build(call);
    if (!build) co_return not_found();
    auto properties = co_await builds.properties(build->buildid);
    co_return collection(property_list(properties));
}

}  // namespace kiln::www
