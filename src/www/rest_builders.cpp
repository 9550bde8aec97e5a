// SPDX-License-Identifier: Apache-2.0
// RestApi: builders, masters, workers, schedulers and force schedulers.
#include "www/detail/rest_impl.hpp"
#include "www/force_form.hpp"

#include <algorithm>
#include <set>

#include <boost/json/array.hpp>

namespace kiln::www {

namespace asio = boost::asio;
using data::Id;
using namespace rest;

asio::awaitable<Result> RestApi::Impl::builders_collection(Call& call) {
    auto items = co_await visible_builders(call);
    if (auto masterid = call.args.integer("masterid")) {
        std::erase_if(items, [&](const boost::json::object& item) {
            const auto& ids = item.at("masterids").as_array();
            return std::find(ids.begin(), ids.end(), boost::json::value(*masterid)) == ids.end();
        });
    }
    co_return collection(std::move(items));
}

asio::awaitable<Result> RestApi::Impl::builder_entity(Call& call) {
    auto builderid = co_await resolve_builderid(call);
    if (!builderid) co_return not_found();
    auto builder = co_await builders.get(*builderid);
    if (!builder) co_return not_found();
    if (auto masterid = call.args.integer("masterid")) {
        if (std::find(builder->masterids.begin(), builder->masterids.end(), *masterid) ==
            builder->masterids.end())
            co_return not_found();
    }
    co_return entity(builder->to_json());
}

asio::awaitable<Items> RestApi::Impl::visible_builders(Call& call) {
    auto all = co_await builders_list();
    co_await ensure_hidden(call);
    const auto& hidden = *call.hidden;
    Items items;
    for (const auto& builder : all)
        if (!hidden.count(builder.builderid)) items.push_back(builder.to_json(call.storage));
    co_return items;
}

asio::awaitable<std::vector<data::Builder>> RestApi::Impl::builders_list() {
    co_return co_await queries.builders();
}

asio::awaitable<Result> RestApi::Impl::masters_collection(Call& call) {
    auto all = co_await queries.masters();
    if (auto builderid = call.args.integer("builderid")) {
        auto builder = co_await builders.get(*builderid);
        if (!builder || co_await is_hidden(call, *builderid)) co_return collection({});
        std::erase_if(all, [&](const data::Master& m) {
            return std::find(builder->masterids.begin(), builder->masterids.end(), m.masterid) ==
                   builder->masterids.end();
        });
    }
    co_return collection(to_items(all, call.storage));
}

asio::awaitable<Result> RestApi::Impl::master_entity(Call& call) {
    auto masterid = call.args.integer("masterid");
    std::optional<data::Master> master;
    if (masterid) master = co_await masters.get(*masterid);
    if (!master) co_return not_found();
    if (auto builderid = call.args.integer("builderid")) {
        auto builder = co_await builders.get(*builderid);
        if (!builder || co_await is_hidden(call, *builderid) ||
            std::find(builder->masterids.begin(), builder->masterids.end(), *masterid) ==
                builder->masterids.end())
            co_return not_found();
    }
    co_return entity(master->to_json());
}

asio::awaitable<std::vector<data::Worker>> RestApi::Impl::scoped_workers(Call& call) {
    auto all = co_await queries.workers();
    auto masterid = call.args.integer("masterid");
    auto builderid = call.args.integer("builderid");
    if (builderid && co_await is_hidden(call, *builderid)) co_return std::vector<data::Worker>{};
    std::erase_if(all, [&](const data::Worker& worker) {
        if (!masterid && !builderid) return false;
        for (const auto& [m, b] : worker.configured_on)
            if ((!masterid || m == *masterid) && (!builderid || b == *builderid)) return false;
        if (masterid && !builderid)
            return std::find(worker.connected_to.begin(), worker.connected_to.end(), *masterid) ==
                   worker.connected_to.end();
        return true;
    });
    co_return all;
}

asio::awaitable<Result> RestApi::Impl::workers_collection(Call& call) {
    auto workers = co_await scoped_workers(call);
    co_return collection(to_items(workers, call.storage));
}

asio::awaitable<Result> RestApi::Impl::worker_entity(Call& call) {
    auto workerid = call.args.integer("workerid");
    auto name = call.args.text("name");
    auto workers = co_await scoped_workers(call);
    for (const auto& worker : workers)
        if ((workerid && worker.workerid == *workerid) || (name && worker.name == *name))
            co_return entity(worker.to_json());
    co_return not_found();
}

asio::awaitable<Items> RestApi::Impl::visible_force_schedulers(Call& call) {
    auto current = config();
    Items items;
    if (!current) co_return items;
    std::set<std::string> hidden_names;
    if (call.visibility.is_restricted())
        for (const auto& builder : current->builders)
            if (!call.visibility.may_view_builder(builder.name)) hidden_names.insert(builder.name);
    for (const auto& scheduler : current->schedulers) {
        if (scheduler.type != "force") continue;
        auto item = force_scheduler_json(scheduler);
        auto& names = item["builder_names"].as_array();
        boost::json::array visible;
        for (const auto& n : names)
            if (!hidden_names.count(std::string(n.as_string()))) visible.push_back(n);
        if (visible.empty() && !names.empty()) continue;
        names = std::move(visible);
        items.push_back(std::move(item));
    }
    co_return items;
}

asio::awaitable<Result> RestApi::Impl::forceschedulers_collection(Call& call) {
    auto items = co_await visible_force_schedulers(call);
    if (call.args.has("builderid")) {
        auto builderid = co_await resolve_builderid(call);
        if (!builderid) co_return collection({});
        auto builder = co_await builders.get(*builderid);
        if (!builder) co_return collection({});
        std::erase_if(items, [&](const boost::json::object& item) {
            const auto& names = item.at("builder_names").as_array();
            return std::find(names.begin(), names.end(), boost::json::value(builder->name)) ==
                   names.end();
        });
    }
    co_return collection(std::move(items));
}

asio::awaitable<Result> RestApi::Impl::forcescheduler_entity(Call& call) {
    auto name = call.args.text("schedulername");
    auto items = co_await visible_force_schedulers(call);
    for (auto& item : items)
        if (name && item.at("name").as_string() == *name) co_return entity(std::move(item));
    co_return not_found();
}

asio::awaitable<Result> RestApi::Impl::schedulers_collection(Call& call) {
    auto all = co_await schedulers.list();
    if (auto masterid = call.args.integer("masterid"))
        std::erase_if(all, [&](const data::Scheduler& scheduler) {
            return !scheduler.master || scheduler.master->masterid != *masterid;
        });
    co_return collection(to_items(all, call.storage));
}

asio::awaitable<Result> RestApi::Impl::scheduler_entity(Call& call) {
    auto schedulerid = call.args.integer("schedulerid");
    std::optional<data::Scheduler> found;
    if (schedulerid) found = co_await schedulers.get(*schedulerid);
    if (!found) co_return not_found();
    if (auto masterid = call.args.integer("masterid");
        masterid && (!found->master || found->master->masterid != *masterid))
        co_return not_found();
    co_return entity(found->to_json());
}

}  // namespace kiln::www
