// SPDX-License-Identifier: Apache-2.0
// The SQL dialect differences the migrations need, and the DDL of each schema version.
// Every backend-specific spelling in the migrations goes through SqlDialect.
#pragma once

#include <string>
#include <string_view>

namespace kiln::db::detail {

struct SqlDialect {
    std::string_view backend;  // Database::backend()
    // Column type and constraints of an auto-increment integer primary key.
    std::string_view auto_increment_primary_key;
    std::string_view blob_type;
    // SQLite accepts a foreign key naming a table created later, but cannot add one with
    // ALTER TABLE; PostgreSQL is the other way round. Decides where the one cyclic key
    // (buildsets.parent_buildid -> builds) is declared.
    bool declares_forward_foreign_keys_inline;
    // One parameter (a table name); returns a row when that table exists.
    std::string_view table_exists_query;
};

// Throws DatabaseError for an unknown backend name.
const SqlDialect& dialect_for(std::string_view backend);

// Migration 1: Buildbot 3.7's 38 tables and their indexes, with Buildbot's names.
std::string schema_v1_ddl(const SqlDialect& dialect);
// Migration 2: buildrequest_collapses (which build covered a collapsed build request).
std::string schema_v2_ddl(const SqlDialect& dialect);
// Migration 3: the index of build requests in queue order (buildrequests_queue).
std::string schema_v3_ddl(const SqlDialect& dialect);

}  // namespace kiln::db::detail
