// SPDX-License-Identifier: Apache-2.0
// open_database: turns a db.url into a backend. The only place outside master/ that names
// concrete backends.
#include "db/database.hpp"
#include "db/sqlite_database.hpp"

#include <cstdlib>

namespace kiln::db {

namespace {

using core::ErrorKind;
using core::fail;

core::Expected<std::unique_ptr<Database>> open_sqlite(std::string_view location,
                                                      const std::filesystem::path& base_dir) {
    std::unique_ptr<Database> database;
    try {
        if (location == ":memory:") {
            database = SqliteDatabase::open_memory();
        } else {
            // As SQLAlchemy (so Buildbot's db_url values carry over): "sqlite:///name" is
            // relative to the master directory, "sqlite:////abs/path" is absolute;
            // "sqlite:name" is Kiln's short form (relative).
            std::filesystem::path path(location.starts_with("///") ? location.substr(3) : location);
            if (path.empty()) return fail(ErrorKind::bad_input, "db.url names no SQLite file");
            if (path.is_relative()) path = base_dir / path;
            SqliteDatabase::Options options;
            // A diagnostic: per-statement counters for finding slow or unindexed queries.
            if (const char* profile = std::getenv("KILN_SQL_PROFILE"))
                options.profile_path = profile;
            database = SqliteDatabase::open_file(path, options);
        }
    } catch (const DatabaseError& error) {
        return fail(ErrorKind::unavailable, error.what());
    }
    return database;
}

}  // namespace

core::Expected<std::unique_ptr<Database>> open_database(std::string_view url,
                                                        const std::filesystem::path& base_dir) {
    core::Expected<std::unique_ptr<Database>> opened = fail(
        ErrorKind::bad_input,
        "unsupported db.url '" + std::string(url) +
            "': expected sqlite:<file>, sqlite:///<relative path>, sqlite:////<absolute path>, "
            "sqlite::memory: or postgresql://...");
    if (url.starts_with("sqlite:")) {
        opened = open_sqlite(url.substr(std::string_view("sqlite:").size()), base_dir);
    } else if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
        // A PostgresDatabase (libpq) slots in here when a later issue adds it.
        return fail(ErrorKind::unavailable,
                    "db.url names PostgreSQL, but this Kiln was built without the PostgreSQL "
                    "backend (not implemented yet); use sqlite:<file>");
    }
    if (!opened) return opened;

    // Refuse a schema newer than this binary before anything touches it.
    try {
        const int version = schema_version(**opened);
        if (version > latest_schema_version())
            return fail(ErrorKind::conflict, "the database schema is at version " +
                                                 std::to_string(version) +
                                                 ", newer than this Kiln knows (" +
                                                 std::to_string(latest_schema_version()) + ")");
    } catch (const DatabaseError& error) {
        return fail(ErrorKind::unavailable,
                    std::string("cannot read the database schema version: ") + error.what());
    }
    return opened;
}

}  // namespace kiln::db
