// SPDX-License-Identifier: Apache-2.0
#include "www/sse_streams.hpp"

#include "www/detail/path_subscriptions.hpp"
#include "www/random_uuid.hpp"

#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include <spdlog/spdlog.h>

namespace kiln::www {
namespace {

namespace asio = boost::asio;

// A body piece gathers the events already waiting, up to about this size.
constexpr std::size_t kMaxPieceBytes = 64 * 1024;

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Twisted unquotes each path segment ("%2A" is "*"); a malformed escape stays as it is.
std::string percent_decode(std::string_view text) {
    std::string decoded;
    decoded.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size()) {
            const int high = hex_value(text[i + 1]);
            const int low = hex_value(text[i + 2]);
            if (high >= 0 && low >= 0) {
                decoded += static_cast<char>(high * 16 + low);
                i += 2;
                continue;
            }
        }
        decoded += text[i];
    }
    return decoded;
}

// The segments after "/sse", as Twisted's request.postpath has them.
std::vector<std::string> segments_of(std::string_view path) {
    std::vector<std::string> segments;
    if (path.empty()) return segments;
    if (path.front() == '/') path.remove_prefix(1);
    std::size_t start = 0;
    while (true) {
        const auto slash = path.find('/', start);
        const auto end = slash == std::string_view::npos ? path.size() : slash;
        segments.push_back(percent_decode(path.substr(start, end - start)));
        if (slash == std::string_view::npos) break;
        start = slash + 1;
    }
    return segments;
}

std::string join(std::vector<std::string>::const_iterator first,
                 std::vector<std::string>::const_iterator last) {
    std::string text;
    for (auto it = first; it != last; ++it) {
        if (it != first) text += '/';
        text += *it;
    }
    return text;
}

io::HttpResponse plain(int status, std::string body) {
    io::HttpResponse response;
    response.status = status;
    response.headers.push_back({"Content-Type", "text/plain; charset=utf-8"});
    response.body = std::move(body);
    return response;
}

}  // namespace

// One open event stream: its subscriptions, its queue and the uuid add/remove name it by.
class SseStream {
public:
    SseStream(asio::any_io_executor executor, bus::Bus& bus, std::shared_ptr<EventFrames> frames,
              EventVisibility visibility, const LiveOptions& options, std::string uuid,
              std::weak_ptr<SseStreams::Registry> registry)
        : bus_(bus)
        , frames_(std::move(frames))
        , visibility_(std::move(visibility))
        , options_(options)
        , uuid_(std::move(uuid))
        , registry_(std::move(registry))
        , queue_(std::move(executor), options.queue)
        , subscriptions_(options.max_subscriptions) {}
    ~SseStream();
    SseStream(const SseStream&) = delete;
    SseStream& operator=(const SseStream&) = delete;

    const std::string& uuid() const { return uuid_; }

    detail::PathSubscriptions::Added subscribe(const std::string& path) {
        if (queue_.has_ended()) return detail::PathSubscriptions::Added::subscribed;
        return subscriptions_.add(bus_, path,
                                  [this](const bus::Message& message) { on_event(message); });
    }
    void unsubscribe(const std::string& path) { subscriptions_.remove(path); }

    void end() {
        subscriptions_.clear();
        queue_.end();
    }

    // The body's pieces: the handshake, then the queued events; nullopt ends the body. The
    // coroutine holds the stream, so the producer may be destroyed while it waits.
    static asio::awaitable<std::optional<std::string>> next_piece(std::shared_ptr<SseStream> self);

private:
    void on_event(const bus::Message& message);
    bool is_visible(const bus::Message& message) const;

    bus::Bus& bus_;
    std::shared_ptr<EventFrames> frames_;
    EventVisibility visibility_;
    LiveOptions options_;
    std::string uuid_;
    std::weak_ptr<SseStreams::Registry> registry_;
    OutboundQueue queue_;
    detail::PathSubscriptions subscriptions_;
    bool has_sent_handshake_ = false;
};

struct SseStreams::Registry {
    std::unordered_map<std::string, SseStream*> streams;
    std::uint64_t dropped = 0;
    bool is_ended = false;
};

SseStream::~SseStream() {
    if (auto registry = registry_.lock()) registry->streams.erase(uuid_);
}

