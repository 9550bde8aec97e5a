// SPDX-License-Identifier: Apache-2.0
// PathSubscriptions: one client's bus subscriptions, keyed by the path text it subscribed with
// ("builds/*/*"), at most one per path and at most a given number in all.
#pragma once

#include "bus/bus.hpp"

#include <cstddef>
#include <map>
#include <string>
#include <utility>

namespace kiln::www::detail {

class PathSubscriptions {
public:
    enum class Added { subscribed, already_subscribed, too_many };

    explicit PathSubscriptions(std::size_t limit)
        : limit_(limit) {}

    // Subscribes `handler` to the filter the path spells ("*" = any one segment), unless the
    // same path text is already subscribed or the limit is reached.
    Added add(bus::Bus& bus, const std::string& path, bus::Handler handler) {
        if (subscriptions_.contains(path)) return Added::already_subscribed;
        if (subscriptions_.size() >= limit_) return Added::too_many;
        subscriptions_.emplace(path, bus.subscribe(bus::parse_key(path), std::move(handler)));
        return Added::subscribed;
    }

    // False when the path was not subscribed.
    bool remove(const std::string& path) { return subscriptions_.erase(path) != 0; }

    void clear() { subscriptions_.clear(); }
    std::size_t size() const { return subscriptions_.size(); }

private:
    std::size_t limit_;
    std::map<std::string, bus::Subscription, std::less<>> subscriptions_;
};

}  // namespace kiln::www::detail
