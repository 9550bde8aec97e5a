// SPDX-License-Identifier: Apache-2.0
// EventFrames: turns bus messages into the bytes live-update clients receive, once per message
// for all of them. The bus hands one message to its subscribers one after the other, so a
// one-entry cache per kind (keyed by payload object and routing key) serves them all; the
// payload's own text is also kept, for the other keys the same payload is published under.
#pragma once

#include "bus/bus.hpp"
#include "www/outbound_queue.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace kiln::www {

class EventFrames {
public:
    // {"k":"builds/1/new","m":{...}}: a /ws event frame (compact, ensure_ascii).
    Frame websocket_frame(const bus::Message& message);
    // "event: event\ndata: {"key": ["builds", "1", "new"], "message": {...}}\n\n": an /sse
    // event with json.dumps' default separators.
    Frame sse_frame(const bus::Message& message);

    // How many times a payload was serialised (tests check that subscribers share the work).
    std::uint64_t payload_serialisations() const { return serialisations_; }

private:
    struct PayloadText {
        const boost::json::object* payload = nullptr;
        std::weak_ptr<const boost::json::object> owner;  // expired: the address may be reused
        std::string text;
    };
    struct CachedFrame {
        const boost::json::object* payload = nullptr;
        std::weak_ptr<const boost::json::object> owner;
        bus::RoutingKey key;
        Frame frame;
    };

    const std::string& payload_text(PayloadText& cache, const bus::Message& message, bool compact);
    static bool is_cached(const CachedFrame& cache, const bus::Message& message);
    static void remember(CachedFrame& cache, const bus::Message& message, Frame frame);

    PayloadText compact_payload_;
    PayloadText python_payload_;
    CachedFrame websocket_;
    CachedFrame sse_;
    std::uint64_t serialisations_ = 0;
};

}  // namespace kiln::www
