// SPDX-License-Identifier: Apache-2.0
// SchedulerTriggers: the master's process::TriggerServices, so Trigger steps reach the
// triggerable schedulers (schedulers::SchedulerService) and cancel their children through the
// master.
#pragma once

#include "data/builds.hpp"
#include "data/queries.hpp"
#include "process/trigger_services.hpp"
#include "schedulers/scheduler_service.hpp"

#include <functional>

namespace kiln::master {

class Master;

class SchedulerTriggers final : public process::TriggerServices {
public:
    SchedulerTriggers(Master& master, schedulers::SchedulerService& schedulers,
                      data::Context& context, data::Buildsets& buildsets, data::Builds& builds)
        : master_(master)
        , schedulers_(schedulers)
        , queries_(context)
        , buildsets_(buildsets)
        , builds_(builds) {}

    boost::asio::awaitable<core::Expected<data::AddedBuildset>>
    trigger(std::string scheduler, process::TriggerRequest request) override;
    boost::asio::awaitable<data::Buildset> wait_complete(data::Id bsid) override;
    boost::asio::awaitable<void> cancel_request(data::Id brid, std::string reason) override;
    boost::asio::awaitable<std::vector<data::Build>> builds_of_request(data::Id brid) override;
    std::string builder_name(data::Id builderid) const override;
    std::string url() const override;

private:
    Master& master_;
    schedulers::SchedulerService& schedulers_;
    data::Queries queries_;
    data::Buildsets& buildsets_;
    data::Builds& builds_;
};

}  // namespace kiln::master
