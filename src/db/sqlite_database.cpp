// SPDX-License-Identifier: Apache-2.0
// SqliteDatabase: connections with a prepared-statement cache, and the threads that own them.
#include "db/sqlite_database.hpp"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <sqlite3.h>

namespace kiln::db {

namespace detail {

enum class TransactionKind { read, write };

namespace {

constexpr std::size_t kMaxCachedStatements = 512;
constexpr std::size_t kMaxSqlInMessage = 300;

std::string shorten(std::string_view sql) {
    if (sql.size() <= kMaxSqlInMessage) return std::string(sql);
    return std::string(sql.substr(0, kMaxSqlInMessage)) + "...";
}

bool is_blank(std::string_view text) {
    return text.find_first_not_of(" \t\r\n;") == std::string_view::npos;
}

// Heterogeneous lookup so a string_view finds a cached statement without a copy.
struct SqlHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view sql) const {
        return std::hash<std::string_view>{}(sql);
    }
};

// Per-statement counters of one connection, kept when Options::profile_path is set: how
// often each statement ran, its time, and what SQLite's planner made it do (sorts, full-scan
// steps, automatic indexes). Written, slowest first, when the connection closes.
class StatementProfile {
public:
    StatementProfile(std::string path, std::string label)
        : path_(std::move(path))
        , label_(std::move(label)) {}
    StatementProfile(const StatementProfile&) = delete;
    StatementProfile& operator=(const StatementProfile&) = delete;
    ~StatementProfile() { write(); }

    void install(sqlite3* handle) {
        sqlite3_trace_v2(handle, SQLITE_TRACE_STMT | SQLITE_TRACE_PROFILE, &on_trace, this);
    }

private:
    struct Counters {
        std::int64_t runs = 0;
        std::int64_t total_ns = 0;
        std::int64_t max_ns = 0;
        std::int64_t sorts = 0;
        std::int64_t fullscan_steps = 0;
        std::int64_t autoindexes = 0;
        std::int64_t vm_steps = 0;
    };

    // SQLite's own profile time has the VFS clock's millisecond resolution: time each run
    // from its first step (SQLITE_TRACE_STMT) to its end (SQLITE_TRACE_PROFILE) instead.
    static int on_trace(unsigned kind, void* self_pointer, void* statement_pointer, void*) {
        auto* self = static_cast<StatementProfile*>(self_pointer);
        auto* statement = static_cast<sqlite3_stmt*>(statement_pointer);
        const auto now = std::chrono::steady_clock::now();
        if (kind == SQLITE_TRACE_STMT) {
            self->started_.insert_or_assign(statement, now);
            return 0;
        }
        if (kind != SQLITE_TRACE_PROFILE) return 0;
        std::int64_t ns = 0;
        if (auto found = self->started_.find(statement); found != self->started_.end()) {
            ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now - found->second).count();
            self->started_.erase(found);
        }
        const char* sql = sqlite3_sql(statement);
        auto& counters = self->counters_[sql ? sql : "?"];
        ++counters.runs;
        counters.total_ns += ns;
        counters.max_ns = std::max<std::int64_t>(counters.max_ns, ns);
        // Read and reset, so each run adds its own share.
        counters.sorts += sqlite3_stmt_status(statement, SQLITE_STMTSTATUS_SORT, 1);
        counters.fullscan_steps +=
            sqlite3_stmt_status(statement, SQLITE_STMTSTATUS_FULLSCAN_STEP, 1);
        counters.autoindexes += sqlite3_stmt_status(statement, SQLITE_STMTSTATUS_AUTOINDEX, 1);
        counters.vm_steps += sqlite3_stmt_status(statement, SQLITE_STMTSTATUS_VM_STEP, 1);
        return 0;
    }

