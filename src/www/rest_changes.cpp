// SPDX-License-Identifier: Apache-2.0
// RestApi: changes and source stamps.
#include "www/detail/rest_impl.hpp"

namespace kiln::www {

namespace asio = boost::asio;
using data::Id;
using namespace rest;

asio::awaitable<Result> RestApi::Impl::changes_collection(Call& call) {
    auto result = co_await queries.changes(sql_query(call));
    Answer answer = collection(to_items(result.items, call.storage));
    answer.is_paged = result.is_complete;
    answer.total = result.total;
    co_return answer;
}

asio::awaitable<Result> RestApi::Impl::change_entity(Call& call) {
    auto changeid = call.args.integer("changeid");
    std::optional<data::Change> change;
    if (changeid) change = co_await queries.change(*changeid);
    if (!change) co_return not_found();
    co_return entity(change->to_json());
}

asio::awaitable<Result> RestApi::Impl::build_changes(Call& call) {
    auto build = co_await resolve_build(call);
    if (!build) co_return collection({});
    auto changes = co_await queries.changes_of_build(
        build->buildid, static_cast<std::size_t>(options.max_page_size));
    co_return collection(to_items(changes, call.storage));
}

asio::awaitable<Result> RestApi::Impl::sourcestamp_changes(Call& call) {
    auto ssid = call.args.integer("ssid");
    if (!ssid) co_return collection({});
    auto changes = co_await queries.changes_of_sourcestamp(*ssid);
    co_return collection(to_items(changes, call.storage));
}

asio::awaitable<Result> RestApi::Impl::change_property_list(Call& call) {
    auto changeid = call.args.integer("changeid");
    std::optional<data::Change> change;
    if (changeid) change = co_await queries.change(*changeid);
    if (!change) co_return not_found();
    co_return collection(property_list(change->properties));
}

asio::awaitable<Result> RestApi::Impl::sourcestamps_collection(Call& call) {
    auto result = co_await queries.sourcestamps(sql_query(call));
    if (auto checked = check_read(result); !checked) co_return checked.error();
    Answer answer = collection(to_items(result.items, call.storage));
    answer.is_paged = result.is_complete;
    answer.total = result.total;
    co_return answer;
}

asio::awaitable<Result> RestApi::Impl::sourcestamp_entity(Call& call) {
    auto ssid = call.args.integer("ssid");
    std::optional<data::SourceStamp> stamp;
    if (ssid) stamp = co_await queries.sourcestamp(*ssid);
    if (!stamp) co_return not_found();
    co_return entity(stamp->to_json());
}

}  // namespace kiln::www
