// SPDX-License-Identifier: Apache-2.0
#include "process/worker_connection.hpp"

#include "protocol/codec.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <stdexcept>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <spdlog/spdlog.h>

// GCC 12 (docs/decisions/0001): in the coroutines below, maps and requests are built in named
// locals (or by helpers outside coroutines) before any co_await, and co_await never appears in
// a conditional expression.

namespace kiln::process {

using protocol::Map;
using protocol::Response;
using protocol::Value;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
// The longest chunk a download answers with, whatever length the worker asks for.
constexpr std::int64_t kMaxReadChunk = 1 << 20;

// Stock master texts (Python exception strings, worker-protocol.md §2.3).
constexpr auto kUnknownCommandId = "'unknown \"command_id\"'";
constexpr auto kNotAuthenticated = "Worker not authenticated.";

// At most this many queued updates, or about this much output, are stored together.
constexpr std::size_t kMaxMergedUpdates = 16;
constexpr std::size_t kMaxMergedUpdateBytes = 1024 * 1024;

bool is_output_key(const std::string& key) {
    return key == "stdout" || key == "stderr" || key == "header" || key == "log";
}

std::string response_text(const Response& response) {
    if (auto text = response.result.as_text()) return std::string(*text);
    return response.result.debug_string();
}

asio::awaitable<void> throw_if_cancelled() {
    auto state = co_await asio::this_coro::cancellation_state;
    if (state.cancelled() != asio::cancellation_type::none)
        throw boost::system::system_error(asio::error::operation_aborted, "cancelled");
}

// Built outside coroutines (GCC 12, see above).
Map start_fields(const RemoteCommand& command) {
    protocol::StartCommand start{.command_id = command.command_id,
                                 .command_name = command.name,
                                 .args = command.args,
                                 .builder_name = command.builder_name};
    return protocol::to_fields(protocol::MasterRequest{std::move(start)});
}

Map interrupt_fields(std::string builder_name, std::string command_id, std::string why) {
    protocol::InterruptCommand interrupt{.builder_name = std::move(builder_name),
                                         .command_id = std::move(command_id),
                                         .why = std::move(why)};
    return protocol::to_fields(protocol::MasterRequest{std::move(interrupt)});
}

Map settings_fields() {
    return protocol::to_fields(protocol::MasterRequest{protocol::stock_worker_settings()});
}

Map message_fields(std::string message) { return Map{{"message", Value{std::move(message)}}}; }

const std::string& command_id_of(const protocol::WorkerRequest& request) {
    return std::visit([](const auto& typed) -> const std::string& { return typed.command_id; },
                      request);
}

std::string text_field(const Map& map, std::string_view key) {
    if (const auto* value = protocol::find(map, key))
        if (auto text = value->as_text()) return std::string(*text);
    return {};
}

}  // namespace

std::string new_command_id() {
    static std::atomic<std::uint64_t> next{1};
    return std::to_string(next.fetch_add(1));
}

// A wake-up for one waiter (a request's response, or a command's queue), with a deadline.
struct WorkerConnection::Slot {
    explicit Slot(const asio::any_io_executor& executor)
        : timer(executor) {}
    asio::steady_timer timer;
    std::optional<Response> response;

    void wake() { timer.cancel(); }
    asio::awaitable<void> wait_until(Clock::time_point deadline) {
        timer.expires_at(deadline);
        co_await timer.async_wait(use_tuple);
    }
};

struct WorkerConnection::Queued {
    std::uint64_t seq = 0;
    protocol::WorkerRequest request;
};

struct WorkerConnection::Running {
    explicit Running(const asio::any_io_executor& executor)
        : signal(std::make_shared<Slot>(executor)) {}
    RemoteCommand command;
    std::shared_ptr<Slot> signal;  // woken by new requests, start_command's response, loss
    std::deque<Queued> queue;      // the worker's requests for this command, in arrival order
    bool is_complete = false;
    bool is_interrupted = false;
    bool is_winding_down = false;  // after a failure: observer errors are only logged
    std::string observer_failure;  // set once the observer threw: it is not called again
};

