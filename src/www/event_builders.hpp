// SPDX-License-Identifier: Apache-2.0
// EventBuilders: which builder a live event (/ws, /sse) concerns, for users who may not see
// every builder. Builds and build requests name it; steps, logs and build properties are traced
// through the build they belong to, buildsets through the build requests announced before
// them (all learnt from earlier bus events). Bounded: past kMaxEntries a map starts over, and
// an event it cannot place maps to nothing (the caller withholds it from restricted users).
#pragma once

#include "bus/bus.hpp"
#include "data/entities.hpp"

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace kiln::www {

class EventBuilders {
public:
    static constexpr std::size_t kMaxEntries = 200'000;

    // Learns from the builders', builds', steps', logs' and build requests' events on `bus`
    // from now on (the bus must outlive this object).
    explicit EventBuilders(bus::Bus& bus);

    // The builder names by id (from the database at start and at each reconfig); events of
    // builders also teach names.
    void set_names(std::map<data::Id, std::string> names) { names_ = std::move(names); }

    // The builder's name, when the event can be placed.
    std::optional<std::string> builder_of(const bus::Message& message) const;
    // The names of the builders a buildset event's requests are for (empty when unknown).
    std::vector<std::string> builders_of_buildset(const bus::Message& message) const;

private:
    void learn(const bus::Message& message);
    std::optional<data::Id> step_of(const boost::json::object& payload) const;

    std::vector<bus::Subscription> subscriptions_;
    std::map<data::Id, std::string> names_;
    std::unordered_map<data::Id, data::Id> build_builder_, step_build_, log_step_;
    std::unordered_map<data::Id, std::vector<data::Id>> buildset_builders_;
};

}  // namespace kiln::www
