// SPDX-License-Identifier: Apache-2.0
// Database: the backend-neutral interface the data layer stores through. SQL given to it is
// portable between SQLite and PostgreSQL ('?' placeholders, INSERT ... RETURNING id,
// INSERT ... ON CONFLICT DO NOTHING); a backend translates what it must (placeholders).
#pragma once

#include "core/expected.hpp"

#include <cstdint>
#include <exception>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace kiln::db {

namespace asio = boost::asio;

// Raw bytes for BLOB columns (log chunks), as opposed to TEXT.
struct Blob {
    std::string bytes;
    bool operator==(const Blob&) const = default;
};

// One bound parameter or one column value.
using Field = std::variant<std::nullptr_t, std::int64_t, double, std::string, Blob>;

// One result row. Accessors throw DatabaseError when the column is missing or has
// another type (integer() accepts an integral REAL; text() and blob() accept either).
class Row {
public:
    explicit Row(std::vector<Field> fields)
        : fields_(std::move(fields)) {}
    std::size_t size() const { return fields_.size(); }
    bool is_null(std::size_t column) const;
    std::int64_t integer(std::size_t column) const;
    std::optional<std::int64_t> optional_integer(std::size_t column) const;
    double real(std::size_t column) const;
    std::string text(std::size_t column) const;
    std::optional<std::string> optional_text(std::size_t column) const;
    std::string blob(std::size_t column) const;
    const Field& field(std::size_t column) const;

private:
    std::vector<Field> fields_;
};

// Any failure of the database itself (I/O, corruption, SQL error): ends the operation.
class DatabaseError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// A unique index or primary key rejected an insert or update.
class UniqueViolation : public DatabaseError {
public:
    using DatabaseError::DatabaseError;
};

// One connection, used by one thread at a time. Only reachable inside Database::write()
// and Database::read(), which wrap it in a transaction.
class Connection {
public:
    virtual ~Connection() = default;

    // Runs one statement; returns the number of rows it changed.
    virtual std::int64_t execute(std::string_view sql, std::span<const Field> params = {}) = 0;
    // Runs a query and calls on_row for each row as it is read (nothing is buffered).
    virtual void query(std::string_view sql, std::span<const Field> params,
                       const std::function<void(const Row&)>& on_row) = 0;
    // Runs several statements with no parameters (migrations, DDL).
    virtual void execute_script(std::string_view sql) = 0;

    std::vector<Row> query_all(std::string_view sql, std::span<const Field> params = {});
    std::optional<Row> query_one(std::string_view sql, std::span<const Field> params = {});
    // For "INSERT ... RETURNING id": the id of the inserted row.
    std::int64_t insert(std::string_view sql, std::span<const Field> params = {});

    // Runs fn inside a savepoint: if fn throws, only its changes are rolled back (so a
    // transaction can survive a UniqueViolation, which PostgreSQL needs) and the
    // exception propagates.
    template <typename F>
    auto with_savepoint(F&& fn) -> std::invoke_result_t<F&> {
        execute("SAVEPOINT kiln_savepoint");
        try {
            if constexpr (std::is_void_v<std::invoke_result_t<F&>>) {
                fn();
                execute("RELEASE SAVEPOINT kiln_savepoint");
            } else {
                auto result = fn();
                execute("RELEASE SAVEPOINT kiln_savepoint");
                return result;
            }
        } catch (const DatabaseError&) {
            execute("ROLLBACK TO SAVEPOINT kiln_savepoint");
            execute("RELEASE SAVEPOINT kiln_savepoint");
            throw;
        }
    }
};

// The database: a writer connection and reader connection(s), each on its own thread.
// Domain code awaits write()/read() from its executor; the work runs on the database's
// thread inside a transaction (committed when fn returns, rolled back when it throws) and
// the result or exception is delivered back on the awaiting coroutine's executor.
class Database {
public:
    virtual ~Database() = default;

    template <typename F>
    asio::awaitable<std::invoke_result_t<F&, Connection&>> write(F fn) {
        return run_on(Mode::write, std::move(fn));
    }
    template <typename F>
    asio::awaitable<std::invoke_result_t<F&, Connection&>> read(F fn) {
        return run_on(Mode::read, std::move(fn));
    }

