// SPDX-License-Identifier: Apache-2.0
#include "data/events.hpp"

#include <string>

namespace kiln::data {
namespace {
std::string s(Id id) { return std::to_string(id); }
}  // namespace

void announce(bus::Bus& bus, const Build& build, std::string_view event) {
    const std::string e(event);
    std::vector<bus::RoutingKey> keys{
        {"builds", s(build.buildid), e},
        {"builders", s(build.builderid), "builds", s(build.number), e}};
    if (build.workerid)
        keys.push_back({"workers", s(*build.workerid), "builds", s(build.buildid), e});
    bus.publish(keys, build.to_json());
}

void announce(bus::Bus& bus, const Step& step, std::string_view event) {
    const std::string e(event);
    bus.publish(
        {{"builds", s(step.buildid), "steps", s(step.stepid), e}, {"steps", s(step.stepid), e}},
        step.to_json());
}

void announce(bus::Bus& bus, const Log& log, std::string_view event) {
    const std::string e(event);
    bus.publish({{"logs", s(log.logid), e}, {"steps", s(log.stepid), "logs", log.slug, e}},
                log.to_json());
}

void announce(bus::Bus& bus, const BuildRequest& request, std::string_view event) {
    const std::string e(event);
    const auto id = s(request.buildrequestid);
    bus.publish({{"buildrequests", id, e},
                 {"builders", s(request.builderid), "buildrequests", id, e},
                 {"buildsets", s(request.buildsetid), "builders", s(request.builderid),
                  "buildrequests", id, e}},
                request.to_json());
}

void announce(bus::Bus& bus, const Worker& worker, std::string_view event) {
    bus.publish({{"workers", s(worker.workerid), std::string(event)}}, worker.to_json());
}

}  // namespace kiln::data
