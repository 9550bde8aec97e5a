// SPDX-License-Identifier: Apache-2.0
#include "www/ws_session.hpp"

#include "www/live_json.hpp"

#include <exception>
#include <memory>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <boost/system/system_error.hpp>

#include <spdlog/spdlog.h>

namespace kiln::www {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;

// Python's frame.pop(name, None): the member's value (null when absent), removed from the frame.
json::value take(json::object& frame, std::string_view name) {
    auto it = frame.find(name);
    if (it == frame.end()) return nullptr;
    json::value value = std::move(it->value());
    frame.erase(it);
    return value;
}

// Buildbot's replies, with its key order: {"msg":"OK","code":200,"_id":1}.
std::string success_reply(std::string_view message, const json::value& id) {
    std::string text = "{\"msg\":";
    append_live_json_string(text, message);
    text += ",\"code\":200,\"_id\":";
    append_live_json(text, id, LiveJsonStyle::compact);
    text += '}';
    return text;
}

std::string error_reply(std::string_view error, int code, const json::value& id) {
    std::string text = "{\"error\":";
    append_live_json_string(text, error);
    text += ",\"code\":" + std::to_string(code) + ",\"_id\":";
    append_live_json(text, id, LiveJsonStyle::compact);
    text += '}';
    return text;
}

// Once a connection spoke GraphQL-over-WebSocket, Buildbot words its errors that way.
std::string graphql_error_reply(std::string_view error, const json::value& id) {
    std::string text = "{\"message\":";
    append_live_json_string(text, error);
    text += ",\"type\":\"error\",\"id\":";
    append_live_json(text, id, LiveJsonStyle::compact);
    text += '}';
    return text;
}

// Python's TypeError for a call cmd_<name>(**frame) whose keywords do not fit the method.
std::string invalid_argument(std::string_view command, std::string_view problem) {
    std::string text = "Invalid method argument 'WsProtocol.cmd_";
    text += command;
    text += "() ";
    text += problem;
    text += '\'';
    return text;
}

}  // namespace

WsSession::WsSession(asio::any_io_executor executor, bus::Bus& bus, EventFrames& frames,
                     io::WebSocketConnection& connection, EventVisibility visibility,
                     const LiveOptions& options)
    : bus_(bus)
    , frames_(frames)
    , connection_(connection)
    , visibility_(std::move(visibility))
    , options_(options)
    , queue_(executor, options.queue)
    , subscriptions_(options.max_subscriptions)
    , ending_(executor) {}

asio::awaitable<void> WsSession::run() {
    using namespace asio::experimental::awaitable_operators;
    // The first of the three to finish ends the session: the client went away (read), the
    // queue ended and the Close frame went out or the connection broke (write), or a Close
    // was not accepted in time (timeout).
    co_await (read_frames() || write_frames() || enforce_close_timeout());
    stop_consuming_everything();
}

void WsSession::close(std::uint16_t code) {
    if (close_code_) return;
    close_code_ = code;
    stop_consuming_everything();
    queue_.end();
    ending_.notify();
}

asio::awaitable<void> WsSession::read_frames() {
    while (auto message = co_await connection_.read()) {
        // Once the session ends, the client's frames are read (so its Close is seen) but not
        // answered.
        if (!close_code_) handle_frame(message->data);
    }
    spdlog::debug("ws {}: connection closed", connection_.remote_endpoint());
    stop_consuming_everything();
}

asio::awaitable<void> WsSession::write_frames() {
    try {
        while (auto frame = co_await queue_.next()) {
            // send_text takes its own string: this copies only the frame being written.
            std::string text = *frame;
            frame.reset();
            co_await connection_.send_text(std::move(text));
        }
    } catch (const boost::system::system_error& error) {
        if (io::is_cancellation(error)) throw;
        spdlog::debug("ws {}: sending failed: {}", connection_.remote_endpoint(), error.what());
        connection_.abort();
        co_return;
    }
    if (close_code_) co_await connection_.close(*close_code_);
}

asio::awaitable<void> WsSession::enforce_close_timeout() {
    while (!close_code_) {
        co_await ending_.wait();
        auto state = co_await asio::this_coro::cancellation_state;
        if (state.cancelled() != asio::cancellation_type::none) co_return;
    }
    asio::steady_timer timer{co_await asio::this_coro::executor, options_.close_timeout};
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    spdlog::info("ws {}: the client did not accept its Close frame within {} ms: disconnecting",
                 connection_.remote_endpoint(), options_.close_timeout.count());
    connection_.abort();
}

void WsSession::handle_frame(std::string_view text) {
    boost::system::error_code ec;
    auto parsed = json::parse(text, ec);
    if (ec || !parsed.is_object()) {
        // In Buildbot, json.loads (or frame.get on a non-object) raises out of onMessage and
        // Twisted drops the TCP connection; an error reply tells the client what went wrong.
        send_error(ec ? "invalid JSON in websocket frame: " + ec.message()
                      : std::string("websocket frame is not a JSON object"),
                   400, nullptr);
        return;
    }
    auto& frame = parsed.as_object();
    const json::value type = take(frame, "type");
    const auto* found_id = frame.if_contains("_id");
    const json::value id = found_id ? *found_id : json::value(nullptr);
    if (id.is_null() && type.is_null()) {
        send_error("no '_id' or 'type' in websocket frame", 400, nullptr);
        return;
    }
    if (!type.is_null()) {
        handle_graphql(frame, type);
        return;
    }
    if (mode_ == Mode::graphql) {
        send_error("missing 'type' in websocket frame when already started using graphql", 400,
                   nullptr);
        return;
    }
    mode_ = Mode::buildbot;
    handle_command(frame, id);
}