WorkerConnection::WorkerConnection(asio::any_io_executor executor,
                                   std::unique_ptr<io::WebSocketConnection> socket,
                                   std::string name, WorkerConnectionOptions options)
    : executor_(executor)
    , socket_(std::move(socket))
    , name_(std::move(name))
    , options_(options)
    , outbox_ready_(std::make_shared<Slot>(executor))
    , lost_timer_(executor, asio::steady_timer::time_point::max())
    , tasks_(executor, [worker = name_](std::exception_ptr error) {
        try {
            std::rethrow_exception(error);
        } catch (const std::exception& e) {
            if (!io::is_cancellation(e))
                spdlog::error("worker {}: connection task failed: {}", worker, e.what());
        }
    }) {}

WorkerConnection::~WorkerConnection() {
    tasks_.cancel();
    socket_->abort();
}

std::string WorkerConnection::remote_endpoint() const { return socket_->remote_endpoint(); }

std::string WorkerConnection::basedir() const { return basedir_; }

std::string WorkerConnection::system() const { return system_.empty() ? "posix" : system_; }

std::string WorkerConnection::version() const { return version_; }

std::optional<std::string> WorkerConnection::command_version(std::string_view command) const {
    auto it = command_versions_.find(std::string(command));
    if (it == command_versions_.end()) return std::nullopt;
    return it->second;
}

core::Expected<void> WorkerConnection::set_info(const Value& info) {
    const auto* map = info.if_map();
    if (!map) return core::fail(core::ErrorKind::bad_input, "worker info is not a map");
    const auto* basedir = protocol::find(*map, "basedir");
    if (!basedir || !basedir->as_text() || basedir->as_text()->empty())
        return core::fail(core::ErrorKind::bad_input, "worker info has no 'basedir' string");
    std::map<std::string, std::string> versions;
    if (const auto* commands = protocol::find(*map, "worker_commands")) {
        const auto* entries = commands->if_map();
        if (!entries)
            return core::fail(core::ErrorKind::bad_input, "'worker_commands' is not a map");
        for (const auto& [command, version] : *entries) {
            auto text = version.as_text();
            versions[command] = text ? std::string(*text) : version.debug_string();
        }
    }
    info_ = *map;
    basedir_ = text_field(info_, "basedir");
    system_ = text_field(info_, "system");
    version_ = text_field(info_, "version");
    command_versions_ = std::move(versions);
    return {};
}

// --- reading ---------------------------------------------------------------------------------

asio::awaitable<void> WorkerConnection::serve() {
    auto self = shared_from_this();
    tasks_.spawn(write_loop());
    while (!is_lost_) {
        auto message = co_await socket_->read();
        if (!message) {
            lose("connection closed");
            break;
        }
        if (message->is_text) {
            spdlog::warn("worker {}: ignoring a text frame (only binary is used)", name_);
            continue;
        }
        auto decoded = protocol::decode_message(message->data);
        if (!decoded) {
            lose("malformed message: " + decoded.error().message);
            break;
        }
        if (auto* response = std::get_if<Response>(&*decoded)) {
            auto slot = pending_.take(response->seq_number);
            if (!slot) {
                lose("response to unknown request " + std::to_string(response->seq_number));
                break;
            }
            (*slot)->response = std::move(*response);
            (*slot)->wake();
            continue;
        }
        dispatch(std::get<protocol::Request>(std::move(*decoded)));
    }
    tasks_.cancel();
    co_await tasks_.wait();
}

