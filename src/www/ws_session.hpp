// SPDX-License-Identifier: Apache-2.0
// WsSession: one /ws connection speaking Buildbot's live-update protocol (rest-api.md §11.5):
// ping, startConsuming and stopConsuming with their exact replies and error texts, then event
// frames {"k":"builds/1/new","m":{...}} in publication order. Its frames wait in a bounded
// queue; a client that falls behind past the bound is dropped with close code 4000.
#pragma once

#include "bus/bus.hpp"
#include "io/websocket.hpp"
#include "www/detail/path_subscriptions.hpp"
#include "www/event_frames.hpp"
#include "www/live_options.hpp"
#include "www/outbound_queue.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/fwd.hpp>

namespace kiln::www {

class WsSession {
public:
    // Everything given must outlive the session. Runs on `executor`, which must be the bus's
    // (domain) executor and the connection's.
    WsSession(boost::asio::any_io_executor executor, bus::Bus& bus, EventFrames& frames,
              io::WebSocketConnection& connection, EventVisibility visibility,
              const LiveOptions& options);
    WsSession(const WsSession&) = delete;
    WsSession& operator=(const WsSession&) = delete;

    // Reads and answers frames and writes events until the connection ends, the client is
    // dropped or close() was called. A lost connection is a normal end, not an exception.
    boost::asio::awaitable<void> run();

    // Ends the session from outside (the server stops): subscriptions end at once, frames
    // already queued are written, then a Close frame with `code` follows.
    void close(std::uint16_t code = kGoingAwayCloseCode);

    bool was_dropped() const { return was_dropped_; }
    std::size_t subscription_count() const { return subscriptions_.size(); }
    // Bytes of frames waiting to be written (the one being written is not counted).
    std::size_t queued_bytes() const { return queue_.queued_bytes(); }

private:
    enum class Mode { undecided, buildbot, graphql };

    boost::asio::awaitable<void> read_frames();
    boost::asio::awaitable<void> write_frames();
    boost::asio::awaitable<void> enforce_close_timeout();

    void handle_frame(std::string_view text);
    void handle_command(boost::json::object& frame, const boost::json::value& id);
    void handle_graphql(const boost::json::object& frame, const boost::json::value& type);
    void start_consuming(const boost::json::value& path, const boost::json::value& id);
    void stop_consuming(const boost::json::value& path, const boost::json::value& id);

    void on_event(const bus::Message& message);
    bool is_visible(const bus::Message& message) const;
    void send(std::string text);
    void send_error(std::string_view error, int code, const boost::json::value& id);
    void drop_slow_client();
    void stop_consuming_everything();

    bus::Bus& bus_;
    EventFrames& frames_;
    io::WebSocketConnection& connection_;
    EventVisibility visibility_;
    const LiveOptions& options_;
    OutboundQueue queue_;
    detail::PathSubscriptions subscriptions_;
    Mode mode_ = Mode::undecided;
    bool was_dropped_ = false;
    std::optional<std::uint16_t> close_code_;  // set once the session is ending
    io::AsyncEvent ending_;
};

}  // namespace kiln::www
