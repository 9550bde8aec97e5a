// SPDX-License-Identifier: Apache-2.0
// SseStreams: Buildbot's Server-Sent Events channel (rest-api.md §11.6). GET /sse[/listen[/<path>]]
// opens a text/event-stream that starts with a handshake carrying the stream's uuid; GET
// /sse/add/<uuid>/<path> and /sse/remove/<uuid>/<path> change what an open stream receives.
// Each stream's events wait in a bounded queue; a stream that falls behind past the bound ends.
#pragma once

#include "bus/bus.hpp"
#include "io/http_server.hpp"
#include "www/event_frames.hpp"
#include "www/live_options.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>

namespace kiln::www {

class SseStream;

class SseStreams {
public:
    // Runs on `executor`, which must be the bus's (domain) executor and the HTTP server's.
    // The bus must outlive every stream; the streams themselves may outlive this object (the
    // HTTP server owns them through their responses).
    SseStreams(boost::asio::any_io_executor executor, bus::Bus& bus,
               std::shared_ptr<EventFrames> frames, LiveOptions options);
    // Ends every open stream.
    ~SseStreams();
    SseStreams(const SseStreams&) = delete;
    SseStreams& operator=(const SseStreams&) = delete;

    // Answers a GET below /sse. `path` is what follows "/sse" in the request path, still
    // percent-encoded: "", "/", "/listen/builds/*/*", "/add/<uuid>/workers/*/*". The query is
    // ignored. `visibility` filters the events of a stream this request opens.
    io::HttpResponse handle(std::string_view path, EventVisibility visibility = {});

    // Ends every open stream (their bodies end after what is already queued) and refuses new
    // ones with 503.
    void end_all();

    std::size_t open_streams() const;
    // Streams ended because they fell behind past their queue's bounds.
    std::uint64_t dropped_streams() const;

private:
    friend class SseStream;
    struct Registry;
    boost::asio::any_io_executor executor_;
    bus::Bus& bus_;
    std::shared_ptr<EventFrames> frames_;
    LiveOptions options_;
    std::shared_ptr<Registry> registry_;
};

}  // namespace kiln::www