    void write() const {
        std::FILE* file = std::fopen(path_.c_str(), "a");
        if (!file) return;
        std::vector<std::pair<std::string, Counters>> rows(counters_.begin(), counters_.end());
        std::sort(rows.begin(), rows.end(), [](const auto& left, const auto& right) {
            return left.second.total_ns > right.second.total_ns;
        });
        std::fprintf(file,
                     "# connection %s: runs total_ms avg_us max_us sorts fullscan_steps "
                     "autoindexes vm_steps sql\n",
                     label_.c_str());
        for (const auto& [sql, c] : rows) {
            std::string flat = shorten(sql);
            std::replace(flat.begin(), flat.end(), '\n', ' ');
            std::fprintf(file, "%lld %.3f %.1f %.1f %lld %lld %lld %lld %s\n",
                         static_cast<long long>(c.runs), static_cast<double>(c.total_ns) / 1e6,
                         static_cast<double>(c.total_ns) / 1e3 / static_cast<double>(c.runs),
                         static_cast<double>(c.max_ns) / 1e3, static_cast<long long>(c.sorts),
                         static_cast<long long>(c.fullscan_steps),
                         static_cast<long long>(c.autoindexes), static_cast<long long>(c.vm_steps),
                         flat.c_str());
        }
        std::fclose(file);
    }

    std::string path_;
    std::string label_;
    std::unordered_map<std::string, Counters> counters_;
    std::unordered_map<sqlite3_stmt*, std::chrono::steady_clock::time_point> started_;
};

}  // namespace

// One SQLite connection, used by one thread at a time.
class SqliteConnection final : public Connection {
public:
    SqliteConnection(sqlite3* handle, bool is_dedicated_reader)
        : handle_(handle)
        , is_dedicated_reader_(is_dedicated_reader) {}
    ~SqliteConnection() override {
        for (auto& [sql, cached] : cache_)
            sqlite3_finalize(cached.statement);
        sqlite3_close_v2(handle_);
    }

    void start_profile(const std::string& path, std::string label) {
        profile_ = std::make_unique<StatementProfile>(path, std::move(label));
        profile_->install(handle_);
    }
    SqliteConnection(const SqliteConnection&) = delete;
    SqliteConnection& operator=(const SqliteConnection&) = delete;

    static std::unique_ptr<SqliteConnection> open(const std::string& filename,
                                                  bool is_dedicated_reader,
                                                  const SqliteDatabase::Options& options);

    std::int64_t execute(std::string_view sql, std::span<const Field> params) override;
    void query(std::string_view sql, std::span<const Field> params,
               const std::function<void(const Row&)>& on_row) override;
    void execute_script(std::string_view sql) override;

    // BEGIN (IMMEDIATE for writes), work, COMMIT; ROLLBACK when anything throws.
    void run_transaction(TransactionKind kind, const std::function<void(Connection&)>& work);
    // Group commit: several queued writes in one transaction, each in its own savepoint, so
    // that one failing rolls back only its own changes. errors[i] is set for each work that
    // failed or whose changes were lost (a failed COMMIT fails them all).
    void run_write_group(std::span<const std::function<void(Connection&)>* const> works,
                         std::span<std::exception_ptr> errors);

    sqlite3* handle() const { return handle_; }

private:
    struct CachedStatement {
        sqlite3_stmt* statement = nullptr;
        bool is_in_use = false;
    };

    // A prepared statement borrowed for one call: reset (and returned to the cache, or
    // finalized when it was not cached) however the call ends.
    class Lease {
    public:
        Lease(sqlite3_stmt* statement, bool* is_in_use)
            : statement_(statement)
            , is_in_use_(is_in_use) {}
        ~Lease() {
            sqlite3_reset(statement_);
            sqlite3_clear_bindings(statement_);
            if (is_in_use_)
                *is_in_use_ = false;
            else
                sqlite3_finalize(statement_);
        }
        Lease(const Lease&) = delete;
        Lease& operator=(const Lease&) = delete;
        sqlite3_stmt* get() const { return statement_; }

    private:
        sqlite3_stmt* statement_;
        bool* is_in_use_;
    };

    Lease prepare(std::string_view sql);
    sqlite3_stmt* compile(std::string_view sql, bool is_persistent);
    void bind(sqlite3_stmt* statement, std::span<const Field> params, std::string_view sql);
    void step_to_end(sqlite3_stmt* statement, std::string_view sql,
                     const std::function<void(const Row&)>* on_row);
    [[noreturn]] void fail(int code, std::string_view sql) const;
    void run_quietly(const char* sql) { sqlite3_exec(handle_, sql, nullptr, nullptr, nullptr); }

