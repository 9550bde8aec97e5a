// SPDX-License-Identifier: Apache-2.0
#include "master/control.hpp"

#include "io/task_group.hpp"

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <spdlog/spdlog.h>
#include <sys/stat.h>

namespace kiln::master {

namespace asio = boost::asio;
using local = asio::local::stream_protocol;

namespace {

constexpr std::size_t kMaxRequestBytes = 1024 * 1024;

boost::json::object error_reply(const std::string& message) {
    return {{"ok", false}, {"error", message}};
}

std::string string_field(const boost::json::object& request, std::string_view key) {
    const auto* value = request.if_contains(key);
    return value && value->is_string() ? std::string(value->get_string()) : std::string();
}

asio::awaitable<boost::json::object> handle(Master& master, const boost::json::object& request) {
    const auto command = string_field(request, "command");
    if (command == "status") {
        auto reply = master.status();
        reply["ok"] = true;
        co_return reply;
    }
    if (command == "stop") {
        std::optional<std::chrono::seconds> timeout;
        if (const auto* value = request.if_contains("timeout"); value && value->is_int64())
            timeout = std::chrono::seconds(value->get_int64());
        master.request_stop(timeout);
        co_return boost::json::object{{"ok", true}};
    }
    if (command == "reconfig") {
        auto changes = co_await master.reconfig();
        if (!changes) co_return error_reply(changes.error().message);
        boost::json::array list;
        for (const auto& change : *changes)
            list.emplace_back(change);
        co_return boost::json::object{{"ok", true}, {"changes", std::move(list)}};
    }
    if (command == "force") {
        ForceRequest force;
        force.builder = string_field(request, "builder");
        force.scheduler = string_field(request, "scheduler");
        force.reason = string_field(request, "reason");
        force.owner = string_field(request, "owner");
        if (const auto* properties = request.if_contains("properties");
            properties && properties->is_array())
            for (const auto& pair : properties->get_array())
                if (pair.is_array() && pair.get_array().size() == 2 &&
                    pair.get_array()[0].is_string() && pair.get_array()[1].is_string())
                    force.properties.emplace_back(std::string(pair.get_array()[0].get_string()),
                                                  std::string(pair.get_array()[1].get_string()));
        auto result = co_await master.force(std::move(force));
        if (!result) co_return error_reply(result.error().message);
        boost::json::array requests(result->buildrequestids.begin(), result->buildrequestids.end());
        co_return boost::json::object{
            {"ok", true}, {"bsid", result->bsid}, {"buildrequestids", std::move(requests)}};
    }
    if (command == "worker") {
        auto done = co_await master.control_worker(string_field(request, "name"),
                                                   string_field(request, "action"));
        if (!done) co_return error_reply(done.error().message);
        co_return boost::json::object{{"ok", true}};
    }
    co_return error_reply("unknown command '" + command + "'");
}

asio::awaitable<void> serve(local::socket socket, Master& master) {
    asio::streambuf buffer(kMaxRequestBytes);
    auto [ec, length] =
        co_await asio::async_read_until(socket, buffer, '\n', asio::as_tuple(asio::use_awaitable));
    boost::json::object reply;
    if (ec) {
        reply = error_reply("request too long or connection closed");
    } else {
        std::string line(asio::buffers_begin(buffer.data()),
                         asio::buffers_begin(buffer.data()) + static_cast<std::ptrdiff_t>(length));
        boost::system::error_code parse_error;
        auto request = boost::json::parse(line, parse_error);
        if (parse_error || !request.is_object())
            reply = error_reply("the request must be one JSON object");
        else
            reply = co_await handle(master, request.as_object());
    }
    auto text = boost::json::serialize(reply) + "\n";
    co_await asio::async_write(socket, asio::buffer(text), asio::as_tuple(asio::use_awaitable));
}

}  // namespace

struct ControlServer::State {
    State(asio::any_io_executor executor, std::filesystem::path socket_path, Master& owner)
        : path(std::move(socket_path))
        , acceptor(executor)
        , master(owner)
        , tasks(executor, [](std::exception_ptr error) {
            try {
                std::rethrow_exception(error);
            } catch (const std::exception& failure) {
                spdlog::warn("control connection failed: {}", failure.what());
            }
        }) {}
    std::filesystem::path path;
    local::acceptor acceptor;
    Master& master;
    io::TaskGroup tasks;
};

ControlServer::ControlServer(asio::any_io_executor executor,
                             const std::filesystem::path& master_dir, Master& master)
    : state_(std::make_shared<State>(executor, master_dir / kControlSocketName, master)) {
    std::error_code ignored;
    std::filesystem::remove(state_->path, ignored);
    const auto old_mask = ::umask(0077);
    try {
        local::endpoint endpoint(state_->path.string());
        state_->acceptor.open(endpoint.protocol());
        state_->acceptor.bind(endpoint);
        state_->acceptor.listen();
    } catch (...) {
        ::umask(old_mask);
        throw;
    }
    ::umask(old_mask);
    std::filesystem::permissions(state_->path, std::filesystem::perms::owner_read |
                                                   std::filesystem::perms::owner_write);
}

ControlServer::~ControlServer() {
    std::error_code ignored;
    std::filesystem::remove(state_->path, ignored);
}

asio::awaitable<void> ControlServer::run() {
    auto state = state_;
    for (;;) {
        auto [ec, socket] =
            co_await state->acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
        if (ec == asio::error::operation_aborted || !state->acceptor.is_open()) break;
        if (ec) continue;
        state->tasks.spawn(serve(std::move(socket), state->master));
    }
    co_await state->tasks.wait();
}

void ControlServer::stop() {
    boost::system::error_code ignored;
    state_->acceptor.close(ignored);
    state_->tasks.cancel();
}

core::Expected<boost::json::object> control_request(const std::filesystem::path& master_dir,
                                                    const boost::json::object& request,
                                                    std::chrono::seconds timeout) {
    asio::io_context io;
    local::socket socket(io);
    boost::system::error_code ec;
    const auto path = (master_dir / kControlSocketName).string();
    socket.connect(local::endpoint(path), ec);
    if (ec)
        return core::fail(core::ErrorKind::unavailable, "no master is running in " +
                                                            master_dir.string() + " (" + path +
                                                            ": " + ec.message() + ")");
    const auto text = boost::json::serialize(request) + "\n";
    asio::write(socket, asio::buffer(text), ec);
    if (ec)
        return core::fail(core::ErrorKind::unavailable, "sending to the master: " + ec.message());
    // The read is bounded by a timer running on the same io_context.
    asio::steady_timer timer(io);
    timer.expires_after(timeout);
    bool timed_out = false;
    timer.async_wait([&](boost::system::error_code wait_error) {
        if (!wait_error) {
            timed_out = true;
            socket.close();
        }
    });
    asio::streambuf buffer(kMaxRequestBytes);
    std::size_t length = 0;
    boost::system::error_code read_error;
    asio::async_read_until(socket, buffer, '\n', [&](boost::system::error_code e, std::size_t n) {
        read_error = e;
        length = n;
        timer.cancel();
    });
    io.run();
    if (timed_out)
        return core::fail(core::ErrorKind::unavailable, "the master did not answer in time");
    if (read_error)
        return core::fail(core::ErrorKind::unavailable,
                          "reading the master's reply: " + read_error.message());
    std::string line(asio::buffers_begin(buffer.data()),
                     asio::buffers_begin(buffer.data()) + static_cast<std::ptrdiff_t>(length));
    auto reply = boost::json::parse(line, ec);
    if (ec || !reply.is_object())
        return core::fail(core::ErrorKind::internal, "the master's reply is not JSON");
    return reply.as_object();
}

}  // namespace kiln::master
