// SPDX-License-Identifier: Apache-2.0
#include "worker/session.hpp"

#include "protocol/codec.hpp"

#include <chrono>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <spdlog/spdlog.h>

namespace kiln::worker {

using protocol::Map;
using protocol::Response;
using protocol::Value;

namespace {
constexpr std::size_t kMaxNotificationsInFlight = 64;
constexpr auto kCommandShutdownTimeout = std::chrono::seconds(15);
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Built outside coroutines: GCC 12 miscompiles braced initializer lists inside co_await.
Map command_fields(const std::string& command_id, Value args) {
    return Map{{"args", std::move(args)}, {"command_id", Value{command_id}}};
}
}  // namespace

struct Session::Slot {
    explicit Slot(asio::any_io_executor executor)
        : done(executor) {
        done.expires_at(asio::steady_timer::time_point::max());
    }
    asio::steady_timer done;
    std::optional<Response> response;
    bool is_notification = false;
    bool is_lost = false;
};

struct Session::Running {
    std::unique_ptr<Command> command;
    std::unique_ptr<CommandOutput> output;
};

Session::Session(WorkerEnvironment environment, io::WebSocketConnection& connection,
                 Value worker_info, std::function<void()> on_shutdown)
    : environment_(std::move(environment))
    , connection_(connection)
    , worker_info_(std::move(worker_info))
    , on_shutdown_(std::move(on_shutdown))
    , response_arrived_(environment_.executor)
    , tasks_(environment_.executor, [](std::exception_ptr error) {
        try {
            std::rethrow_exception(error);
        } catch (const std::exception& e) {
            spdlog::error("task failed: {}", e.what());
        }
    }) {}

Session::~Session() { tasks_.cancel(); }

asio::awaitable<void> Session::run() {
    for (;;) {
        auto message = co_await connection_.read();
        if (!message) {
            spdlog::info("connection to the master closed");
            break;
        }
        if (message->is_text) {
            spdlog::warn("ignoring a text frame from the master (only binary is used)");
            continue;
        }
        auto decoded = protocol::decode_message(message->data);
        if (!decoded) {
            spdlog::error("malformed message from the master ({}): dropping the connection",
                          decoded.error().message);
            connection_.abort();
            break;
        }
        if (auto* response = std::get_if<Response>(&*decoded)) {
            auto slot = pending_.take(response->seq_number);
            if (!slot) {
                spdlog::error("response to unknown request {} from the master: dropping the "
                              "connection",
                              response->seq_number);
                connection_.abort();
                break;
            }
            auto& s = **slot;
            if (s.is_notification) {
                --notifications_in_flight_;
                if (response->is_exception)
                    spdlog::warn("master rejected an update: {}", response->result.debug_string());
            }
            s.response = std::move(*response);
            s.done.cancel();
            response_arrived_.notify();
            continue;
        }
        tasks_.spawn(handle(std::get<protocol::Request>(std::move(*decoded))));
    }
    connection_lost();
    // Commands see ConnectionLost on their next request; their processes are killed.
    interrupt_all("connection lost");
    auto executor = co_await asio::this_coro::executor;
    asio::steady_timer limit(executor, kCommandShutdownTimeout);
    limit.async_wait([this](boost::system::error_code ec) {
        if (!ec) tasks_.cancel();
    });
    co_await tasks_.wait();
    limit.cancel();
}

void Session::connection_lost() {
    is_lost_ = true;
    for (auto& slot : pending_.take_all()) {
        slot->is_lost = true;
        slot->done.cancel();
    }
    notifications_in_flight_ = 0;
    response_arrived_.notify();
}

void Session::interrupt_all(const std::string& why) {
    for (auto& [id, running] : commands_)
        running->command->interrupt(why);
}

asio::awaitable<std::uint64_t> Session::send_request(std::string op, Map fields,
                                                     std::shared_ptr<Slot> slot) {
    if (is_lost_) throw ConnectionLost();
    auto seq = pending_.add(slot);
    auto bytes = protocol::encode_request(op, seq, fields);
    try {
        co_await connection_.send(std::move(bytes));
    } catch (const boost::system::system_error&) {
        throw ConnectionLost();
    }
    co_return seq;
}

asio::awaitable<Response> Session::call(std::string op, Map fields) {
    auto slot = std::make_shared<Slot>(environment_.executor);
    co_await send_request(std::move(op), std::move(fields), slot);
    while (!slot->response && !slot->is_lost)
        co_await slot->done.async_wait(use_tuple);
    if (!slot->response) throw ConnectionLost();
    co_return std::move(*slot->response);
}

asio::awaitable<void> Session::notify(std::string op, Map fields) {
    // Bounded pipelining: a slow master slows the command's output down instead of letting
    // unacknowledged updates pile up in memory.
    while (notifications_in_flight_ >= kMaxNotificationsInFlight && !is_lost_)
        co_await response_arrived_.wait();
    auto slot = std::make_shared<Slot>(environment_.executor);
    slot->is_notification = true;
    ++notifications_in_flight_;
    co_await send_request(std::move(op), std::move(fields), slot);
}

asio::awaitable<void> Session::notify_encoded(std::string message) {
    while (notifications_in_flight_ >= kMaxNotificationsInFlight && !is_lost_)
        co_await response_arrived_.wait();
    auto slot = std::make_shared<Slot>(environment_.executor);
    slot->is_notification = true;
    ++notifications_in_flight_;
    if (is_lost_) throw ConnectionLost();
    auto seq = pending_.add(slot);
    protocol::end_request(seq, message);
    try {
        co_await connection_.send(std::move(message));
    } catch (const boost::system::system_error&) {
        throw ConnectionLost();
    }
}

asio::awaitable<void> Session::respond(std::uint64_t seq, Value result, bool is_exception) {
    if (is_lost_) co_return;
    // Encoded before co_await: GCC 12 mishandles aggregate temporaries inside co_await.
    auto bytes = protocol::encode_response(Response{seq, std::move(result), is_exception});
    try {
        co_await connection_.send(std::move(bytes));
    } catch (const boost::system::system_error& error) {
        spdlog::debug("response {} not sent: {}", seq, error.what());
    }
}

asio::awaitable<void> Session::handle(protocol::Request request) {
    auto typed = protocol::parse_master_request(request);
    if (!typed) {
        spdlog::warn("request '{}' refused: {}", request.op, typed.error().message);
        co_await respond(request.seq_number, Value{typed.error().message}, true);
        co_return;
    }
    auto seq = request.seq_number;
    if (auto* print = std::get_if<protocol::Print>(&*typed)) {
        spdlog::info("message from master: {}", print->message);
        co_await respond(seq, Value{});
    } else if (std::holds_alternative<protocol::Keepalive>(*typed)) {
        co_await respond(seq, Value{});
    } else if (std::holds_alternative<protocol::GetWorkerInfo>(*typed)) {
        co_await respond(seq, worker_info_);
    } else if (auto* settings = std::get_if<protocol::SetWorkerSettings>(&*typed)) {
        if (settings->newline_re != protocol::stock_worker_settings().newline_re)
            spdlog::warn("master sent a custom newline_re; using the standard line splitting");
        settings_.max_line_length = static_cast<std::size_t>(settings->max_line_length);
        settings_.buffer_timeout = settings->buffer_timeout;
        settings_.buffer_size = static_cast<std::size_t>(settings->buffer_size);
        co_await respond(seq, Value{});
    } else if (auto* start = std::get_if<protocol::StartCommand>(&*typed)) {
        if (commands_.contains(start->command_id)) {
            co_await respond(seq, Value{"command id " + start->command_id + " is already running"},
                             true);
            co_return;
        }
        auto command =
            make_command(environment_, *this, start->command_id, start->command_name, start->args);
        if (!command) {
            spdlog::warn("start_command {} refused: {}", start->command_name,
                         command.error().message);
            co_await respond(seq, Value{command.error().message}, true);
            co_return;
        }
        spdlog::info("starting command {} ({}{})", start->command_id, start->command_name,
                     start->builder_name ? " for " + *start->builder_name : std::string());
        auto running = std::make_unique<Running>();
        running->command = std::move(*command);
        running->output = std::make_unique<CommandOutput>(environment_.executor, *this,
                                                          start->command_id, settings_);
        commands_.emplace(start->command_id, std::move(running));
        tasks_.spawn(run_command(start->command_id));
        co_await respond(seq, Value{});
    } else if (auto* interrupt = std::get_if<protocol::InterruptCommand>(&*typed)) {
        auto it = commands_.find(interrupt->command_id);
        if (it == commands_.end()) {
            spdlog::info("interrupt for command {} that is not running", interrupt->command_id);
            co_await respond(seq, Value{});
            co_return;
        }
        spdlog::info("interrupting command {}: {}", interrupt->command_id, interrupt->why);
        auto* running = it->second.get();
        // Pending output goes out before the answer, as the stock worker does.
        try {
            co_await running->output->flush();
        } catch (const ConnectionLost&) {
            co_return;
        }
        co_await respond(seq, Value{});
        // The command may have finished (and been erased) while its output was flushed.
        if (auto again = commands_.find(interrupt->command_id); again != commands_.end())
            again->second->command->interrupt(interrupt->why);
    } else if (std::holds_alternative<protocol::Shutdown>(*typed)) {
        spdlog::info("master asked this worker to shut down");
        co_await respond(seq, Value{});
        asio::steady_timer delay(environment_.executor, std::chrono::milliseconds(200));
        co_await delay.async_wait(use_tuple);
        if (on_shutdown_) on_shutdown_();
    }
}

asio::awaitable<void> Session::run_command(std::string command_id) {
    auto* running = commands_.at(command_id).get();
    auto& output = *running->output;
    auto started = std::chrono::steady_clock::now();
    std::optional<std::string> failure;
    try {
        co_await running->command->run(output);
        if (!running->command->is_interrupted()) {
            double elapsed =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
            output.add_status("elapsed", Value{elapsed});
        }
    } catch (const CommandFailed& error) {
        failure = error.what();
    } catch (const ConnectionLost&) {
        spdlog::warn("command {} lost its connection", command_id);
        commands_.erase(command_id);
        co_return;
    } catch (const std::exception& error) {
        failure = std::string("worker error: ") + error.what();
    }
    try {
        co_await output.flush();
        Value args;
        if (failure) args = Value{*failure};
        auto fields = command_fields(command_id, std::move(args));
        co_await notify("complete", std::move(fields));
        spdlog::info("command {} complete{}", command_id, failure ? ": " + *failure : "");
    } catch (const ConnectionLost&) {
        spdlog::warn("command {} finished after the connection was lost", command_id);
    }
    commands_.erase(command_id);
}

}  // namespace kiln::worker