    sqlite3* handle_;
    bool is_dedicated_reader_;
    std::unordered_map<std::string, CachedStatement, SqlHash, std::equal_to<>> cache_;
    std::unique_ptr<StatementProfile> profile_;  // written after the handle closed
};

std::unique_ptr<SqliteConnection> SqliteConnection::open(const std::string& filename,
                                                         bool is_dedicated_reader,
                                                         const SqliteDatabase::Options& options) {
    sqlite3* handle = nullptr;
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    const int code = sqlite3_open_v2(filename.c_str(), &handle, flags, nullptr);
    if (code != SQLITE_OK) {
        std::string message = handle ? sqlite3_errmsg(handle) : sqlite3_errstr(code);
        sqlite3_close_v2(handle);
        throw DatabaseError("cannot open SQLite database '" + filename + "': " + message);
    }
    auto connection = std::make_unique<SqliteConnection>(handle, is_dedicated_reader);
    if (!options.profile_path.empty())
        connection->start_profile(options.profile_path, is_dedicated_reader ? "reader" : "writer");
    sqlite3_extended_result_codes(handle, 1);
    sqlite3_busy_timeout(handle, options.busy_timeout_ms);
    connection->execute_script("PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;");
    if (is_dedicated_reader) {
        connection->execute_script("PRAGMA query_only = ON;");
    } else if (filename != ":memory:") {
        auto mode = connection->query_one("PRAGMA journal_mode = WAL");
        if (!mode || mode->text(0) != "wal")
            throw DatabaseError("cannot switch SQLite database '" + filename + "' to WAL mode");
    }
    return connection;
}

sqlite3_stmt* SqliteConnection::compile(std::string_view sql, bool is_persistent) {
    if (sql.size() >= static_cast<std::size_t>(INT_MAX)) throw DatabaseError("SQL text too long");
    sqlite3_stmt* statement = nullptr;
    const char* tail = nullptr;
    const int code =
        sqlite3_prepare_v3(handle_, sql.data(), static_cast<int>(sql.size()),
                           is_persistent ? SQLITE_PREPARE_PERSISTENT : 0, &statement, &tail);
    if (code != SQLITE_OK) fail(code, sql);
    if (!statement) throw DatabaseError("empty SQL statement");
    const auto consumed = static_cast<std::size_t>(tail - sql.data());
    if (!is_blank(sql.substr(consumed))) {
        sqlite3_finalize(statement);
        throw DatabaseError("several statements given to execute()/query() (use execute_script): " +
                            shorten(sql));
    }
    return statement;
}

SqliteConnection::Lease SqliteConnection::prepare(std::string_view sql) {
    auto found = cache_.find(sql);
    if (found != cache_.end() && !found->second.is_in_use) {
        found->second.is_in_use = true;
        return Lease(found->second.statement, &found->second.is_in_use);
    }
    // Not cached yet, or busy in an enclosing query (a nested query with the same text).
    const bool is_cacheable = found == cache_.end() && cache_.size() < kMaxCachedStatements;
    sqlite3_stmt* statement = compile(sql, is_cacheable);
    if (!is_cacheable) return Lease(statement, nullptr);
    auto [position, is_new] = cache_.emplace(std::string(sql), CachedStatement{statement, true});
    assert(is_new);
    return Lease(statement, &position->second.is_in_use);
}

