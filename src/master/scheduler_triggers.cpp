// SPDX-License-Identifier: Apache-2.0
#include "master/scheduler_triggers.hpp"

#include "master/master.hpp"

namespace kiln::master {

namespace asio = boost::asio;

asio::awaitable<core::Expected<data::AddedBuildset>>
SchedulerTriggers::trigger(std::string scheduler, process::TriggerRequest request) {
    schedulers::TriggerRequest wanted;
    wanted.waited_for = request.waited_for;
    wanted.sourcestamps = std::move(request.sourcestamps);
    wanted.properties = std::move(request.properties);
    wanted.parent_buildid = request.parent_buildid;
    wanted.parent_relationship = std::move(request.parent_relationship);
    co_return co_await schedulers_.trigger(std::move(scheduler), std::move(wanted));
}

asio::awaitable<data::Buildset> SchedulerTriggers::wait_complete(data::Id bsid) {
    co_return co_await buildsets_.wait_complete(bsid);
}

asio::awaitable<void> SchedulerTriggers::cancel_request(data::Id brid, std::string reason) {
    co_await master_.cancel_request(brid, std::move(reason));
}

asio::awaitable<std::vector<data::Build>> SchedulerTriggers::builds_of_request(data::Id brid) {
    data::Query query;
    query.filters.push_back({"buildrequestid", data::FilterOp::eq, {boost::json::value(brid)}});
    auto found = co_await queries_.builds(std::move(query));
    auto builds = std::move(found.items);
    // A request collapsed into another's build was served by that build.
    if (!builds.empty()) co_return builds;
    auto covering = co_await buildsets_.covering_build(brid);
    if (!covering) co_return builds;
    auto build = co_await builds_.get(*covering);
    if (build) builds.push_back(std::move(*build));
    co_return builds;
}

std::string SchedulerTriggers::builder_name(data::Id builderid) const {
    return master_.builder_name(builderid);
}

std::string SchedulerTriggers::url() const {
    auto url = master_.current_config()->url;
    if (!url.empty() && url.back() != '/') url += '/';
    return url;
}

}  // namespace kiln::master