void WorkerConnection::dispatch(protocol::Request request) {
    // Moves the update's values (the op and seq_number stay for the answers below).
    auto typed = protocol::parse_worker_request(std::move(request));
    if (!typed) {
        if (typed.error().kind == core::ErrorKind::not_found) {  // an op we do not serve
            spdlog::warn("worker {}: {}", name_, typed.error().message);
            respond(request.seq_number, Value{typed.error().message}, true);
            return;
        }
        lose("malformed '" + request.op + "' request: " + typed.error().message);
        return;
    }
    if (!is_attached_) {
        respond(request.seq_number, Value{kNotAuthenticated}, true);
        return;
    }
    auto it = running_.find(command_id_of(*typed));
    if (it == running_.end()) {
        spdlog::warn("worker {}: '{}' for unknown command {}", name_, request.op,
                     command_id_of(*typed));
        respond(request.seq_number, Value{kUnknownCommandId}, true);
        return;
    }
    it->second->queue.push_back(Queued{request.seq_number, std::move(*typed)});
    it->second->signal->wake();
}

// --- writing ---------------------------------------------------------------------------------

void WorkerConnection::send(std::string bytes) {
    if (is_lost_) return;
    outbox_.push_back(std::move(bytes));
    outbox_ready_->wake();
}

asio::awaitable<void> WorkerConnection::write_loop() {
    auto self = shared_from_this();
    while (!is_lost_) {
        if (outbox_.empty()) {
            co_await outbox_ready_->wait_until(Clock::time_point::max());
            co_await throw_if_cancelled();
            continue;
        }
        auto bytes = std::move(outbox_.front());
        outbox_.pop_front();
        std::string error;
        try {
            co_await socket_->send(std::move(bytes));
        } catch (const boost::system::system_error& failure) {
            error = failure.what();
        }
        if (!error.empty()) lose("send failed: " + error);
    }
}

void WorkerConnection::respond(std::uint64_t seq, Value result, bool is_exception) {
    send(protocol::encode_response(Response{seq, std::move(result), is_exception}));
}

void WorkerConnection::send_request(const std::string& op, const Map& fields,
                                    std::shared_ptr<Slot> slot) {
    if (is_lost_) throw WorkerLost(lost_reason_);
    auto seq = pending_.add(std::move(slot));
    send(protocol::encode_request(op, seq, fields));
}

asio::awaitable<Response> WorkerConnection::call(std::string op, Map fields,
                                                 std::chrono::milliseconds timeout) {
    auto self = shared_from_this();
    auto slot = std::make_shared<Slot>(executor_);
    send_request(op, fields, slot);
    const auto deadline = Clock::now() + timeout;
    while (!slot->response && !is_lost_) {
        if (Clock::now() >= deadline) {
            lose("no answer to '" + op + "' within " + std::to_string(timeout.count()) + " ms");
            break;
        }
        co_await slot->wait_until(deadline);
        co_await throw_if_cancelled();
    }
    if (!slot->response) throw WorkerLost(lost_reason_);
    co_return std::move(*slot->response);
}

// --- connection ------------------------------------------------------------------------------

void WorkerConnection::lose(const std::string& reason) {
    if (is_lost_) return;
    is_lost_ = true;
    lost_reason_ = reason;
    spdlog::warn("worker {} ({}): connection lost: {}", name_, socket_->remote_endpoint(), reason);
    socket_->abort();
    for (auto& slot : pending_.take_all())
        slot->wake();
    for (auto& [id, running] : running_)
        running->signal->wake();
    outbox_.clear();
    outbox_ready_->wake();
    lost_timer_.cancel();
    if (on_lost_) {
        if (auto self = weak_from_this().lock())
            asio::post(executor_, [callback = on_lost_, self] { callback(self); });
    }
}

void WorkerConnection::abort(const std::string& reason) { lose(reason); }

asio::awaitable<void> WorkerConnection::close() {
    auto self = shared_from_this();
    if (is_lost_) co_return;
    co_await socket_->close(0);
    lose("closed by the master");
}

