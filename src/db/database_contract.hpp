// SPDX-License-Identifier: Apache-2.0
// Test-only: the contract every Database backend keeps, as a type-parameterized GoogleTest
// suite. A test file instantiates it with backend types that provide
//   static std::unique_ptr<Database> open_empty();  // a fresh, empty database
//   static bool is_available();                       // false skips (e.g. no server given)
//   static constexpr bool kHasConcurrentReads;        // reads run beside a write
// database_test.cpp does so for SQLite in memory, database_integration_test.cpp for a SQLite
// file (and, once it exists, PostgreSQL when CI_TEST_POSTGRES_URL is set).
#pragma once

#include "db/database.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

namespace kiln::db::testing {

inline std::int64_t add_master(Connection& connection, const std::string& name) {
    const std::array<Field, 2> params{name, "hash-of-" + name};
    return connection.insert("INSERT INTO masters (name, name_hash, active, last_active) "
                             "VALUES (?, ?, 1, 0) RETURNING id",
                             params);
}

inline std::int64_t count_masters(Connection& connection) {
    return connection.query_one("SELECT COUNT(*) FROM masters")->integer(0);
}

// Runs a coroutine on a fresh io_context on this thread; rethrows what escapes it.
template <typename MakeCoroutine>
void run_coroutine(MakeCoroutine make) {
    boost::asio::io_context context;
    std::exception_ptr failure;
    boost::asio::co_spawn(context, std::move(make),
                          [&failure](std::exception_ptr error) { failure = error; });
    context.run();
    if (failure) std::rethrow_exception(failure);
}

// Keeps the database's writer busy inside a write (which adds master "first") from
// construction until release(), so that writes submitted meanwhile queue behind it.
class WriterHeld {
public:
    explicit WriterHeld(Database& db)
        : blocker_(std::async(std::launch::async, [this, &db] {
            db.write_sync([this](Connection& c) {
                add_master(c, "first");
                started_.set_value();
                release_.get_future().wait();
            });
        })) {
        started_.get_future().wait();
    }
    WriterHeld(const WriterHeld&) = delete;
    WriterHeld& operator=(const WriterHeld&) = delete;
    ~WriterHeld() { release(); }
    // Lets the held write go on to its commit.
    void let_go() {
        if (is_let_go_) return;
        is_let_go_ = true;
        release_.set_value();
    }
    // let_go(), then waits until the held write has returned.
    void release() {
        let_go();
        if (blocker_.valid()) blocker_.get();
    }

private:
    bool is_let_go_ = false;
    std::promise<void> started_;
    std::promise<void> release_;
    std::future<void> blocker_;  // last: its thread uses the promises
};

template <typename Backend>
class DatabaseContract : public ::testing::Test {
protected:
    void SetUp() override {
        if (!Backend::is_available()) GTEST_SKIP() << "backend not configured";
        database_ = Backend::open_empty();
        upgrade_schema(*database_);
    }
    void TearDown() override {
        if (database_) database_->close();
    }
    Database& db() { return *database_; }

