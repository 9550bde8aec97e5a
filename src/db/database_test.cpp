// SPDX-License-Identifier: Apache-2.0
// Row accessors, open_database's URL handling, and the Database contract on SQLite in memory.
#include "db/database.hpp"
#include "db/database_contract.hpp"
#include "db/sqlite_database.hpp"

#include <gtest/gtest.h>

namespace kiln::db {
namespace {

TEST(Row, reads_each_field_type_through_its_accessor) {
    const Row row({nullptr, std::int64_t{42}, 1.5, std::string("text"), Blob{"bytes"}});
    EXPECT_EQ(row.size(), 5U);
    EXPECT_TRUE(row.is_null(0));
    EXPECT_FALSE(row.is_null(1));
    EXPECT_EQ(row.integer(1), 42);
    EXPECT_EQ(row.optional_integer(1), 42);
    EXPECT_EQ(row.optional_integer(0), std::nullopt);
    EXPECT_DOUBLE_EQ(row.real(2), 1.5);
    EXPECT_DOUBLE_EQ(row.real(1), 42.0);
    EXPECT_EQ(row.text(3), "text");
    EXPECT_EQ(row.optional_text(3), "text");
    EXPECT_EQ(row.optional_text(0), std::nullopt);
    EXPECT_EQ(row.blob(4), "bytes");
}

TEST(Row, accepts_an_integral_real_as_an_integer_and_text_and_blob_for_each_other) {
    const Row row({3.0, 3.5, std::string("t"), Blob{"b"}});
    EXPECT_EQ(row.integer(0), 3);
    EXPECT_THROW((void)row.integer(1), DatabaseError);
    EXPECT_EQ(row.blob(2), "t");
    EXPECT_EQ(row.text(3), "b");
}

TEST(Row, throws_a_database_error_for_a_missing_column_or_another_type) {
    const Row row({std::string("text"), nullptr});
    EXPECT_THROW((void)row.field(2), DatabaseError);
    EXPECT_THROW((void)row.integer(0), DatabaseError);
    EXPECT_THROW((void)row.real(0), DatabaseError);
    EXPECT_THROW((void)row.text(1), DatabaseError);
    EXPECT_THROW((void)row.blob(1), DatabaseError);
    EXPECT_THROW((void)row.integer(1), DatabaseError);
}

TEST(OpenDatabase, opens_an_in_memory_sqlite_database) {
    auto database = open_database("sqlite::memory:", "/nonexistent");
    ASSERT_TRUE(database) << database.error().message;
    EXPECT_EQ((*database)->backend(), "sqlite");
    EXPECT_EQ(schema_version(**database), 0);
    EXPECT_EQ(upgrade_schema(**database), latest_schema_version());
}

TEST(OpenDatabase, says_postgresql_is_not_built_yet) {
    auto database = open_database("postgresql://kiln@localhost/kiln", "/tmp");
    ASSERT_FALSE(database);
    EXPECT_EQ(database.error().kind, core::ErrorKind::unavailable);
    EXPECT_NE(database.error().message.find("PostgreSQL"), std::string::npos);
}

TEST(OpenDatabase, rejects_an_unknown_url_scheme_naming_the_accepted_ones) {
    auto database = open_database("mysql://localhost/kiln", "/tmp");
    ASSERT_FALSE(database);
    EXPECT_EQ(database.error().kind, core::ErrorKind::bad_input);
    EXPECT_NE(database.error().message.find("sqlite:"), std::string::npos);
}

}  // namespace

namespace testing {

struct MemorySqlite {
    static std::unique_ptr<Database> open_empty() { return SqliteDatabase::open_memory(); }
    static bool is_available() { return true; }
    static constexpr bool kHasConcurrentReads = false;
};

INSTANTIATE_TYPED_TEST_SUITE_P(MemorySqlite, DatabaseContract, MemorySqlite);
}  // namespace testing

}  // namespace kiln::db
