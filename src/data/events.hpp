// SPDX-License-Identifier: Apache-2.0
// The routing keys each resource is announced under (../shared/specs/rest-api.md §11.2),
// in one place, so every store announces a resource the same way.
#pragma once

#include "bus/bus.hpp"
#include "data/entities.hpp"

#include <string_view>

namespace kiln::data {

void announce(bus::Bus& bus, const Build& build, std::string_view event);
void announce(bus::Bus& bus, const Step& step, std::string_view event);
void announce(bus::Bus& bus, const Log& log, std::string_view event);
void announce(bus::Bus& bus, const BuildRequest& request, std::string_view event);
void announce(bus::Bus& bus, const Worker& worker, std::string_view event);

}  // namespace kiln::data