    std::unique_ptr<Database> database_;
};

TYPED_TEST_SUITE_P(DatabaseContract);

TYPED_TEST_P(DatabaseContract, commits_a_write_when_its_work_returns) {
    this->db().write_sync([](Connection& c) { add_master(c, "m1"); });
    EXPECT_EQ(this->db().read_sync(count_masters), 1);
}

TYPED_TEST_P(DatabaseContract, rolls_back_a_write_when_its_work_throws_and_rethrows) {
    EXPECT_THROW(this->db().write_sync([](Connection& c) {
        add_master(c, "m1");
        throw std::runtime_error("changed my mind");
    }),
                 std::runtime_error);
    EXPECT_EQ(this->db().read_sync(count_masters), 0);
}

TYPED_TEST_P(DatabaseContract, reports_a_duplicate_unique_key_as_a_unique_violation) {
    this->db().write_sync([](Connection& c) { add_master(c, "m1"); });
    try {
        this->db().write_sync([](Connection& c) { add_master(c, "m1"); });
        FAIL() << "no exception";
    } catch (const UniqueViolation& error) {
        EXPECT_NE(std::string(error.what()).find("INSERT INTO masters"), std::string::npos)
            << "the message names the statement: " << error.what();
    }
}

TYPED_TEST_P(DatabaseContract, keeps_a_transaction_usable_after_a_unique_violation_in_a_savepoint) {
    const auto count = this->db().write_sync([](Connection& c) {
        add_master(c, "m1");
        EXPECT_THROW(c.with_savepoint([&c] { return add_master(c, "m1"); }), UniqueViolation);
        const auto id = c.with_savepoint([&c] { return add_master(c, "m2"); });
        EXPECT_GT(id, 0);
        return count_masters(c);
    });
    EXPECT_EQ(count, 2);
    EXPECT_EQ(this->db().read_sync(count_masters), 2);
}

TYPED_TEST_P(DatabaseContract, returns_increasing_ids_from_insert_returning) {
    const auto ids = this->db().write_sync([](Connection& c) {
        std::vector<std::int64_t> out;
        for (int i = 0; i < 5; ++i)
            out.push_back(add_master(c, "m" + std::to_string(i)));
        return out;
    });
    for (std::size_t i = 1; i < ids.size(); ++i)
        EXPECT_GT(ids[i], ids[i - 1]);
    const auto later = this->db().write_sync([](Connection& c) { return add_master(c, "m9"); });
    EXPECT_GT(later, ids.back());
}

TYPED_TEST_P(DatabaseContract, round_trips_every_field_type) {
    const auto row = this->db().write_sync([](Connection& c) {
        const std::array<Field, 5> values{nullptr, std::int64_t{-7}, 2.5, std::string("text é"),
                                          Blob{std::string("\0\x01\xff", 3)}};
        return *c.query_one("SELECT ?, ?, ?, ?, ?", values);
    });
    EXPECT_TRUE(row.is_null(0));
    EXPECT_EQ(row.optional_integer(0), std::nullopt);
    EXPECT_EQ(row.integer(1), -7);
    EXPECT_DOUBLE_EQ(row.real(2), 2.5);
    EXPECT_EQ(row.text(3), "text é");
    EXPECT_EQ(row.blob(4), std::string("\0\x01\xff", 3));
    EXPECT_THROW((void)row.integer(3), DatabaseError);
    EXPECT_THROW((void)row.field(5), DatabaseError);
}

TYPED_TEST_P(DatabaseContract, reports_sql_errors_with_the_statement_and_the_reason) {
    try {
        this->db().read_sync([](Connection& c) { c.query_all("SELECT nope FROM masters"); });
        FAIL() << "no exception";
    } catch (const DatabaseError& error) {
        const std::string what = error.what();
        EXPECT_NE(what.find("SELECT nope FROM masters"), std::string::npos) << what;
        EXPECT_NE(what.find("nope"), what.rfind("nope")) << "reason and statement: " << what;
    }
}

TYPED_TEST_P(DatabaseContract, refuses_writes_inside_a_read) {
    EXPECT_THROW(this->db().read_sync([](Connection& c) { add_master(c, "m1"); }), DatabaseError);
    // The connection is still fine for both afterwards.
    this->db().write_sync([](Connection& c) { add_master(c, "m1"); });
    EXPECT_EQ(this->db().read_sync(count_masters), 1);
}

TYPED_TEST_P(DatabaseContract, runs_a_query_nested_in_another_with_the_same_text) {
    this->db().write_sync([](Connection& c) {
        add_master(c, "a");
        add_master(c, "b");
    });
    const auto pairs = this->db().read_sync([](Connection& c) {
        int count = 0;
        c.query("SELECT id FROM masters", {}, [&](const Row&) {
            c.query("SELECT id FROM masters", {}, [&](const Row&) { ++count; });
        });
        return count;
    });
    EXPECT_EQ(pairs, 4);
}

TYPED_TEST_P(DatabaseContract, delivers_results_on_the_awaiting_coroutines_executor) {
    auto& db = this->db();
    run_coroutine([&db]() -> boost::asio::awaitable<void> {
        const auto caller = std::this_thread::get_id();
        auto insert = [](Connection& c) { return add_master(c, "m1"); };
        const auto id = co_await db.write(insert);
        EXPECT_GT(id, 0);
        EXPECT_EQ(std::this_thread::get_id(), caller);

        auto where = [](Connection&) { return std::this_thread::get_id(); };
        const auto worker = co_await db.read(where);
        EXPECT_NE(worker, caller) << "the work runs on the database's thread";
        auto count = [](Connection& c) { return count_masters(c); };
        const auto masters = co_await db.read(count);
        EXPECT_EQ(masters, 1);
        auto nothing = [](Connection& c) { c.execute("DELETE FROM masters WHERE id < 0"); };
        co_await db.write(nothing);
    });
}

TYPED_TEST_P(DatabaseContract, delivers_exceptions_through_co_await) {
    auto& db = this->db();
    bool caught = false;
    run_coroutine([&db, &caught]() -> boost::asio::awaitable<void> {
        auto insert = [](Connection& c) { return add_master(c, "m1"); };
        co_await db.write(insert);
        const auto caller = std::this_thread::get_id();
        try {
            co_await db.write(insert);
        } catch (const UniqueViolation&) {
            caught = true;
            EXPECT_EQ(std::this_thread::get_id(), caller);
        }
    });
    EXPECT_TRUE(caught);
}

TYPED_TEST_P(DatabaseContract, accepts_work_from_many_threads_at_once) {
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([this, t] {
            for (int i = 0; i < 25; ++i) {
                const auto name = std::to_string(t) + "-" + std::to_string(i);
                this->db().write_sync([&name](Connection& c) { add_master(c, name); });
                (void)this->db().read_sync(count_masters);
            }
        });
    }
    for (auto& thread : threads)
        thread.join();
    EXPECT_EQ(this->db().read_sync(count_masters), 100);
}

