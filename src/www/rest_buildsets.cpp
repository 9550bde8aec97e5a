// SPDX-License-Identifier: Apache-2.0
// RestApi: build requests and buildsets.
#include "www/detail/rest_impl.hpp"

namespace kiln::www {

namespace asio = boost::asio;
using data::Id;
using namespace rest;

asio::awaitable<std::optional<data::Buildset>> RestApi::Impl::visible_buildset(Call& call,
                                                                               Id bsid) {
    auto buildset = co_await buildsets.get(bsid);
    if (!buildset) co_return std::nullopt;
    if (!call.visibility.is_restricted()) co_return buildset;
    // A buildset is visible when one of its requests is for a visible builder.
    data::Query query;
    query.filters.push_back({"buildsetid", data::FilterOp::eq, {boost::json::value(bsid)}});
    co_await add_hidden_filter(call, query);
    query.limit = 1;
    auto requests = co_await queries.buildrequests(std::move(query));
    if (requests.items.empty()) co_return std::nullopt;
    co_return buildset;
}

asio::awaitable<Result> RestApi::Impl::buildset_properties(Call& call) {
    auto bsid = call.args.integer("bsid");
    if (!bsid) co_return not_found();
    auto buildset = co_await visible_buildset(call, *bsid);
    if (!buildset) co_return not_found();
    auto properties = co_await buildsets.properties(*bsid);
    co_return entity(properties.to_api());
}

asio::awaitable<Result> RestApi::Impl::buildset_property_list(Call& call) {
    auto bsid = call.args.integer("bsid");
    if (!bsid) co_return not_found();
    auto buildset = co_await visible_buildset(call, *bsid);
    if (!buildset) co_return not_found();
    auto properties = co_await buildsets.properties(*bsid);
    co_return collection(property_list(properties));
}

asio::awaitable<Result> RestApi::Impl::buildrequests_collection(Call& call) {
    auto query = sql_query(call);
    if (auto builderid = call.args.integer("builderid")) {
        if (co_await is_hidden(call, *builderid)) co_return collection({});
        query.filters.push_back(
            {"builderid", data::FilterOp::eq, {boost::json::value(*builderid)}});
    }
    co_await add_hidden_filter(call, query);
    auto result = co_await queries.buildrequests(std::move(query));
    if (auto checked = check_read(result); !checked) co_return checked.error();
    Answer answer = collection(to_items(result.items, call.storage));
    answer.is_paged = result.is_complete;
    answer.total = result.total;
    co_await attach_request_properties(call, answer.items);
    co_return answer;
}

asio::awaitable<void> RestApi::Impl::attach_request_properties(Call& call, Items& items) {
    if (!call.spec.wants_properties() || items.empty()) co_return;
    std::vector<Id> bsids;
    for (const auto& item : items)
        bsids.push_back(item.at("buildsetid").as_int64());
    auto properties = co_await queries.buildset_properties(bsids, call.spec.property_names());
    for (auto& item : items) {
        const auto& found = properties[item.at("buildsetid").as_int64()];
        if (!found.empty()) item["properties"] = found.to_api();
    }
}

asio::awaitable<Result> RestApi::Impl::buildrequest_entity(Call& call) {
    auto brid = call.args.integer("buildrequestid");
    std::optional<data::BuildRequest> request;
    if (brid) request = co_await buildsets.get_request(*brid);
    if (!request || co_await is_hidden(call, request->builderid)) co_return not_found();
    Items items{request->to_json()};
    co_await attach_request_properties(call, items);
    co_return entity(std::move(items.front()));
}

asio::awaitable<Result> RestApi::Impl::buildsets_collection(Call& call) {
    co_await ensure_hidden(call);
    std::vector<Id> hidden(call.hidden->begin(), call.hidden->end());
    auto result = co_await queries.buildsets(sql_query(call), std::move(hidden));
    if (auto checked = check_read(result); !checked) co_return checked.error();
    Answer answer = collection(to_items(result.items, call.storage));
    answer.is_paged = result.is_complete;
    answer.total = result.total;
    co_return answer;
}

asio::awaitable<Result> RestApi::Impl::buildset_entity(Call& call) {
    auto bsid = call.args.integer("bsid");
    std::optional<data::Buildset> buildset;
    if (bsid) buildset = co_await visible_buildset(call, *bsid);
    if (!buildset) co_return not_found();
    co_return entity(buildset->to_json());
}

}  // namespace kiln::www