void SqliteConnection::bind(sqlite3_stmt* statement, std::span<const Field> params,
                            std::string_view sql) {
    const auto expected = static_cast<std::size_t>(sqlite3_bind_parameter_count(statement));
    if (expected != params.size())
        throw DatabaseError("statement takes " + std::to_string(expected) + " parameters, " +
                            std::to_string(params.size()) + " given: " + shorten(sql));
    int index = 0;
    for (const auto& param : params) {
        ++index;
        int code = SQLITE_OK;
        // SQLITE_STATIC: the parameters outlive the statement's use (the Lease clears them).
        if (const auto* integer = std::get_if<std::int64_t>(&param)) {
            code = sqlite3_bind_int64(statement, index, *integer);
        } else if (const auto* real = std::get_if<double>(&param)) {
            code = sqlite3_bind_double(statement, index, *real);
        } else if (const auto* text = std::get_if<std::string>(&param)) {
            code = sqlite3_bind_text64(statement, index, text->data(), text->size(), SQLITE_STATIC,
                                       SQLITE_UTF8);
        } else if (const auto* blob = std::get_if<Blob>(&param)) {
            // An empty blob must stay a blob: a null pointer would bind NULL.
            code = blob->bytes.empty() ? sqlite3_bind_zeroblob(statement, index, 0)
                                       : sqlite3_bind_blob64(statement, index, blob->bytes.data(),
                                                             blob->bytes.size(), SQLITE_STATIC);
        } else {
            code = sqlite3_bind_null(statement, index);
        }
        if (code != SQLITE_OK) fail(code, sql);
    }
}

void SqliteConnection::step_to_end(sqlite3_stmt* statement, std::string_view sql,
                                   const std::function<void(const Row&)>* on_row) {
    const int columns = sqlite3_column_count(statement);
    for (;;) {
        const int code = sqlite3_step(statement);
        if (code == SQLITE_DONE) return;
        if (code != SQLITE_ROW) fail(code, sql);
        if (!on_row) continue;
        std::vector<Field> fields;
        fields.reserve(static_cast<std::size_t>(columns));
        for (int column = 0; column < columns; ++column) {
            switch (sqlite3_column_type(statement, column)) {
            case SQLITE_INTEGER:
                fields.emplace_back(std::int64_t{sqlite3_column_int64(statement, column)});
                break;
            case SQLITE_FLOAT: fields.emplace_back(sqlite3_column_double(statement, column)); break;
            case SQLITE_TEXT: {
                const auto* data =
                    reinterpret_cast<const char*>(sqlite3_column_text(statement, column));
                const auto size = static_cast<std::size_t>(sqlite3_column_bytes(statement, column));
                fields.emplace_back(std::string(data ? data : "", size));
                break;
            }
            case SQLITE_BLOB: {
                const auto* data = static_cast<const char*>(sqlite3_column_blob(statement, column));
                const auto size = static_cast<std::size_t>(sqlite3_column_bytes(statement, column));
                fields.emplace_back(Blob{data ? std::string(data, size) : std::string()});
                break;
            }
            default: fields.emplace_back(nullptr); break;
            }
        }
        (*on_row)(Row(std::move(fields)));
    }
}

std::int64_t SqliteConnection::execute(std::string_view sql, std::span<const Field> params) {
    auto statement = prepare(sql);
    bind(statement.get(), params, sql);
    const auto changes_before = sqlite3_total_changes64(handle_);
    step_to_end(statement.get(), sql, nullptr);
    // sqlite3_changes64() keeps the count of the last INSERT/UPDATE/DELETE, so DDL and
    // statements that changed nothing would report a stale number.
    if (sqlite3_total_changes64(handle_) == changes_before) return 0;
    return sqlite3_changes64(handle_);
}

void SqliteConnection::query(std::string_view sql, std::span<const Field> params,
                             const std::function<void(const Row&)>& on_row) {
    auto statement = prepare(sql);
    bind(statement.get(), params, sql);
    step_to_end(statement.get(), sql, &on_row);
}

void SqliteConnection::execute_script(std::string_view sql) {
    const std::string script(sql);
    char* message = nullptr;
    const int code = sqlite3_exec(handle_, script.c_str(), nullptr, nullptr, &message);
    if (code == SQLITE_OK) return;
    std::string text = message ? message : sqlite3_errstr(code);
    sqlite3_free(message);
    const std::string what = "SQLite: " + text + " [in: " + shorten(sql) + "]";
    const int extended = sqlite3_extended_errcode(handle_);
    if (extended == SQLITE_CONSTRAINT_UNIQUE || extended == SQLITE_CONSTRAINT_PRIMARYKEY)
        throw UniqueViolation(what);
    throw DatabaseError(what);
}