TYPED_TEST_P(DatabaseContract, finishes_queued_work_on_close_then_refuses_more) {
    auto& db = this->db();
    WriterHeld held(db);  // adds master "first", then holds the writer until release()

    boost::asio::io_context context;
    std::atomic<int> finished = 0;
    for (int i = 0; i < 10; ++i) {
        boost::asio::co_spawn(
            context,
            [&db, &finished, i]() -> boost::asio::awaitable<void> {
                auto insert = [i](Connection& c) { add_master(c, "queued" + std::to_string(i)); };
                co_await db.write(insert);
                ++finished;
            },
            [](std::exception_ptr error) {
                if (error) std::rethrow_exception(error);
            });
    }
    context.poll();  // each coroutine submits its write, then waits
    held.let_go();
    db.close();
    held.release();
    context.run();
    EXPECT_EQ(finished, 10);
    EXPECT_THROW(db.write_sync([](Connection& c) { add_master(c, "late"); }), DatabaseError);
    EXPECT_THROW((void)db.read_sync(count_masters), DatabaseError);
    db.close();  // idempotent
}

TYPED_TEST_P(DatabaseContract, reads_a_committed_snapshot_while_a_long_write_runs) {
    if (!TypeParam::kHasConcurrentReads) GTEST_SKIP() << "reads share the writer's thread";
    auto& db = this->db();
    db.write_sync([](Connection& c) { add_master(c, "before"); });

    std::promise<void> write_started;
    std::promise<void> release_write;
    auto writer = std::async(std::launch::async, [&] {
        db.write_sync([&](Connection& c) {
            add_master(c, "during");
            write_started.set_value();
            release_write.get_future().wait();
        });
    });
    write_started.get_future().wait();
    auto reader = std::async(std::launch::async, [&] { return db.read_sync(count_masters); });
    const bool read_finished =
        reader.wait_for(std::chrono::seconds(20)) == std::future_status::ready;
    release_write.set_value();
    writer.get();
    ASSERT_TRUE(read_finished) << "a read waited for a write";
    EXPECT_EQ(reader.get(), 1) << "the read sees only committed rows";
    EXPECT_EQ(db.read_sync(count_masters), 2);
}

TYPED_TEST_P(DatabaseContract, keeps_one_snapshot_for_a_whole_read) {
    if (!TypeParam::kHasConcurrentReads) GTEST_SKIP() << "reads share the writer's thread";
    auto& db = this->db();
    std::promise<void> first_count_done;
    std::promise<void> write_done;
    auto reader = std::async(std::launch::async, [&] {
        return db.read_sync([&](Connection& c) {
            const auto before = count_masters(c);
            first_count_done.set_value();
            write_done.get_future().wait();
            return std::pair(before, count_masters(c));
        });
    });
    first_count_done.get_future().wait();
    db.write_sync([](Connection& c) { add_master(c, "during"); });
    write_done.set_value();
    const auto [before, after] = reader.get();
    EXPECT_EQ(before, after);
    EXPECT_EQ(db.read_sync(count_masters), 1);
}

TYPED_TEST_P(DatabaseContract, upgrades_an_empty_database_to_the_latest_version_once) {
    EXPECT_EQ(schema_version(this->db()), latest_schema_version());
    this->db().write_sync([](Connection& c) { add_master(c, "m1"); });
    EXPECT_EQ(upgrade_schema(this->db()), latest_schema_version());  // a no-op
    EXPECT_EQ(schema_version(this->db()), latest_schema_version());
    EXPECT_EQ(this->db().read_sync(count_masters), 1);
}

