// SPDX-License-Identifier: Apache-2.0
#include "www/live_updates.hpp"

#include "www/ws_session.hpp"

#include <exception>
#include <list>
#include <utility>

#include <boost/asio/this_coro.hpp>

namespace kiln::www {

namespace asio = boost::asio;

// The open /ws sessions. Shared with the serving coroutines, which may end after this object.
struct LiveUpdates::Sessions {
    std::list<WsSession*> open;
    std::uint64_t dropped = 0;
    bool is_closed = false;
};

LiveUpdates::LiveUpdates(asio::any_io_executor executor, bus::Bus& bus, LiveOptions options)
    : bus_(bus)
    , options_(options)
    , frames_(std::make_shared<EventFrames>())
    , sessions_(std::make_shared<Sessions>())
    , sse_(executor, bus, frames_, options) {}

LiveUpdates::~LiveUpdates() { close_all(); }

asio::awaitable<void>
LiveUpdates::serve_websocket(std::unique_ptr<io::WebSocketConnection> connection,
                             EventVisibility visibility) {
    // Copies, so that the session's references stay valid should this object go first.
    auto sessions = sessions_;
    auto frames = frames_;
    auto options = std::make_shared<const LiveOptions>(options_);
    auto& bus = bus_;
    const auto executor = co_await asio::this_coro::executor;
    WsSession session(executor, bus, *frames, *connection, std::move(visibility), *options);
    if (sessions->is_closed) session.close();
    const auto entry = sessions->open.insert(sessions->open.end(), &session);
    std::exception_ptr failure;
    try {
        co_await session.run();
    } catch (...) {
        failure = std::current_exception();  // rethrown below, after the cleanup
    }
    sessions->open.erase(entry);
    if (session.was_dropped()) ++sessions->dropped;
    if (failure) std::rethrow_exception(failure);
}

io::HttpResponse LiveUpdates::serve_sse(const io::HttpRequest& request,
                                        EventVisibility visibility) {
    constexpr std::string_view kPrefix = "/sse";
    const std::string_view target = request.target;
    const auto path = target.substr(0, target.find('?'));
    if (!path.starts_with(kPrefix) ||
        (path.size() > kPrefix.size() && path[kPrefix.size()] != '/')) {
        io::HttpResponse response;
        response.status = 404;
        response.headers.push_back({"Content-Type", "text/plain; charset=utf-8"});
        response.body = "not found";
        return response;
    }
    return serve_sse(path.substr(kPrefix.size()), std::move(visibility));
}

io::HttpResponse LiveUpdates::serve_sse(std::string_view path_after_sse,
                                        EventVisibility visibility) {
    return sse_.handle(path_after_sse, std::move(visibility));
}

void LiveUpdates::close_all() {
    sessions_->is_closed = true;
    for (auto* session : sessions_->open)
        session->close(kGoingAwayCloseCode);
    sse_.end_all();
}

std::size_t LiveUpdates::open_websockets() const { return sessions_->open.size(); }

std::size_t LiveUpdates::queued_websocket_bytes() const {
    std::size_t bytes = 0;
    for (const auto* session : sessions_->open)
        bytes += session->queued_bytes();
    return bytes;
}

std::uint64_t LiveUpdates::dropped_websockets() const { return sessions_->dropped; }

}  // namespace kiln::www