void SqliteConnection::fail(int code, std::string_view sql) const {
    const std::string what =
        "SQLite: " + std::string(sqlite3_errmsg(handle_)) + " [in: " + shorten(sql) + "]";
    if (code == SQLITE_CONSTRAINT_UNIQUE || code == SQLITE_CONSTRAINT_PRIMARYKEY)
        throw UniqueViolation(what);
    throw DatabaseError(what);
}

void SqliteConnection::run_transaction(TransactionKind kind,
                                       const std::function<void(Connection&)>& work) {
    // On the writer's connection (":memory:"), a read is made read-only for its duration so
    // both backends refuse writes inside read() alike.
    const bool is_guarded_read = kind == TransactionKind::read && !is_dedicated_reader_;
    if (is_guarded_read) execute("PRAGMA query_only = ON", {});
    struct QueryOnlyReset {
        SqliteConnection* connection;
        ~QueryOnlyReset() {
            if (connection) connection->run_quietly("PRAGMA query_only = OFF");
        }
    } reset{is_guarded_read ? this : nullptr};

    execute(kind == TransactionKind::write ? "BEGIN IMMEDIATE" : "BEGIN", {});
    try {
        work(*this);
        execute("COMMIT", {});
    } catch (...) {
        // The original exception is what the caller needs; a failing ROLLBACK leaves the
        // connection in a transaction, which the next BEGIN reports.
        if (!sqlite3_get_autocommit(handle_)) run_quietly("ROLLBACK");
        throw;
    }
}

void SqliteConnection::run_write_group(
    std::span<const std::function<void(Connection&)>* const> works,
    std::span<std::exception_ptr> errors) {
    std::size_t first_open = 0;  // the works whose changes the open transaction holds
    auto fail_open_works = [&](std::size_t end, const std::exception_ptr& error) {
        for (std::size_t index = first_open; index < end; ++index)
            if (!errors[index]) errors[index] = error;
    };
    for (std::size_t index = 0; index < works.size(); ++index) {
        if (sqlite3_get_autocommit(handle_)) {
            try {
                execute("BEGIN IMMEDIATE", {});
            } catch (...) {
                errors[index] = std::current_exception();
                continue;
            }
            first_open = index;
        }
        try {
            execute("SAVEPOINT kiln_group", {});
            (*works[index])(*this);
            execute("RELEASE SAVEPOINT kiln_group", {});
        } catch (...) {
            errors[index] = std::current_exception();
            if (sqlite3_get_autocommit(handle_)) {
                // SQLite ended the whole transaction (an I/O error, a full disk): the works
                // before this one lost their changes too.
                fail_open_works(index, errors[index]);
            } else {
                run_quietly("ROLLBACK TO SAVEPOINT kiln_group");
                run_quietly("RELEASE SAVEPOINT kiln_group");
            }
        }
    }
    if (sqlite3_get_autocommit(handle_)) return;
    try {
        execute("COMMIT", {});
    } catch (...) {
        const auto error = std::current_exception();
        if (!sqlite3_get_autocommit(handle_)) run_quietly("ROLLBACK");
        fail_open_works(works.size(), error);
    }
}

// A thread that owns one connection and runs queued transactions on it in order.
class SqliteConnectionThread {
public:
    explicit SqliteConnectionThread(std::unique_ptr<SqliteConnection> connection)
        : connection_(std::move(connection))
        , thread_([this] { run(); }) {}
    ~SqliteConnectionThread() { stop(); }
    SqliteConnectionThread(const SqliteConnectionThread&) = delete;
    SqliteConnectionThread& operator=(const SqliteConnectionThread&) = delete;

    // Queues a transaction. Returns false (leaving work and done untouched) once stopping.
    bool post(TransactionKind kind, std::function<void(Connection&)>& work,
              std::function<void(std::exception_ptr)>& done) {
        {
            std::lock_guard lock(mutex_);
            if (is_stopping_) return false;
            jobs_.push_back(Job{kind, std::move(work), std::move(done)});
        }
        wake_.notify_one();
        return true;
    }

