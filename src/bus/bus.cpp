// SPDX-License-Identifier: Apache-2.0
#include "bus/bus.hpp"

namespace kiln::bus {

struct Bus::Subscriber {
    RoutingKey filter;
    Handler handler;
    bool active = true;
};

struct Subscription::Token {
    std::weak_ptr<std::list<std::shared_ptr<Bus::Subscriber>>> list;
    std::shared_ptr<Bus::Subscriber> subscriber;
    ~Token() {
        subscriber->active = false;
        if (auto owner = list.lock()) owner->remove(subscriber);
    }
};

RoutingKey parse_key(std::string_view path) {
    RoutingKey key;
    std::size_t start = 0;
    while (true) {
        auto slash = path.find('/', start);
        key.emplace_back(
            path.substr(start, slash == std::string_view::npos ? path.npos : slash - start));
        if (slash == std::string_view::npos) break;
        start = slash + 1;
    }
    return key;
}

std::string format_key(const RoutingKey& key) {
    std::string text;
    for (const auto& segment : key) {
        if (!text.empty()) text += '/';
        text += segment;
    }
    return text;
}

bool matches(const RoutingKey& filter, const RoutingKey& key) {
    if (filter.size() != key.size()) return false;
    for (std::size_t i = 0; i < key.size(); ++i)
        if (filter[i] != "*" && filter[i] != key[i]) return false;
    return true;
}

Subscription::Subscription(Subscription&& other) noexcept
    : token_(std::move(other.token_)) {}

Subscription& Subscription::operator=(Subscription&& other) noexcept {
    if (this != &other) {
        reset();
        token_ = std::move(other.token_);
    }
    return *this;
}

void Subscription::reset() { token_.reset(); }

Bus::Bus()
    : subscribers_(std::make_shared<std::list<std::shared_ptr<Subscriber>>>()) {}

Bus::~Bus() = default;

void Bus::publish(const RoutingKey& key, std::shared_ptr<const boost::json::object> payload) {
    ++published_;
    // Deliver to a snapshot so handlers may (un)subscribe while we iterate.
    std::vector<std::shared_ptr<Subscriber>> targets;
    for (const auto& subscriber : *subscribers_)
        if (matches(subscriber->filter, key)) targets.push_back(subscriber);
    if (targets.empty()) return;
    const Message message{key, std::move(payload)};
    for (const auto& subscriber : targets)
        if (subscriber->active) subscriber->handler(message);
}

void Bus::publish(const std::vector<RoutingKey>& keys, boost::json::object payload) {
    auto shared = std::make_shared<const boost::json::object>(std::move(payload));
    for (const auto& key : keys)
        publish(key, shared);
}

Subscription Bus::subscribe(RoutingKey filter, Handler handler) {
    auto subscriber =
        std::make_shared<Subscriber>(Subscriber{std::move(filter), std::move(handler)});
    subscribers_->push_back(subscriber);
    auto token = std::make_shared<Subscription::Token>();
    token->list = subscribers_;
    token->subscriber = std::move(subscriber);
    return Subscription(std::move(token));
}

std::size_t Bus::subscriber_count() const { return subscribers_->size(); }

}  // namespace kiln::bus