    // The same, blocking the calling thread (CLI tools, migrations, tests). Never call it
    // from the domain executor.
    template <typename F>
    std::invoke_result_t<F&, Connection&> write_sync(F fn) {
        return run_sync(Mode::write, std::move(fn));
    }
    template <typename F>
    std::invoke_result_t<F&, Connection&> read_sync(F fn) {
        return run_sync(Mode::read, std::move(fn));
    }

    // "sqlite" or "postgresql".
    virtual std::string_view backend() const = 0;

    // Finishes queued work and closes the connections; later calls throw DatabaseError.
    virtual void close() = 0;

protected:
    enum class Mode { read, write };
    // Runs work on the thread of the given connection inside a transaction (BEGIN IMMEDIATE
    // for writes on SQLite): COMMIT when work returns, ROLLBACK when it throws. Then calls
    // done on that thread with nullptr, or with the exception from work or from COMMIT.
    // After close(), calls done with a DatabaseError at once.
    virtual void submit(Mode mode, std::function<void(Connection&)> work,
                        std::function<void(std::exception_ptr)> done) = 0;

private:
    template <typename F>
    using Result = std::invoke_result_t<F&, Connection&>;
    template <typename F>
    using Outcome = std::conditional_t<std::is_void_v<Result<F>>, std::monostate, Result<F>>;

    template <typename F>
    asio::awaitable<Result<F>> run_on(Mode mode, F fn) {
        auto executor = co_await asio::this_coro::executor;
        // Named, not a temporary inside the co_await: GCC 12 destroys such temporaries twice
        // (docs/decisions/0001).
        auto initiation = [this, mode, executor, fn = std::move(fn)](auto handler) mutable {
            using Handler = decltype(handler);
            struct State {
                Handler handler;
                std::optional<Outcome<F>> value;
            };
            auto state = std::make_shared<State>(State{std::move(handler), std::nullopt});
            submit(
                mode,
                [state, fn = std::move(fn)](Connection& c) mutable {
                    if constexpr (std::is_void_v<Result<F>>) {
                        fn(c);
                        state->value.emplace();
                    } else {
                        state->value.emplace(fn(c));
                    }
                },
                [state, executor](std::exception_ptr error) {
                    asio::post(executor, [state, error]() mutable {
                        if (error || !state->value)
                            std::move(state->handler)(error, std::optional<Outcome<F>>{});
                        else
                            std::move(state->handler)(nullptr, std::move(state->value));
                    });
                });
        };
        auto outcome =
            co_await asio::async_initiate<decltype(asio::use_awaitable),
                                          void(std::exception_ptr, std::optional<Outcome<F>>)>(
                std::move(initiation), asio::use_awaitable);
        if constexpr (!std::is_void_v<Result<F>>) co_return std::move(*outcome);
    }

    template <typename F>
    Result<F> run_sync(Mode mode, F fn) {
        std::optional<Outcome<F>> value;
        std::promise<void> promise;
        auto future = promise.get_future();
        submit(
            mode,
            [&value, &fn](Connection& c) {
                if constexpr (std::is_void_v<Result<F>>) {
                    fn(c);
                    value.emplace();
                } else {
                    value.emplace(fn(c));
                }
            },
            [&promise](std::exception_ptr error) {
                if (error)
                    promise.set_exception(error);
                else
                    promise.set_value();
            });
        future.get();
        if constexpr (!std::is_void_v<Result<F>>) return std::move(*value);
    }
};

// Opens (creating if needed) the database a config's db.url names. Relative SQLite paths
// are relative to base_dir. Accepted: "sqlite:state.sqlite", "sqlite:///state.sqlite"
// (relative, as in Buildbot/SQLAlchemy), "sqlite:////abs/path.sqlite" (absolute),
// "sqlite::memory:" (tests), "postgresql://..." (when built with libpq).
core::Expected<std::unique_ptr<Database>> open_database(std::string_view url,
                                                        const std::filesystem::path& base_dir);

// Migrations: the schema version a database is at, and bringing it to the newest.
int schema_version(Database& database);
int latest_schema_version();
// Applies every missing migration, each in its own transaction. Returns the new version.
int upgrade_schema(Database& database);

}  // namespace kiln::db
