// SPDX-License-Identifier: Apache-2.0
// What the live-update channels (/ws and /sse) are configured with: the per-client bounds and
// the visibility predicate through which the authorizer hides events from a client.
#pragma once

#include "bus/bus.hpp"
#include "www/outbound_queue.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>

namespace kiln::www {

// True when the client may see this event. Decided per connection (or stream) by the
// authorizer; called on the domain executor for every event matching one of the client's
// subscriptions, so it must be quick. Empty: every event is visible. An exception counts as
// "not visible" (and is logged).
using EventVisibility = std::function<bool(const bus::Message&)>;

// The WebSocket close code a client gets when it fell behind past its queue's bounds: events
// were lost, so it must fetch current state again (REST) and subscribe anew. 4000-4999 is the
// range RFC 6455 leaves to applications.
inline constexpr std::uint16_t kResynchroniseCloseCode = 4000;
// The close code of sessions ended because the server stops (RFC 6455 "going away").
inline constexpr std::uint16_t kGoingAwayCloseCode = 1001;

struct LiveOptions {
    // Bounds of each client's queue of frames not yet written to its socket.
    QueueLimits queue;
    // Distinct subscription paths per /ws connection or /sse stream.
    std::size_t max_subscriptions = 1000;
    // How long a dropped or closed client may take to accept its Close frame (a client that
    // stopped reading never does) before its TCP connection is cut.
    std::chrono::milliseconds close_timeout{5000};
};

}  // namespace kiln::www
