// SPDX-License-Identifier: Apache-2.0
#include "www/event_frames.hpp"

#include "www/live_json.hpp"

#include <utility>

#include <boost/json/object.hpp>

namespace kiln::www {
namespace {

bool is_same_payload(const boost::json::object* cached,
                     const std::weak_ptr<const boost::json::object>& owner,
                     const bus::Message& message) {
    // A null payload (never published by data/, but allowed by the bus) is never cached.
    return cached != nullptr && cached == message.payload.get() && !owner.expired();
}

}  // namespace

const std::string& EventFrames::payload_text(PayloadText& cache, const bus::Message& message,
                                             bool compact) {
    if (is_same_payload(cache.payload, cache.owner, message)) return cache.text;
    cache.text.clear();
    if (message.payload)
        append_live_json(cache.text, *message.payload,
                         compact ? LiveJsonStyle::compact : LiveJsonStyle::python);
    else
        cache.text = "null";
    cache.payload = message.payload.get();
    cache.owner = message.payload;
    ++serialisations_;
    return cache.text;
}

bool EventFrames::is_cached(const CachedFrame& cache, const bus::Message& message) {
    return is_same_payload(cache.payload, cache.owner, message) && cache.key == message.key;
}

void EventFrames::remember(CachedFrame& cache, const bus::Message& message, Frame frame) {
    cache.payload = message.payload.get();
    cache.owner = message.payload;
    cache.key = message.key;
    cache.frame = std::move(frame);
}

Frame EventFrames::websocket_frame(const bus::Message& message) {
    if (is_cached(websocket_, message)) return websocket_.frame;
    const auto& payload = payload_text(compact_payload_, message, true);
    std::string text;
    text.reserve(payload.size() + 64);
    text += "{\"k\":";
    append_live_json_string(text, bus::format_key(message.key));
    text += ",\"m\":";
    text += payload;
    text += '}';
    auto frame = std::make_shared<const std::string>(std::move(text));
    remember(websocket_, message, frame);
    return frame;
}

Frame EventFrames::sse_frame(const bus::Message& message) {
    if (is_cached(sse_, message)) return sse_.frame;
    const auto& payload = payload_text(python_payload_, message, false);
    std::string text;
    text.reserve(payload.size() + 96);
    text += "event: event\ndata: {\"key\": [";
    for (std::size_t i = 0; i < message.key.size(); ++i) {
        if (i != 0) text += ", ";
        append_live_json_string(text, message.key[i]);
    }
    text += "], \"message\": ";
    text += payload;
    text += "}\n\n";
    auto frame = std::make_shared<const std::string>(std::move(text));
    remember(sse_, message, frame);
    return frame;
}

}  // namespace kiln::www