TYPED_TEST_P(DatabaseContract, refuses_to_upgrade_a_database_newer_than_it_knows) {
    this->db().write_sync([](Connection& c) {
        const std::array<Field, 1> params{std::int64_t{latest_schema_version() + 1}};
        c.execute("UPDATE kiln_schema SET version = ?", params);
    });
    try {
        upgrade_schema(this->db());
        FAIL() << "no exception";
    } catch (const DatabaseError& error) {
        EXPECT_NE(std::string(error.what()).find("newer"), std::string::npos) << error.what();
    }
}

TYPED_TEST_P(DatabaseContract, cascades_deletes_along_foreign_keys) {
    const auto remaining = this->db().write_sync([](Connection& c) {
        const auto masterid = add_master(c, "m1");
        const auto builderid =
            c.insert("INSERT INTO builders (name, name_hash) VALUES (?, ?) RETURNING id",
                     std::array<Field, 2>{std::string("b"), std::string("hash-of-b")});
        c.execute("INSERT INTO builder_masters (builderid, masterid) VALUES (?, ?)",
                  std::array<Field, 2>{builderid, masterid});
        c.execute("DELETE FROM masters WHERE id = ?", std::array<Field, 1>{masterid});
        return c.query_one("SELECT COUNT(*) FROM builder_masters")->integer(0);
    });
    EXPECT_EQ(remaining, 0);
}

// Writes queued behind a running one may commit together (SQLite's group commit); each
// still commits or rolls back on its own, and its caller learns its own outcome.
TYPED_TEST_P(DatabaseContract, keeps_each_queued_write_atomic_on_its_own) {
    auto& db = this->db();
    WriterHeld held(db);  // adds master "first", then holds the writer until release()

    boost::asio::io_context context;
    // What each queued write does, and what its caller saw: "ok", "unique", "error".
    const std::vector<std::string> plans{"add a", "add b then throw", "add c", "add a again",
                                         "add d"};
    std::vector<std::string> seen(plans.size());
    for (std::size_t index = 0; index < plans.size(); ++index) {
        boost::asio::co_spawn(
            context,
            [&db, &seen, &plans, index]() -> boost::asio::awaitable<void> {
                auto work = [&plans, index](Connection& c) {
                    const auto& plan = plans[index];
                    if (plan == "add a" || plan == "add a again") add_master(c, "a");
                    if (plan == "add c") add_master(c, "c");
                    if (plan == "add d") add_master(c, "d");
                    if (plan == "add b then throw") {
                        add_master(c, "b");
                        throw std::runtime_error("work failed after its insert");
                    }
                };
                try {
                    co_await db.write(work);
                    seen[index] = "ok";
                } catch (const UniqueViolation&) {
                    seen[index] = "unique";
                } catch (const std::runtime_error&) {
                    seen[index] = "error";
                }
            },
            [](std::exception_ptr error) {
                if (error) std::rethrow_exception(error);
            });
    }
    context.poll();  // every write is queued behind the blocker
    held.release();
    context.run();
    EXPECT_EQ(seen, (std::vector<std::string>{"ok", "error", "ok", "unique", "ok"}));
    const auto names = db.read_sync([](Connection& c) {
        std::vector<std::string> out;
        c.query("SELECT name FROM masters ORDER BY id", {},
                [&](const Row& row) { out.push_back(row.text(0)); });
        return out;
    });
    EXPECT_EQ(names, (std::vector<std::string>{"first", "a", "c", "d"}));
}

REGISTER_TYPED_TEST_SUITE_P(
    DatabaseContract, keeps_each_queued_write_atomic_on_its_own,
    commits_a_write_when_its_work_returns, rolls_back_a_write_when_its_work_throws_and_rethrows,
    reports_a_duplicate_unique_key_as_a_unique_violation,
    keeps_a_transaction_usable_after_a_unique_violation_in_a_savepoint,
    returns_increasing_ids_from_insert_returning, round_trips_every_field_type,
    reports_sql_errors_with_the_statement_and_the_reason, refuses_writes_inside_a_read,
    runs_a_query_nested_in_another_with_the_same_text,
    delivers_results_on_the_awaiting_coroutines_executor, delivers_exceptions_through_co_await,
    accepts_work_from_many_threads_at_once, finishes_queued_work_on_close_then_refuses_more,
    reads_a_committed_snapshot_while_a_long_write_runs, keeps_one_snapshot_for_a_whole_read,
    upgrades_an_empty_database_to_the_latest_version_once,
    refuses_to_upgrade_a_database_newer_than_it_knows, cascades_deletes_along_foreign_keys);

}  // namespace kiln::db::testing
