// SPDX-License-Identifier: Apache-2.0
// Bus: the in-process event bus. data/ publishes each committed change under Buildbot's
// routing keys ("builds/7/finished" as {"builds","7","finished"}); services and live-update
// clients subscribe with filters of the same length where "*" matches any one segment.
// Single-threaded: publish and subscribe on the domain executor only.
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

namespace kiln::bus {

using RoutingKey = std::vector<std::string>;

// Splits "builds/*/finished" into its segments.
RoutingKey parse_key(std::string_view path);
std::string format_key(const RoutingKey& key);
// True when the filter has the key's length and every segment is "*" or equal.
bool matches(const RoutingKey& filter, const RoutingKey& key);

struct Message {
    RoutingKey key;
    // Shared between all keys one event is published under and all subscribers.
    std::shared_ptr<const boost::json::object> payload;
};

using Handler = std::function<void(const Message&)>;

class Bus;

// Unsubscribes when destroyed (or reset). Movable, not copyable.
class Subscription {
public:
    Subscription() = default;
    Subscription(Subscription&& other) noexcept;
    Subscription& operator=(Subscription&& other) noexcept;
    Subscription(const Subscription&) = delete;
    Subscription& operator=(const Subscription&) = delete;
    ~Subscription() { reset(); }
    void reset();
    bool is_active() const { return static_cast<bool>(token_); }

private:
    friend class Bus;
    struct Token;
    explicit Subscription(std::shared_ptr<Token> token)
        : token_(std::move(token)) {}
    std::shared_ptr<Token> token_;
};

class Bus {
public:
    Bus();
    ~Bus();
    Bus(const Bus&) = delete;
    Bus& operator=(const Bus&) = delete;

    // Calls every matching handler now, in subscription order. A handler may publish,
    // subscribe or unsubscribe; a subscriber removed during delivery gets nothing more.
    void publish(const RoutingKey& key, std::shared_ptr<const boost::json::object> payload);
    // Publishes one payload under several keys (Buildbot announces most events so).
    void publish(const std::vector<RoutingKey>& keys, boost::json::object payload);

    Subscription subscribe(RoutingKey filter, Handler handler);

    std::uint64_t published_count() const { return published_; }
    std::size_t subscriber_count() const;

private:
    friend class Subscription;
    struct Subscriber;
    std::shared_ptr<std::list<std::shared_ptr<Subscriber>>> subscribers_;
    std::uint64_t published_ = 0;
};

}  // namespace kiln::bus
