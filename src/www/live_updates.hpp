// SPDX-License-Identifier: Apache-2.0
// LiveUpdates: Buildbot's live-update channels over the bus, as the HTTP router serves them:
// the /ws WebSocket protocol (WsSession) and the /sse event streams (SseStreams). Every client
// has a bounded outbound queue and its own visibility predicate; each event is serialised once
// for all clients.
#pragma once

#include "bus/bus.hpp"
#include "io/http_server.hpp"
#include "io/websocket.hpp"
#include "www/event_frames.hpp"
#include "www/live_options.hpp"
#include "www/sse_streams.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

namespace kiln::www {

class LiveUpdates {
public:
    // `executor` is the domain executor: the bus's, and the one the HTTP server runs its
    // connections on. The bus must outlive every client served.
    LiveUpdates(boost::asio::any_io_executor executor, bus::Bus& bus, LiveOptions options = {});
    // Ends every open session and stream (as close_all()).
    ~LiveUpdates();
    LiveUpdates(const LiveUpdates&) = delete;
    LiveUpdates& operator=(const LiveUpdates&) = delete;

    // Serves one accepted /ws connection until it ends (HttpServer's on_websocket hook). A lost
    // connection or a dropped client is a normal end. Call it on the domain executor.
    boost::asio::awaitable<void>
    serve_websocket(std::unique_ptr<io::WebSocketConnection> connection,
                    EventVisibility visibility = {});

    // Answers a GET whose path is /sse or starts with /sse/ (404 for any other path): the
    // event stream of /sse and /sse/listen/..., or the replies of /sse/add/... and
    // /sse/remove/.... `visibility` applies to a stream this request opens.
    io::HttpResponse serve_sse(const io::HttpRequest& request, EventVisibility visibility = {});
    // The same with the path after "/sse" ("", "/listen/builds/*/*", ...).
    io::HttpResponse serve_sse(std::string_view path_after_sse, EventVisibility visibility = {});

    // For shutdown: ends every session (Close 1001 after the frames already queued) and
    // stream, and ends new ones at once.
    void close_all();

    std::size_t open_websockets() const;
    // Bytes queued for all /ws clients together (each client's share is bounded).
    std::size_t queued_websocket_bytes() const;
    std::size_t open_sse_streams() const { return sse_.open_streams(); }
    // Clients dropped for falling behind past their queue's bounds, since the start.
    std::uint64_t dropped_websockets() const;
    std::uint64_t dropped_sse_streams() const { return sse_.dropped_streams(); }
    // Payload serialisations so far (one per event, however many clients receive it).
    std::uint64_t payload_serialisations() const { return frames_->payload_serialisations(); }

private:
    struct Sessions;
    bus::Bus& bus_;
    LiveOptions options_;
    std::shared_ptr<EventFrames> frames_;
    std::shared_ptr<Sessions> sessions_;
    SseStreams sse_;
};

}  // namespace kiln::www