    // Runs what is queued, then closes the connection and joins the thread.
    void stop() {
        {
            std::lock_guard lock(mutex_);
            is_stopping_ = true;
        }
        wake_.notify_one();
        if (!thread_.joinable()) return;
        if (thread_.get_id() == std::this_thread::get_id())
            throw std::logic_error("Database::close() called from inside database work");
        thread_.join();
    }

private:
    struct Job {
        TransactionKind kind;
        std::function<void(Connection&)> work;
        std::function<void(std::exception_ptr)> done;
    };

    void run() {
        std::vector<Job> batch;
        std::vector<const std::function<void(Connection&)>*> works;
        std::vector<std::exception_ptr> errors;
        for (;;) {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [this] { return is_stopping_ || !jobs_.empty(); });
            if (jobs_.empty()) break;  // stopping, and everything queued has run
            // The writes queued one after another commit together (group commit): one
            // BEGIN/COMMIT and one WAL append for all of them.
            batch.clear();
            do {
                batch.push_back(std::move(jobs_.front()));
                jobs_.pop_front();
            } while (batch.front().kind == TransactionKind::write && !jobs_.empty() &&
                     jobs_.front().kind == TransactionKind::write && batch.size() < kMaxGroup);
            lock.unlock();

            errors.assign(batch.size(), nullptr);
            if (batch.size() == 1) {
                try {
                    connection_->run_transaction(batch.front().kind, batch.front().work);
                } catch (...) {
                    errors.front() = std::current_exception();  // for the awaiting caller
                }
            } else {
                works.clear();
                for (const auto& job : batch)
                    works.push_back(&job.work);
                connection_->run_write_group(works, errors);
            }
            // Only now, after the COMMIT: a caller never sees a write that may yet be lost.
            for (std::size_t index = 0; index < batch.size(); ++index)
                batch[index].done(errors[index]);
        }
        connection_.reset();  // closed on the thread that used it
    }

    // Most writes one group commit takes (bounds the latency the first of them sees).
    static constexpr std::size_t kMaxGroup = 32;

    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<Job> jobs_;
    bool is_stopping_ = false;
    std::unique_ptr<SqliteConnection> connection_;
    std::thread thread_;  // last: starts once everything above exists
};

// Checkpoints the WAL on its own thread and connection. SQLite's auto-checkpoint runs inside
// the COMMIT that takes the WAL past 1000 pages, so that the writer thread (and every write
// queued behind it) waited for the checkpoint's two fdatasync calls, 5-25 ms on a busy disk,
// every ~20 builds. The writer's WAL hook now only asks this thread to run a PASSIVE
// checkpoint (the same kind as the automatic one: it never blocks readers or the writer).
class SqliteCheckpointer {
public:
    // Pages in the WAL after a commit from which a checkpoint is asked for (SQLite's default
    // auto-checkpoint threshold).
    static constexpr int kWalPages = 1000;

    explicit SqliteCheckpointer(std::unique_ptr<SqliteConnection> connection)
        : connection_(std::move(connection))
        , thread_([this] { run(); }) {}
    ~SqliteCheckpointer() { stop(); }
    SqliteCheckpointer(const SqliteCheckpointer&) = delete;
    SqliteCheckpointer& operator=(const SqliteCheckpointer&) = delete;

    // Installed on the writer connection before its thread starts; replaces SQLite's
    // auto-checkpoint (which is itself a WAL hook).
    void watch(sqlite3* writer) { sqlite3_wal_hook(writer, &on_commit, this); }

