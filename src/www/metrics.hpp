// SPDX-License-Identifier: Apache-2.0
// Metrics: the master's Prometheus metrics, rendered in the text exposition format 0.0.4 for
// /metrics. Builds, steps and workers are counted from bus events as they are published, HTTP
// requests as the router answers them; what is read at scrape time (the build request queues,
// log bytes, the web server's and live updates' figures, the process) comes in ScrapeFigures.
#pragma once

#include "bus/bus.hpp"
#include "data/entities.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace kiln::www {

// A histogram with fixed upper bounds; the +Inf bucket is implicit.
class Histogram {
public:
    // bounds: ascending; must outlive the histogram (a static array).
    explicit Histogram(std::span<const double> bounds);
    void observe(double value);

    std::span<const double> bounds() const { return bounds_; }
    // Observations per bucket (not cumulative): one per bound, then the +Inf bucket.
    const std::vector<std::uint64_t>& counts() const { return counts_; }
    double sum() const { return sum_; }
    std::uint64_t count() const { return count_; }

private:
    std::span<const double> bounds_;
    std::vector<std::uint64_t> counts_;
    double sum_ = 0;
    std::uint64_t count_ = 0;
};

// The process's own figures (Linux /proc; a field stays empty where it cannot be read).
struct ProcessStats {
    std::optional<std::uint64_t> resident_memory_bytes;
    std::optional<double> cpu_seconds;         // user + system
    std::optional<double> start_time_seconds;  // since the Unix epoch
    std::optional<std::uint64_t> open_fds;
    std::optional<std::uint64_t> max_fds;
};
ProcessStats read_process_stats();

// What a scrape reads besides the counters Metrics keeps.
struct ScrapeFigures {
    std::vector<std::pair<std::string, std::int64_t>> pending_by_builder;
    std::uint64_t log_bytes_ingested = 0;
    std::size_t http_open_connections = 0;
    std::size_t websockets_open = 0;
    std::size_t sse_streams_open = 0;
    std::uint64_t websockets_dropped = 0;
    std::uint64_t sse_streams_dropped = 0;
    ProcessStats process;
};

class Metrics {
public:
    // Subscribes to the bus (domain executor) for as long as it lives.
    explicit Metrics(bus::Bus& bus);
    Metrics(const Metrics&) = delete;
    Metrics& operator=(const Metrics&) = delete;

    // One answered HTTP request. Methods outside the usual few count as "other".
    void observe_http_request(std::string_view method, int status, double seconds);

    // The exposition text: HELP and TYPE lines, then the samples, for every metric.
    std::string render(const ScrapeFigures& figures) const;

    std::size_t running_builds() const { return running_builds_.size(); }
    std::size_t connected_workers() const { return connected_workers_.size(); }

private:
    void on_build_new(const bus::Message& message);
    void on_build_finished(const bus::Message& message);
    void on_step_finished(const bus::Message& message);
    void on_worker(const bus::Message& message, int change);

    std::vector<bus::Subscription> subscriptions_;
    std::unordered_set<data::Id> running_builds_;
    std::unordered_map<data::Id, int> connected_workers_;  // workerid -> open connections
    std::array<std::uint64_t, 7> finished_by_result_{};    // indexed by core::Results
    Histogram build_durations_;
    Histogram step_durations_;
    Histogram http_durations_;
    std::map<std::pair<std::size_t, int>, std::uint64_t> http_requests_;  // (method, status)
};

}  // namespace kiln::www