void WsSession::handle_command(json::object& frame, const json::value& id) {
    const json::value command = take(frame, "cmd");
    if (command.is_null()) {
        send_error("no 'cmd' in websocket frame", 400, nullptr);
        return;
    }
    // A non-string cmd makes Buildbot raise (and drop the connection); here it is unknown.
    const std::string name = python_str(command);
    const bool is_known = command.is_string() &&
                          (name == "ping" || name == "startConsuming" || name == "stopConsuming");
    if (!is_known) {
        send_error("no such command type '" + name + "'", 404, id);
        return;
    }
    // Buildbot calls cmd_<name>(**frame): like Python, report the first keyword the method
    // does not take, then a missing 'path'.
    const bool takes_path = name != "ping";
    for (const auto& member : frame) {
        if (member.key() == "_id" || (takes_path && member.key() == "path")) continue;
        send_error(invalid_argument(name, "got an unexpected keyword argument '" +
                                              std::string(member.key()) + "'"),
                   400, id);
        return;
    }
    if (takes_path && !frame.contains("path")) {
        send_error(invalid_argument(name, "missing 1 required positional argument: 'path'"), 400,
                   id);
        return;
    }
    try {
        if (name == "ping")
            send(success_reply("pong", id));
        else if (name == "startConsuming")
            start_consuming(frame.at("path"), id);
        else
            stop_consuming(frame.at("path"), id);
    } catch (const std::exception& failure) {
        spdlog::error("ws {}: command {} failed: {}", connection_.remote_endpoint(), name,
                      failure.what());
        send_error("Internal Error '" + std::string(failure.what()) + "'", 500, id);
    }
}

void WsSession::handle_graphql(const json::object& frame, const json::value& type) {
    if (mode_ == Mode::buildbot) {
        send_error("using 'type' in websocket frame when already started using buildbot protocol",
                   400, nullptr);
        return;
    }
    mode_ = Mode::graphql;
    if (type.is_string() && type.get_string() == "connection_init") {
        send("{\"type\":\"connection_ack\"}");
        return;
    }
    // GraphQL subscriptions are not served (Buildbot 3.7 answers them only when configured).
    const auto* found_id = frame.if_contains("id");
    send_error("graphql is not supported by this server", 400,
               found_id ? *found_id : json::value(nullptr));
}

void WsSession::start_consuming(const json::value& path, const json::value& id) {
    if (!path.is_string()) {
        send(error_reply("invalid path format '" + python_str(path) + "'", 400, id));
        return;
    }
    const std::string text(path.get_string());
    const auto added =
        subscriptions_.add(bus_, text, [this](const bus::Message& message) { on_event(message); });
    if (added == detail::PathSubscriptions::Added::too_many) {
        send(error_reply("too many subscriptions: at most " +
                             std::to_string(options_.max_subscriptions) + " paths per connection",
                         400, id));
        return;
    }
    // An already subscribed path is acknowledged without a second consumer (as Buildbot).
    send(success_reply("OK", id));
}

void WsSession::stop_consuming(const json::value& path, const json::value& id) {
    if (!path.is_string()) {
        send(error_reply("invalid path format '" + python_str(path) + "'", 400, id));
        return;
    }
    const std::string text(path.get_string());
    if (!subscriptions_.remove(text)) {
        send(error_reply("path was not consumed '" + text + "'", 400, id));
        return;
    }
    send(success_reply("OK", id));
}

void WsSession::on_event(const bus::Message& message) {
    if (close_code_ || !is_visible(message)) return;
    if (!queue_.push(frames_.websocket_frame(message))) drop_slow_client();
}

bool WsSession::is_visible(const bus::Message& message) const {
    if (!visibility_) return true;
    try {
        return visibility_(message);
    } catch (const std::exception& failure) {
        spdlog::warn("ws {}: the visibility check failed for {} (event withheld): {}",
                     connection_.remote_endpoint(), bus::format_key(message.key), failure.what());
        return false;
    }
}

void WsSession::send(std::string text) {
    if (close_code_) return;
    if (!queue_.push(std::make_shared<const std::string>(std::move(text)))) drop_slow_client();
}

void WsSession::send_error(std::string_view error, int code, const json::value& id) {
    if (mode_ == Mode::graphql)
        send(graphql_error_reply(error, id));
    else
        send(error_reply(error, code, id));
}

void WsSession::drop_slow_client() {
    if (close_code_) return;
    spdlog::info("ws {}: dropped: more than {} frames or {} bytes waiting to be sent; the client "
                 "must resynchronise (close code {})",
                 connection_.remote_endpoint(), options_.queue.max_frames, options_.queue.max_bytes,
                 kResynchroniseCloseCode);
    was_dropped_ = true;
    close(kResynchroniseCloseCode);  // the overflowed queue already let go of its frames
}

void WsSession::stop_consuming_everything() { subscriptions_.clear(); }

}  // namespace kiln::www