    void stop() {
        {
            std::lock_guard lock(mutex_);
            is_stopping_ = true;
        }
        wake_.notify_one();
        if (thread_.joinable()) thread_.join();
    }

private:
    // On the writer's thread, after each commit; pages = frames now in the WAL. Asks for a
    // checkpoint once per kWalPages new frames. Asking after every commit past the mark (what
    // SQLite's own hook does) ran a checkpoint, with its two fdatasync calls, after nearly
    // every commit under steady load: the reader's open snapshots keep a checkpoint from
    // completing, so the WAL does not restart and stays past the mark.
    static int on_commit(void* self_pointer, sqlite3*, const char*, int pages) {
        auto* self = static_cast<SqliteCheckpointer*>(self_pointer);
        if (pages < self->pages_at_request_) self->pages_at_request_ = 0;  // the WAL restarted
        if (pages >= self->pages_at_request_ + kWalPages) {
            self->pages_at_request_ = pages;
            self->request();
        }
        return SQLITE_OK;
    }

    void request() {
        {
            std::lock_guard lock(mutex_);
            is_requested_ = true;
        }
        wake_.notify_one();
    }

    void run() {
        for (;;) {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [this] { return is_stopping_ || is_requested_; });
            if (is_stopping_) break;
            is_requested_ = false;
            lock.unlock();
            // A busy or failed checkpoint is tried again after the next commit past the mark.
            sqlite3_wal_checkpoint_v2(connection_->handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                      nullptr, nullptr);
        }
        connection_.reset();  // closed on the thread that used it
    }

    int pages_at_request_ = 0;  // writer's thread only
    std::mutex mutex_;
    std::condition_variable wake_;
    bool is_requested_ = false;
    bool is_stopping_ = false;
    std::unique_ptr<SqliteConnection> connection_;
    std::thread thread_;  // last: starts once everything above exists
};

}  // namespace detail

SqliteDatabase::SqliteDatabase(std::unique_ptr<detail::SqliteCheckpointer> checkpointer,
                               std::unique_ptr<detail::SqliteConnectionThread> writer,
                               std::unique_ptr<detail::SqliteConnectionThread> reader)
    : checkpointer_(std::move(checkpointer))
    , writer_(std::move(writer))
    , reader_(std::move(reader)) {}

SqliteDatabase::~SqliteDatabase() { close(); }

std::unique_ptr<SqliteDatabase> SqliteDatabase::open_file(const std::filesystem::path& path) {
    return open_file(path, Options{});
}

std::unique_ptr<SqliteDatabase> SqliteDatabase::open_file(const std::filesystem::path& path,
                                                          Options options) {
    // The writer opens first: it creates the file and switches it to WAL for both.
    auto writer = detail::SqliteConnection::open(path.string(), false, options);
    auto reader = detail::SqliteConnection::open(path.string(), true, options);
    auto checkpoint_options = options;
    checkpoint_options.profile_path.clear();
    auto checkpointer = std::make_unique<detail::SqliteCheckpointer>(
        detail::SqliteConnection::open(path.string(), false, checkpoint_options));
    checkpointer->watch(writer->handle());
    return std::unique_ptr<SqliteDatabase>(
        new SqliteDatabase(std::move(checkpointer),
                           std::make_unique<detail::SqliteConnectionThread>(std::move(writer)),
                           std::make_unique<detail::SqliteConnectionThread>(std::move(reader))));
}

std::unique_ptr<SqliteDatabase> SqliteDatabase::open_memory() {
    auto writer = detail::SqliteConnection::open(":memory:", false, Options{});
    return std::unique_ptr<SqliteDatabase>(new SqliteDatabase(
        nullptr, std::make_unique<detail::SqliteConnectionThread>(std::move(writer)), nullptr));
}

void SqliteDatabase::close() {
    std::lock_guard lock(close_mutex_);
    if (reader_) reader_->stop();
    writer_->stop();
    if (checkpointer_) checkpointer_->stop();  // after the writer: its last commits may ask
}

void SqliteDatabase::submit(Mode mode, std::function<void(Connection&)> work,
                            std::function<void(std::exception_ptr)> done) {
    const auto kind =
        mode == Mode::write ? detail::TransactionKind::write : detail::TransactionKind::read;
    auto& thread = (mode == Mode::read && reader_) ? *reader_ : *writer_;
    if (!thread.post(kind, work, done))
        done(std::make_exception_ptr(DatabaseError("the database is closed")));
}

}  // namespace kiln::db
