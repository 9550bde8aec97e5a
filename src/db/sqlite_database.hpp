// SPDX-License-Identifier: Apache-2.0
// SqliteDatabase: the embedded backend. One writer connection and one reader connection,
// each owned by its own thread; WAL lets the reader see a consistent snapshot while the
// writer works. A third connection and thread run the WAL checkpoints.
#pragma once

#include "db/database.hpp"

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace kiln::db {

namespace detail {
class SqliteConnectionThread;
class SqliteCheckpointer;
}  // namespace detail

class SqliteDatabase final : public Database {
public:
    struct Options {
        // How long a statement waits for a lock held by another process.
        int busy_timeout_ms = 10'000;
        // When set, each connection appends per-statement counters (runs, time, sorts,
        // full-scan steps) to this file when it closes. Kiln sets it from KILN_SQL_PROFILE.
        std::string profile_path;
    };

    // Opens (creating if needed) the file at path. Throws DatabaseError on failure.
    static std::unique_ptr<SqliteDatabase> open_file(const std::filesystem::path& path);
    static std::unique_ptr<SqliteDatabase> open_file(const std::filesystem::path& path,
                                                     Options options);
    // A private in-memory database (tests). Reads run on the writer's thread and
    // connection, since a second ":memory:" connection would be another database.
    static std::unique_ptr<SqliteDatabase> open_memory();

    ~SqliteDatabase() override;
    SqliteDatabase(const SqliteDatabase&) = delete;
    SqliteDatabase& operator=(const SqliteDatabase&) = delete;

    std::string_view backend() const override { return "sqlite"; }
    // Runs the work already queued, then closes both connections. Idempotent. Must not be
    // called from inside write()/read() work.
    void close() override;

protected:
    void submit(Mode mode, std::function<void(Connection&)> work,
                std::function<void(std::exception_ptr)> done) override;

private:
    SqliteDatabase(std::unique_ptr<detail::SqliteCheckpointer> checkpointer,
                   std::unique_ptr<detail::SqliteConnectionThread> writer,
                   std::unique_ptr<detail::SqliteConnectionThread> reader);

    std::mutex close_mutex_;
    // Files only: runs WAL checkpoints off the writer's thread. Declared first, so that it
    // outlives the writer whose commits call it.
    std::unique_ptr<detail::SqliteCheckpointer> checkpointer_;
    std::unique_ptr<detail::SqliteConnectionThread> writer_;
    // Null for ":memory:": reads then go to writer_.
    std::unique_ptr<detail::SqliteConnectionThread> reader_;
};

}  // namespace kiln::db
