// SPDX-License-Identifier: Apache-2.0
// Context: what every data/ store uses: the database (the one place state is kept), the bus
// (where each committed change is announced) and the clock (epoch seconds; injected so
// tests control time); and the running totals the stores keep for metrics.
#pragma once

#include "bus/bus.hpp"
#include "data/entities.hpp"
#include "db/database.hpp"

#include <chrono>
#include <cstdint>
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

    // Totals since the process started, kept by the stores on the domain executor (read them
    // there too). For metrics; nothing else depends on them.
    struct Totals {
        std::uint64_t log_bytes_appended = 0;  // new log text stored (resent lines not counted)
    };
    Totals totals{};
};

}  // namespace kiln::data
