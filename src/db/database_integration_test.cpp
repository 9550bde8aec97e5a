// SPDX-License-Identifier: Apache-2.0
// The Database contract on a SQLite file (WAL, a reader beside the writer), and open_database
// with files: relative and absolute URLs, reopening, refusing a newer schema.
#include "db/database.hpp"
#include "db/database_contract.hpp"
#include "db/sqlite_database.hpp"

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <stdlib.h>

namespace kiln::db {
namespace {

namespace fs = std::filesystem;

// A fresh directory, removed with everything in it when the object goes.
class TempDirectory {
public:
    TempDirectory() {
        std::string pattern = (fs::temp_directory_path() / "kiln-db-test-XXXXXX").string();
        if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
        path_ = pattern;
    }
    ~TempDirectory() {
        std::error_code ignored;  // best effort: a leftover temp directory breaks nothing
        fs::remove_all(path_, ignored);
    }
    TempDirectory(const TempDirectory&) = delete;
    TempDirectory& operator=(const TempDirectory&) = delete;
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

// A PostgreSQL backend joins here once it exists:
//   struct Postgres { open_empty() connects to CI_TEST_POSTGRES_URL and drops every table;
//                     is_available() is whether that variable is set; kHasConcurrentReads = true;
//                     };
//   using Backends = ::testing::Types<FileSqlite, Postgres>;

TEST(OpenDatabase, opens_a_relative_sqlite_path_under_the_base_directory) {
    TempDirectory directory;
    {
        auto database = open_database("sqlite:state.sqlite", directory.path());
        ASSERT_TRUE(database) << database.error().message;
        upgrade_schema(**database);
        (*database)->write_sync([](Connection& c) { testing::add_master(c, "m1"); });
    }
    ASSERT_TRUE(fs::exists(directory.path() / "state.sqlite"));
    auto reopened = open_database("sqlite:state.sqlite", directory.path());
    ASSERT_TRUE(reopened) << reopened.error().message;
    EXPECT_EQ(schema_version(**reopened), latest_schema_version());
    EXPECT_EQ((*reopened)->read_sync(testing::count_masters), 1);
}

TEST(OpenDatabase, reads_three_slashes_as_relative_like_buildbot_db_urls) {
    TempDirectory directory;
    auto database = open_database("sqlite:///state.sqlite", directory.path());
    ASSERT_TRUE(database) << database.error().message;
    EXPECT_EQ(upgrade_schema(**database), latest_schema_version());
    EXPECT_TRUE(fs::exists(directory.path() / "state.sqlite"));
}

TEST(OpenDatabase, opens_an_absolute_sqlite_path_whatever_the_base_directory) {
    TempDirectory directory;
    const auto path = directory.path() / "abs.sqlite";
    auto database = open_database("sqlite:///" + path.string(), "/nonexistent");
    ASSERT_TRUE(database) << database.error().message;
    EXPECT_EQ(upgrade_schema(**database), latest_schema_version());
    EXPECT_TRUE(fs::exists(path));
}

TEST(OpenDatabase, reports_a_file_it_cannot_create_as_unavailable) {
    TempDirectory directory;
    auto database = open_database("sqlite:missing/dir/state.sqlite", directory.path());
    ASSERT_FALSE(database);
    EXPECT_EQ(database.error().kind, core::ErrorKind::unavailable);
    EXPECT_NE(database.error().message.find("missing/dir/state.sqlite"), std::string::npos)
        << database.error().message;
}

TEST(OpenDatabase, refuses_a_database_whose_schema_is_newer_than_this_kiln) {
    TempDirectory directory;
    {
        auto database = open_database("sqlite:state.sqlite", directory.path());
        ASSERT_TRUE(database);
        upgrade_schema(**database);
        (*database)->write_sync(
            [](Connection& c) { c.execute("UPDATE kiln_schema SET version = version + 1"); });
    }
    auto database = open_database("sqlite:state.sqlite", directory.path());
    ASSERT_FALSE(database);
    EXPECT_EQ(database.error().kind, core::ErrorKind::conflict);
    EXPECT_NE(database.error().message.find("newer"), std::string::npos);
}

TEST(SqliteDatabase, uses_wal_journaling_with_foreign_keys_on) {
    TempDirectory directory;
    auto database = SqliteDatabase::open_file(directory.path() / "state.sqlite");
    const auto settings = database->read_sync([](Connection& c) {
        return std::pair(c.query_one("PRAGMA journal_mode")->text(0),
                         c.query_one("PRAGMA foreign_keys")->integer(0));
    });
    EXPECT_EQ(settings.first, "wal");
    EXPECT_EQ(settings.second, 1);
}

// The writer no longer checkpoints (its WAL hook hands that to a thread of its own): the WAL's
// pages must still reach the database file while the database is open.
TEST(SqliteDatabase, checkpoints_the_wal_into_the_file_while_open) {
    TempDirectory directory;
    const auto file = directory.path() / "state.sqlite";
    auto database = SqliteDatabase::open_file(file);
    database->write_sync([](Connection& c) { c.execute_script("CREATE TABLE t (b BLOB)"); });
    // 40 transactions of 64 rows of 4000 bytes: ~2,600 pages through the WAL.
    for (int i = 0; i < 40; ++i)
        database->write_sync([](Connection& c) {
            c.execute_script(
                "INSERT INTO t SELECT zeroblob(4000) FROM (WITH RECURSIVE n(x) AS (SELECT 1 "
                "UNION ALL SELECT x + 1 FROM n WHERE x < 64) SELECT x FROM n)");
        });
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (fs::file_size(file) < 4'000'000 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_GE(fs::file_size(file), 4'000'000u);
    const auto rows = database->read_sync(
        [](Connection& c) { return c.query_one("SELECT count(*) FROM t")->integer(0); });
    EXPECT_EQ(rows, 40 * 64);
}

}  // namespace

namespace testing {

struct FileSqlite {
    static std::unique_ptr<Database> open_empty() {
        // The directories outlive the databases (closed in TearDown), removed at exit.
        static std::mutex mutex;
        static std::vector<std::unique_ptr<TempDirectory>> directories;
        std::lock_guard lock(mutex);
        directories.push_back(std::make_unique<TempDirectory>());
        return SqliteDatabase::open_file(directories.back()->path() / "state.sqlite");
    }
    static bool is_available() { return true; }
    static constexpr bool kHasConcurrentReads = true;
};

INSTANTIATE_TYPED_TEST_SUITE_P(FileSqlite, DatabaseContract, FileSqlite);
}  // namespace testing

}  // namespace kiln::db
