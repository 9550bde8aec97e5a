// SPDX-License-Identifier: Apache-2.0
// Test support for unit tests on data/'s stores (data/, www/, ...): a real in-memory SQLite
// database with the current schema, a bus, a data::Context over them whose clock reads `now`
// (fixed; a test may move it), and run(): a coroutine run to completion on the test's
// io_context. Fixtures derive from StoreTest and add the stores they use as members.
#pragma once

#include "bus/bus.hpp"
#include "data/context.hpp"
#include "data/entities.hpp"
#include "db/database.hpp"

#include <memory>
#include <stdexcept>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <gtest/gtest.h>

namespace kiln::data::testing {

class StoreTest : public ::testing::Test {
protected:
    static std::unique_ptr<db::Database> open_empty() {
        auto opened = db::open_database("sqlite::memory:", ".");
        if (!opened) throw std::runtime_error(opened.error().message);
        db::upgrade_schema(**opened);
        return std::move(*opened);
    }

    // Runs `task` on io until it is done; its result (or exception).
    template <typename T>
    T run(boost::asio::awaitable<T> task) {
        auto future = boost::asio::co_spawn(io, std::move(task), boost::asio::use_future);
        io.restart();
        io.run();
        return future.get();
    }

    boost::asio::io_context io;
    std::unique_ptr<db::Database> database = open_empty();
    bus::Bus bus;
    Epoch now = 1700000000;
    Context context{*database, bus, [this] { return now; }};
};

}  // namespace kiln::data::testing