asio::awaitable<void> WorkerConnection::wait_lost() {
    auto self = shared_from_this();
    while (!is_lost_) {
        co_await lost_timer_.async_wait(use_tuple);
        co_await throw_if_cancelled();
    }
}

void WorkerConnection::on_lost(std::function<void(std::shared_ptr<WorkerConnection>)> callback) {
    on_lost_ = std::move(callback);
    if (is_lost_ && on_lost_)
        asio::post(executor_, [callback = on_lost_, self = shared_from_this()] { callback(self); });
}

asio::awaitable<void> WorkerConnection::attach() {
    auto self = shared_from_this();
    auto attached = message_fields("attached");
    co_await call("print", std::move(attached), options_.request_timeout);
    Map no_fields;
    auto info = co_await call("get_worker_info", std::move(no_fields), options_.request_timeout);
    if (info.is_exception)
        throw std::runtime_error("get_worker_info failed: " + response_text(info));
    if (auto stored = set_info(info.result); !stored)
        throw std::runtime_error(stored.error().message);
    is_attached_ = true;
    auto settings = settings_fields();
    auto answer =
        co_await call("set_worker_settings", std::move(settings), options_.request_timeout);
    if (answer.is_exception)
        throw std::runtime_error("set_worker_settings failed: " + response_text(answer));
    spdlog::info("worker {} attached from {} (version {}, basedir {})", name_,
                 socket_->remote_endpoint(), version(), basedir());
}

void WorkerConnection::start_keepalive() { tasks_.spawn(keepalive_loop()); }

asio::awaitable<void> WorkerConnection::keepalive_loop() {
    auto self = shared_from_this();
    asio::steady_timer timer(executor_);
    while (!is_lost_) {
        timer.expires_after(options_.keepalive_interval);
        auto [ec] = co_await timer.async_wait(use_tuple);
        if (ec || is_lost_) co_return;
        Map no_fields;
        try {
            auto answer =
                co_await call("keepalive", std::move(no_fields), options_.keepalive_timeout);
            if (answer.is_exception)
                spdlog::warn("worker {}: keepalive answered with an error: {}", name_,
                             response_text(answer));
        } catch (const WorkerLost&) {
            co_return;  // lose() already said why
        }
    }
}

asio::awaitable<void> WorkerConnection::print(std::string message) {
    auto fields = message_fields(std::move(message));
    auto answer = co_await call("print", std::move(fields), options_.request_timeout);
    if (answer.is_exception)
        spdlog::warn("worker {}: print answered with an error: {}", name_, response_text(answer));
}

asio::awaitable<void> WorkerConnection::shutdown() {
    Map no_fields;
    auto answer = co_await call("shutdown", std::move(no_fields), options_.request_timeout);
    if (answer.is_exception)
        spdlog::warn("worker {}: shutdown answered with an error: {}", name_,
                     response_text(answer));
}

// --- commands --------------------------------------------------------------------------------

asio::awaitable<void> WorkerConnection::interrupt(std::string command_id, std::string why) {
    std::string builder_name;
    if (auto it = running_.find(command_id); it != running_.end()) {
        it->second->is_interrupted = true;
        builder_name = it->second->command.builder_name.value_or("");
    }
    auto fields = interrupt_fields(std::move(builder_name), std::move(command_id), std::move(why));
    auto answer = co_await call("interrupt_command", std::move(fields), options_.request_timeout);
    if (answer.is_exception)
        spdlog::warn("worker {}: interrupt answered with an error: {}", name_,
                     response_text(answer));
}

