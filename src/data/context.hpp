// SPDX-License-Identifier: Apache-2.0
// Context: what every data/ store uses: the database (the one place state is kept), the bus
// (where each committed change is announced) and the clock (epoch seconds; injected so
// tests control time).
#pragma once

#include "bus/bus.hpp"
#include "data/entities.hpp"
#include "db/database.hpp"

#include <chrono>
#include <functional>

namespace kiln::data {

struct Context {
    db::Database& db;
    bus::Bus& bus;
    std::function<Epoch()> clock = [] {
        return std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
    };
    Epoch now() const { return clock(); }
};

}  // namespace kiln::data
