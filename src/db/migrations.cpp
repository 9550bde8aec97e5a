// SPDX-License-Identifier: Apache-2.0
// Schema migrations: the version lives in kiln_schema(version); each migration runs in its
// own write transaction and re-checks the version inside it, so two masters upgrading the
// same database at once apply each migration once.
#include "db/database.hpp"
#include "db/detail/schema.hpp"

#include <string>
#include <vector>

namespace kiln::db {

namespace {

struct Migration {
    int version;
    std::string (*ddl)(const detail::SqlDialect& dialect);
};

const std::vector<Migration>& migrations() {
    static const std::vector<Migration> list{
        {1, &detail::schema_v1_ddl},
        {2, &detail::schema_v2_ddl},
        {3, &detail::schema_v3_ddl},
    };
    return list;
}

bool has_table(Connection& connection, const detail::SqlDialect& dialect, std::string_view name) {
    const Field param{std::string(name)};
    return connection.query_one(dialect.table_exists_query, {&param, 1}).has_value();
}

int read_version(Connection& connection, const detail::SqlDialect& dialect) {
    if (!has_table(connection, dialect, "kiln_schema")) return 0;
    auto row = connection.query_one("SELECT version FROM kiln_schema");
    return row ? static_cast<int>(row->integer(0)) : 0;
}

[[noreturn]] void refuse_newer(int version) {
    throw DatabaseError("the database schema is at version " + std::to_string(version) +
                        ", newer than this Kiln knows (" + std::to_string(latest_schema_version()) +
                        "): it was upgraded by a newer Kiln; run that version instead");
}

}  // namespace

int latest_schema_version() { return migrations().back().version; }

int schema_version(Database& database) {
    const auto& dialect = detail::dialect_for(database.backend());
    return database.read_sync(
        [&dialect](Connection& connection) { return read_version(connection, dialect); });
}

int upgrade_schema(Database& database) {
    const auto& dialect = detail::dialect_for(database.backend());
    database.write_sync([&dialect](Connection& connection) {
        if (has_table(connection, dialect, "kiln_schema")) return;
        // A Buildbot database has the same tables but no kiln_schema: creating ours over
        // it would fail half-way, so say what it is instead.
        if (has_table(connection, dialect, "alembic_version") ||
            has_table(connection, dialect, "builds"))
            throw DatabaseError("the database holds a Buildbot (or unversioned) schema without "
                                "kiln_schema; Kiln cannot upgrade it in place");
        connection.execute("CREATE TABLE kiln_schema (version INTEGER NOT NULL)");
        connection.execute("INSERT INTO kiln_schema (version) VALUES (0)");
    });

    int version = schema_version(database);
    if (version > latest_schema_version()) refuse_newer(version);
    for (const auto& migration : migrations()) {
        if (migration.version <= version) continue;
        version = database.write_sync([&dialect, &migration](Connection& connection) {
            const int current = read_version(connection, dialect);
            if (current >= migration.version) return current;  // another process was first
            connection.execute_script(migration.ddl(dialect));
            const Field param{std::int64_t{migration.version}};
            connection.execute("UPDATE kiln_schema SET version = ?", {&param, 1});
            return migration.version;
        });
    }
    return version;
}

}  // namespace kiln::db
