// SPDX-License-Identifier: Apache-2.0
// Migration 1 against Buildbot 3.7: every table and index of data-model.md §3, and the
// exact SQLite schema a Buildbot master created (samples/db_schema_sqlite.sql), column by
// column, key by key.
#include "db/database.hpp"
#include "db/detail/schema.hpp"
#include "db/sqlite_database.hpp"

#include <algorithm>
#include <array>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace kiln::db {
namespace {

const std::set<std::string> kTables{"build_data",
                                    "build_properties",
                                    "builder_masters",
                                    "builders",
                                    "builders_tags",
                                    "buildrequest_claims",
                                    "buildrequests",
                                    "builds",
                                    "buildset_properties",
                                    "buildset_sourcestamps",
                                    "buildsets",
                                    "change_files",
                                    "change_properties",
                                    "change_users",
                                    "changes",
                                    "changesource_masters",
                                    "changesources",
                                    "configured_workers",
                                    "connected_workers",
                                    "logchunks",
                                    "logs",
                                    "masters",
                                    "object_state",
                                    "objects",
                                    "patches",
                                    "scheduler_changes",
                                    "scheduler_masters",
                                    "schedulers",
                                    "sourcestamps",
                                    "steps",
                                    "tags",
                                    "test_code_paths",
                                    "test_names",
                                    "test_result_sets",
                                    "test_results",
                                    "users",
                                    "users_info",
                                    "workers"};

// data-model.md §3, as created on SQLite.
const std::set<std::string> kUniqueIndexes{"build_data_buildid_name",
                                           "builder_masters_identity",
                                           "builder_name_hash",
                                           "builders_tags_unique",
                                           "buildrequest_claims_brids",
                                           "builds_number",
                                           "buildset_sourcestamps_unique",
                                           "changesource_name_hash",
                                           "configured_workers_identity",
                                           "connected_workers_identity",
                                           "logs_slug",
                                           "master_name_hashes",
                                           "name_per_object",
                                           "object_identity",
                                           "scheduler_changes_unique",
                                           "scheduler_name_hash",
                                           "sourcestamps_ss_hash_key",
                                           "steps_name",
                                           "steps_number",
                                           "tag_name_hash",
                                           "users_bb_user",
                                           "users_identifier",
                                           "users_info_attrs",
                                           "users_info_uid_attr_type",
                                           "workers_name"};
const std::set<std::string> kOtherIndexes{"build_properties_buildid",
                                          "builder_masters_builderid",
                                          "builder_masters_masterid",
                                          "builders_tags_builderid",
                                          "buildrequests_builderid",
                                          "buildrequests_buildsetid",
                                          "buildrequests_complete",
                                          "builds_buildrequestid",
                                          "builds_masterid",
                                          "builds_workerid",
                                          "buildset_properties_buildsetid",
                                          "buildset_sourcestamps_buildsetid",
                                          "buildsets_complete",
                                          "buildsets_submitted_at",
                                          "change_files_changeid",
                                          "change_properties_changeid",
                                          "change_users_changeid",
                                          "changes_author",
                                          "changes_branch",
                                          "changes_category",
                                          "changes_revision",
                                          "changes_sourcestampid",
                                          "changes_when_timestamp",
                                          "configured_workers_buildmasterid",
                                          "configured_workers_workers",
                                          "connected_workers_masterid",
                                          "connected_workers_workers",
                                          "ix_buildrequest_claims_masterid",
                                          "logchunks_firstline",
                                          "logchunks_lastline",
                                          "scheduler_changes_changeid",
                                          "scheduler_changes_schedulerid",
                                          "steps_started_at",
                                          "test_code_paths_path",
                                          "test_names_name",
                                          "users_info_uid"};

std::string read_file(const std::string& path) {
    std::ifstream file(path);
    std::stringstream text;
    text << file.rdbuf();
    return text.str();
}

std::unique_ptr<SqliteDatabase> upgraded() {
    auto database = SqliteDatabase::open_memory();
    upgrade_schema(*database);
    return database;
}

std::set<std::string> names_in_schema(Database& database, const std::string& type) {
    return database.read_sync([&type](Connection& c) {
        std::set<std::string> names;
        const std::array<Field, 1> params{type};
        c.query("SELECT name FROM sqlite_master WHERE type = ? AND name NOT LIKE 'sqlite_%'",
                params, [&names](const Row& row) { names.insert(row.text(0)); });
        return names;
    });
}

std::string as_text(const Field& field) {
    if (const auto* integer = std::get_if<std::int64_t>(&field)) return std::to_string(*integer);
    if (const auto* text = std::get_if<std::string>(&field)) return "'" + *text + "'";
    return "NULL";
}

// Everything SQLite knows about a table's shape, as comparable text.
std::string describe_table(Connection& c, const std::string& table) {
    std::ostringstream out;
    auto dump = [&](const std::string& pragma, std::vector<std::string>& lines) {
        c.query(pragma, {}, [&](const Row& row) {
            std::string line;
            for (std::size_t i = 0; i < row.size(); ++i) {
                // foreign_key_list's first two columns (id, seq) number the keys in
                // declaration order, which differs; the rest identifies a key.
                if (pragma.starts_with("PRAGMA foreign_key_list") && i < 2) continue;
                line += as_text(row.field(i)) + "|";
            }
            lines.push_back(line);
        });
    };
    std::vector<std::string> columns, keys, indexes;
    dump("PRAGMA table_info(" + table + ")", columns);
    dump("PRAGMA foreign_key_list(" + table + ")", keys);
    std::sort(keys.begin(), keys.end());
    c.query("PRAGMA index_list(" + table + ")", {}, [&](const Row& row) {
        const auto name = row.text(1);
        if (name.starts_with("sqlite_autoindex")) return;
        // Kiln's own index beside Buildbot's (migration 3): extra, changes no query's result.
        if (name == "buildrequests_queue") return;
        std::string line = name + " unique=" + std::to_string(row.integer(2)) + " on";
        for (const auto& column : c.query_all("PRAGMA index_info(" + name + ")"))
            line += " " + column.text(2);
        indexes.push_back(line);
    });
    std::sort(indexes.begin(), indexes.end());
    out << "table " << table << "\n";
    for (const auto* list : {&columns, &keys, &indexes})
        for (const auto& line : *list)
            out << "  " << line << "\n";
    return out.str();
}

TEST(Migrations, create_every_buildbot_table_and_every_index_named_in_the_data_model) {
    auto database = upgraded();
    auto tables = names_in_schema(*database, "table");
    EXPECT_EQ(tables.erase("kiln_schema"), 1U);
    // Kiln's own table (migration 2), beside Buildbot's.
    EXPECT_EQ(tables.erase("buildrequest_collapses"), 1U);
    EXPECT_EQ(tables, kTables);
    EXPECT_EQ(tables.size(), 38U);

    std::set<std::string> all_indexes = kUniqueIndexes;
    all_indexes.insert(kOtherIndexes.begin(), kOtherIndexes.end());
    auto indexes = names_in_schema(*database, "index");
    EXPECT_EQ(indexes.erase("buildrequest_collapses_buildid"), 1U);
    // Kiln's own index (migration 3): requests in queue order.
    EXPECT_EQ(indexes.erase("buildrequests_queue"), 1U);
    EXPECT_EQ(indexes, all_indexes);
    const auto unique = database->read_sync([](Connection& c) {
        std::set<std::string> names;
        for (const auto& table : kTables)
            c.query("PRAGMA index_list(" + table + ")", {}, [&](const Row& row) {
                if (row.integer(2) == 1 && !row.text(1).starts_with("sqlite_"))
                    names.insert(row.text(1));
            });
        return names;
    });
    EXPECT_EQ(unique, kUniqueIndexes);
}

// Guards the lists above against drifting from the spec they were copied from.
TEST(Migrations, index_lists_agree_with_section_3_of_the_data_model) {
    const auto spec = read_file(KILN_SHARED_DIR "/specs/data-model.md");
    if (spec.empty()) GTEST_SKIP() << "no data-model.md under " KILN_SHARED_DIR;
    const auto section = spec.substr(spec.find("## 3. Index list"));
    auto list_after = [&section](const std::string& label) {
        const auto start = section.find(label) + label.size();
        const auto end = section.find("\n\n", start);
        std::set<std::string> names;
        std::stringstream items(section.substr(start, end - start));
        for (std::string item; std::getline(items, item, ',');) {
            std::erase_if(item, [](char ch) { return ch == ' ' || ch == '\n' || ch == '.'; });
            if (!item.empty()) names.insert(item);
        }
        return names;
    };
    EXPECT_EQ(list_after("Unique:"), kUniqueIndexes);
    EXPECT_EQ(list_after("Non-unique:"), kOtherIndexes);
}

TEST(Migrations, reproduce_the_sqlite_schema_of_a_buildbot_3_7_master_column_by_column) {
    const auto sample = read_file(KILN_SHARED_DIR "/specs/samples/db_schema_sqlite.sql");
    if (sample.empty()) GTEST_SKIP() << "no samples/db_schema_sqlite.sql under " KILN_SHARED_DIR;
    auto buildbot = SqliteDatabase::open_memory();
    buildbot->write_sync([&sample](Connection& c) { c.execute_script(sample); });
    auto kiln = upgraded();
    for (const auto& table : kTables) {
        const auto expected =
            buildbot->read_sync([&table](Connection& c) { return describe_table(c, table); });
        const auto actual =
            kiln->read_sync([&table](Connection& c) { return describe_table(c, table); });
        EXPECT_EQ(actual, expected);
        if (table == "builds") {  // the comparison sees the keys' ON DELETE actions
            EXPECT_NE(expected.find("'workerid'|'id'|'NO ACTION'|'SET NULL'|"), std::string::npos)
                << expected;
        }
    }
}

TEST(Migrations, refuse_to_build_over_a_buildbot_database) {
    const auto sample = read_file(KILN_SHARED_DIR "/specs/samples/db_schema_sqlite.sql");
    if (sample.empty()) GTEST_SKIP() << "no samples/db_schema_sqlite.sql under " KILN_SHARED_DIR;
    auto database = SqliteDatabase::open_memory();
    database->write_sync([&sample](Connection& c) { c.execute_script(sample); });
    EXPECT_EQ(schema_version(*database), 0);
    EXPECT_THROW(upgrade_schema(*database), DatabaseError);
}

TEST(Migrations, spell_the_same_schema_for_postgresql_with_serial_ids_bytea_and_a_late_key) {
    const auto ddl = detail::schema_v1_ddl(detail::dialect_for("postgresql"));
    EXPECT_EQ(ddl.find('{'), std::string::npos);
    EXPECT_EQ(ddl.find("BLOB"), std::string::npos);
    EXPECT_NE(ddl.find("content BYTEA"), std::string::npos);
    EXPECT_NE(ddl.find("id SERIAL PRIMARY KEY"), std::string::npos);
    EXPECT_NE(ddl.find("uid SERIAL PRIMARY KEY"), std::string::npos);
    EXPECT_NE(ddl.find("changeid SERIAL PRIMARY KEY"), std::string::npos);
    // The key closing the builds -> buildrequests -> buildsets -> builds cycle comes last.
    const auto altered = ddl.find("ALTER TABLE buildsets ADD CONSTRAINT parent_buildid");
    ASSERT_NE(altered, std::string::npos);
    EXPECT_GT(altered, ddl.find("CREATE TABLE builds ("));

    const auto sqlite = detail::schema_v1_ddl(detail::dialect_for("sqlite"));
    EXPECT_EQ(sqlite.find('{'), std::string::npos);
    EXPECT_EQ(sqlite.find("ALTER TABLE"), std::string::npos);
    EXPECT_THROW(detail::dialect_for("oracle"), DatabaseError);
}

}  // namespace
}  // namespace kiln::db
