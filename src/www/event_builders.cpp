// SPDX-License-Identifier: Apache-2.0
#include "www/event_builders.hpp"

#include <algorithm>
#include <exception>
#include <string_view>
#include <utility>

namespace kiln::www {

namespace {

std::optional<data::Id> integer(const boost::json::object& payload, std::string_view key) {
    const auto* value = payload.if_contains(key);
    if (value && value->is_int64()) return value->get_int64();
    return std::nullopt;
}

std::optional<data::Id> parse_id(const std::string& text) {
    try {
        return std::stoll(text);
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

std::optional<data::Id> find(const std::unordered_map<data::Id, data::Id>& map, data::Id key) {
    auto found = map.find(key);
    if (found == map.end()) return std::nullopt;
    return found->second;
}

void remember(std::unordered_map<data::Id, data::Id>& map, data::Id key, data::Id value) {
    if (map.size() >= EventBuilders::kMaxEntries) map.clear();
    map[key] = value;
}

}  // namespace

EventBuilders::EventBuilders(bus::Bus& bus) {
    // Build requests are announced before their buildset: they say whose it is.
    for (const char* filter :
         {"builds/*/*", "steps/*/*", "logs/*/*", "builders/*/*", "buildrequests/*/*"})
        subscriptions_.push_back(
            bus.subscribe(bus::parse_key(filter), [this](const bus::Message& m) { learn(m); }));
}

std::vector<std::string> EventBuilders::builders_of_buildset(const bus::Message& message) const {
    std::vector<std::string> names;
    if (message.key.size() < 2 || message.key[0] != "buildsets") return names;
    auto bsid = parse_id(message.key[1]);
    if (!bsid) return names;
    auto found = buildset_builders_.find(*bsid);
    if (found == buildset_builders_.end()) return names;
    for (auto builderid : found->second)
        if (auto name = names_.find(builderid); name != names_.end()) names.push_back(name->second);
    return names;
}

std::optional<std::string> EventBuilders::builder_of(const bus::Message& message) const {
    const auto& payload = *message.payload;
    std::optional<data::Id> builderid = integer(payload, "builderid");
    if (!builderid) {
        auto buildid = integer(payload, "buildid");
        if (!buildid && message.key.size() >= 2 && message.key[0] == "builds")
            buildid = parse_id(message.key[1]);
        if (!buildid)
            if (auto stepid = step_of(payload)) buildid = find(step_build_, *stepid);
        if (buildid) builderid = find(build_builder_, *buildid);
    }
    if (!builderid) return std::nullopt;
    auto name = names_.find(*builderid);
    if (name == names_.end()) return std::nullopt;
    return name->second;
}

std::optional<data::Id> EventBuilders::step_of(const boost::json::object& payload) const {
    if (auto stepid = integer(payload, "stepid")) return stepid;
    if (auto logid = integer(payload, "logid")) return find(log_step_, *logid);
    return std::nullopt;
}

void EventBuilders::learn(const bus::Message& message) {
    const auto& payload = *message.payload;
    auto builderid = integer(payload, "builderid");
    auto buildid = integer(payload, "buildid");
    auto stepid = integer(payload, "stepid");
    auto logid = integer(payload, "logid");
    if (message.key[0] == "builders" && builderid) {
        if (const auto* name = payload.if_contains("name"); name && name->is_string())
            names_[*builderid] = std::string(name->get_string());
    }
    if (buildid && builderid) remember(build_builder_, *buildid, *builderid);
    if (stepid && buildid) remember(step_build_, *stepid, *buildid);
    if (logid && stepid) remember(log_step_, *logid, *stepid);
    if (message.key[0] == "buildrequests" && builderid) {
        if (auto bsid = integer(payload, "buildsetid")) {
            if (buildset_builders_.size() >= kMaxEntries) buildset_builders_.clear();
            auto& builders = buildset_builders_[*bsid];
            if (std::find(builders.begin(), builders.end(), *builderid) == builders.end())
                builders.push_back(*builderid);
        }
    }
}

}  // namespace kiln::www