asio::awaitable<std::optional<std::string>> SseStream::next_piece(std::shared_ptr<SseStream> self) {
    if (!self->has_sent_handshake_) {
        self->has_sent_handshake_ = true;
        std::string handshake = "event: handshake\ndata: " + self->uuid_ + "\n\n";
        co_return handshake;
    }
    auto frame = co_await self->queue_.next();
    if (!frame) {
        // Ended: a client that reconnects gets a new uuid, so this one is forgotten now.
        self->subscriptions_.clear();
        if (auto registry = self->registry_.lock()) registry->streams.erase(self->uuid_);
        co_return std::nullopt;
    }
    std::string piece = *frame;
    frame.reset();
    while (piece.size() < kMaxPieceBytes) {
        auto more = self->queue_.try_next();
        if (!more) break;
        piece += *more;
    }
    co_return piece;
}

void SseStream::on_event(const bus::Message& message) {
    if (!is_visible(message)) return;
    if (queue_.push(frames_->sse_frame(message))) return;
    spdlog::info("sse {}: ended: more than {} events or {} bytes waiting to be sent", uuid_,
                 options_.queue.max_frames, options_.queue.max_bytes);
    subscriptions_.clear();
    if (auto registry = registry_.lock()) ++registry->dropped;
}

bool SseStream::is_visible(const bus::Message& message) const {
    if (!visibility_) return true;
    try {
        return visibility_(message);
    } catch (const std::exception& failure) {
        spdlog::warn("sse {}: the visibility check failed for {} (event withheld): {}", uuid_,
                     bus::format_key(message.key), failure.what());
        return false;
    }
}

SseStreams::SseStreams(asio::any_io_executor executor, bus::Bus& bus,
                       std::shared_ptr<EventFrames> frames, LiveOptions options)
    : executor_(std::move(executor))
    , bus_(bus)
    , frames_(std::move(frames))
    , options_(options)
    , registry_(std::make_shared<Registry>()) {}

SseStreams::~SseStreams() { end_all(); }

void SseStreams::end_all() {
    registry_->is_ended = true;
    // end() does not touch the registry, so iterating is safe.
    for (auto& [uuid, stream] : registry_->streams)
        stream->end();
}

std::size_t SseStreams::open_streams() const { return registry_->streams.size(); }

std::uint64_t SseStreams::dropped_streams() const { return registry_->dropped; }

io::HttpResponse SseStreams::handle(std::string_view path, EventVisibility visibility) {
    auto segments = segments_of(path);
    if (!segments.empty() && segments.back().empty()) segments.pop_back();
    std::string command = "listen";
    auto first = segments.cbegin();
    if (first != segments.cend() && (*first == "listen" || *first == "add" || *first == "remove"))
        command = *first++;

    if (command != "listen") {
        // Buildbot appends a Twisted error page to these bodies; Kiln sends the text alone.
        if (first == segments.cend()) return plain(400, "need uuid");
        const auto found = registry_->streams.find(*first++);
        if (found == registry_->streams.end()) return plain(400, "unknown uuid");
        auto& stream = *found->second;
        const auto filter = join(first, segments.cend());
        if (command == "remove") {
            // Like Buildbot, removing a path twice still says ok.
            stream.unsubscribe(filter);
            return plain(200, "ok");
        }
        // An empty filter matches no routing key: nothing to subscribe.
        if (first != segments.cend() &&
            stream.subscribe(filter) == detail::PathSubscriptions::Added::too_many)
            return plain(400, "too many subscriptions: at most " +
                                  std::to_string(options_.max_subscriptions) + " paths per stream");
        return plain(200, "ok");
    }

    if (registry_->is_ended) return plain(503, "shutting down");
    auto stream = std::make_shared<SseStream>(executor_, bus_, frames_, std::move(visibility),
                                              options_, random_uuid(), registry_);
    if (first != segments.cend()) stream->subscribe(join(first, segments.cend()));
    registry_->streams.emplace(stream->uuid(), stream.get());

    io::HttpResponse response;
    response.status = 200;
    response.headers.push_back({"Content-Type", "text/event-stream"});
    response.headers.push_back({"Cache-Control", "no-cache"});
    response.stream = [stream] { return SseStream::next_piece(stream); };
    return response;
}

}  // namespace kiln::www