asio::awaitable<CommandResult> WorkerConnection::run_command(RemoteCommand command) {
    auto self = shared_from_this();
    if (is_lost_) throw WorkerLost(lost_reason_);
    if (command.command_id.empty()) command.command_id = new_command_id();
    const auto id = command.command_id;
    if (running_.contains(id))
        throw std::invalid_argument("command id " + id + " is already running");

    auto running = std::make_shared<Running>(executor_);
    running->command = std::move(command);
    running_.emplace(id, running);
    struct Unregister {
        std::map<std::string, std::shared_ptr<Running>>& running;
        std::string id;
        ~Unregister() { running.erase(id); }
    } unregister{running_, id};

    CommandResult result;
    result.command_id = id;
    // Registered before sending: the worker may send updates before it answers the start.
    auto fields = start_fields(running->command);
    send_request("start_command", fields, running->signal);
    spdlog::debug("worker {}: started {} as command {}", name_, running->command.name, id);

    std::exception_ptr failure;
    try {
        co_await drive(*running, result, Clock::time_point::max());
    } catch (const WorkerLost&) {
        throw;
    } catch (const std::exception&) {  // cancelled, or the observer or a transfer end failed
        failure = std::current_exception();
    }
    if (failure) {
        co_await asio::this_coro::reset_cancellation_state();
        co_await wind_down(*running, result);
        std::rethrow_exception(failure);
    }
    result.was_interrupted = running->is_interrupted;
    co_return result;
}

// Interrupts a command whose run_command failed, and serves it a bounded time until complete.
asio::awaitable<void> WorkerConnection::wind_down(Running& running, CommandResult& result) {
    running.is_winding_down = true;
    if (running.is_complete || is_lost_) co_return;
    try {
        co_await interrupt(running.command.command_id, "cancelled by the master");
        auto deadline = Clock::now() + options_.interrupt_grace;
        bool is_done = co_await drive(running, result, deadline);
        if (!is_done)
            spdlog::warn("worker {}: command {} did not complete within the grace period", name_,
                         running.command.command_id);
    } catch (const std::exception& error) {
        spdlog::warn("worker {}: command {} not wound down: {}", name_, running.command.command_id,
                     error.what());
    }
}

// Serves the command's queued requests until it completes (true) or `deadline` (false).
asio::awaitable<bool> WorkerConnection::drive(Running& running, CommandResult& result,
                                              Clock::time_point deadline) {
    const auto start_deadline = Clock::now() + options_.request_timeout;
    for (;;) {
        if (!running.queue.empty()) {
            auto item = std::move(running.queue.front());
            running.queue.pop_front();
            co_await process(running, std::move(item), result);
            if (running.is_complete) co_return true;
            continue;
        }
        if (is_lost_) throw WorkerLost(lost_reason_);
        const auto& started = running.signal->response;
        if (started && started->is_exception) {
            result.was_started = false;
            result.failure = response_text(*started);
            spdlog::warn("worker {}: command {} ({}) not started: {}", name_,
                         running.command.command_id, running.command.name, *result.failure);
            co_return true;
        }
        auto wait_until = deadline;
        if (!started) {
            if (Clock::now() >= start_deadline) {
                lose("no answer to start_command within " +
                     std::to_string(options_.request_timeout.count()) + " ms");
                continue;
            }
            wait_until = std::min(deadline, start_deadline);
        }
        if (Clock::now() >= deadline) co_return false;
        co_await running.signal->wait_until(wait_until);
        co_await throw_if_cancelled();
    }
}

asio::awaitable<void> WorkerConnection::process(Running& running, Queued item,
                                                CommandResult& result) {
    if (auto* update = std::get_if<protocol::Update>(&item.request)) {
        // Updates that arrived while the previous one was stored are stored together (one
        // observer call, one database transaction) and acknowledged in order afterwards.
        std::vector<std::uint64_t> seqs{item.seq};
        std::size_t merged_bytes = 0;
        while (!running.queue.empty() && seqs.size() < kMaxMergedUpdates &&
               merged_bytes < kMaxMergedUpdateBytes) {
            auto* next = std::get_if<protocol::Update>(&running.queue.front().request);
            if (!next) break;
            for (auto& entry : next->updates) {
                if (const auto text = protocol::LineChunk::text_of(entry.second))
                    merged_bytes += text->size();
                update->updates.push_back(std::move(entry));
            }
            seqs.push_back(running.queue.front().seq);
            running.queue.pop_front();
        }
        for (const auto& [key, value] : update->updates) {
            if (is_output_key(key)) continue;
            result.status[key].push_back(value);
            if (key == "rc") result.rc = value.as_int();
        }
        std::string error = running.observer_failure;
        if (running.command.observer && error.empty()) {
            try {
                co_await running.command.observer->on_updates(std::move(update->updates));
            } catch (const std::exception& failure) {
                running.observer_failure = failure.what();
                if (!running.is_winding_down) {
                    for (auto seq : seqs)
                        respond(seq, Value{running.observer_failure}, true);
                    throw;
                }
                error = running.observer_failure;
            }
        }
        if (!error.empty()) {
            // Not stored: the worker hears so, and the observer is not called again.
            spdlog::warn("worker {}: update of command {} not stored: {}", name_,
                         running.command.command_id, error);
            for (auto seq : seqs)
                respond(seq, Value{error}, true);
        } else {
            for (auto seq : seqs)
                respond(seq, Value{});  // stored: now acknowledge
        }
    } else if (auto* complete = std::get_if<protocol::Complete>(&item.request)) {
        running.is_complete = true;
        result.failure = complete->failure;
        respond(item.seq, Value{});
    } else {
        co_await transfer(running, item);
    }
}

// The worker's file-transfer requests, answered as the stock master does: nil, the data, or
// an exception with the error text (which makes the worker fail the command).
asio::awaitable<void> WorkerConnection::transfer(Running& running, Queued& item) {
    auto& command = running.command;
    Value result;
    std::string error;
    try {
        if (auto* write = std::get_if<protocol::UploadFileWrite>(&item.request)) {
            if (!command.file_writer) throw std::runtime_error("no file writer for this command");
            co_await command.file_writer->write(std::move(write->data));
        } else if (std::holds_alternative<protocol::UploadFileClose>(item.request)) {
            if (!command.file_writer) throw std::runtime_error("no file writer for this command");
            co_await command.file_writer->close();
        } else if (auto* utime = std::get_if<protocol::UploadFileUtime>(&item.request)) {
            if (!command.file_writer) throw std::runtime_error("no file writer for this command");
            co_await command.file_writer->utime(utime->access_time, utime->modified_time);
        } else if (auto* chunk = std::get_if<protocol::UploadDirectoryWrite>(&item.request)) {
            if (!command.directory_writer)
                throw std::runtime_error("no directory writer for this command");
            co_await command.directory_writer->write(std::move(chunk->data));
        } else if (std::holds_alternative<protocol::UploadDirectoryUnpack>(item.request)) {
            if (!command.directory_writer)
                throw std::runtime_error("no directory writer for this command");
            co_await command.directory_writer->unpack();
        } else if (auto* read = std::get_if<protocol::ReadFile>(&item.request)) {
            if (!command.file_reader) throw std::runtime_error("no file reader for this command");
            auto length = std::clamp<std::int64_t>(read->length, 0, kMaxReadChunk);
            auto data = co_await command.file_reader->read(static_cast<std::size_t>(length));
            result = Value{protocol::Binary{std::move(data)}};
        } else if (std::holds_alternative<protocol::ReadFileClose>(item.request)) {
            if (!command.file_reader) throw std::runtime_error("no file reader for this command");
            co_await command.file_reader->close();
        }
    } catch (const std::exception& failure) {
        error = failure.what();
        if (error.empty()) error = "transfer failed";
    }
    if (!error.empty()) {
        spdlog::warn("worker {}: transfer for command {} failed: {}", name_, command.command_id,
                     error);
        respond(item.seq, Value{error}, true);
    } else {
        respond(item.seq, std::move(result));
    }
}

}  // namespace kiln::process
