// SPDX-License-Identifier: Apache-2.0
#include "www/metrics.hpp"

#include "core/results.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>
#include <system_error>

#include <sys/resource.h>
#include <unistd.h>

namespace kiln::www {

namespace {

// Seconds. Builds and steps: Kiln records whole seconds; HTTP: Prometheus's default buckets.
constexpr std::array<double, 7> kRunBounds{1, 5, 15, 60, 300, 900, 3600};
constexpr std::array<double, 11> kHttpBounds{0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                             0.5,   1,    2.5,   5,    10};

constexpr std::array<std::string_view, 7> kMethods{"GET",    "HEAD",    "POST", "PUT",
                                                   "DELETE", "OPTIONS", "PATCH"};
constexpr std::size_t kOtherMethod = kMethods.size();

std::optional<std::int64_t> integer(const boost::json::object& payload, std::string_view key) {
    const auto* value = payload.if_contains(key);
    if (value && value->is_int64()) return value->get_int64();
    return std::nullopt;
}

// The duration between two epoch-second fields of a payload, when both are set and ordered.
std::optional<double> duration(const boost::json::object& payload, std::string_view start,
                               std::string_view end) {
    auto started = integer(payload, start);
    auto ended = integer(payload, end);
    if (!started || !ended || *ended < *started) return std::nullopt;
    return static_cast<double>(*ended - *started);
}

// ---- exposition format ------------------------------------------------------------------

void append_number(std::string& out, double value) {
    if (std::isnan(value)) {
        out += "NaN";
    } else if (std::isinf(value)) {
        out += value > 0 ? "+Inf" : "-Inf";
    } else {
        std::array<char, 32> buffer{};
        auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
        out.append(buffer.data(), ec == std::errc() ? end : buffer.data());
    }
}

void append_number(std::string& out, std::uint64_t value) {
    std::array<char, 24> buffer{};
    auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
    out.append(buffer.data(), ec == std::errc() ? end : buffer.data());
}

void append_number(std::string& out, std::int64_t value) {
    std::array<char, 24> buffer{};
    auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
    out.append(buffer.data(), ec == std::errc() ? end : buffer.data());
}

// A label value between double quotes: backslash, double quote and newline escaped.
void append_label_value(std::string& out, std::string_view value) {
    out += '"';
    for (char c : value) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    out += '"';
}

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;  // constant texts without backslashes or newlines
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
}

template <typename Number>
void sample(std::string& out, std::string_view name, Number value) {
    out += name;
    out += ' ';
    append_number(out, value);
    out += '\n';
}

template <typename Number>
void labelled(std::string& out, std::string_view name, std::string_view label,
              std::string_view label_value, Number value) {
    out += name;
    out += '{';
    out += label;
    out += '=';
    append_label_value(out, label_value);
    out += "} ";
    append_number(out, value);
    out += '\n';
}

template <typename Number>
void gauge(std::string& out, std::string_view name, std::string_view help, Number value) {
    header(out, name, "gauge", help);
    sample(out, name, value);
}

template <typename Number>
void counter(std::string& out, std::string_view name, std::string_view help, Number value) {
    header(out, name, "counter", help);
    sample(out, name, value);
}

void histogram(std::string& out, std::string_view name, std::string_view help,
               const Histogram& values) {
    header(out, name, "histogram", help);
    const std::string bucket = std::string(name) + "_bucket";
    std::string bound;
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < values.bounds().size(); ++i) {
        cumulative += values.counts()[i];
        bound.clear();
        append_number(bound, values.bounds()[i]);
        labelled(out, bucket, "le", bound, cumulative);
    }
    labelled(out, bucket, "le", "+Inf", values.count());
    sample(out, std::string(name) + "_sum", values.sum());
    sample(out, std::string(name) + "_count", values.count());
}

// ---- /proc ----------------------------------------------------------------------------------

std::string read_small_file(const char* path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The fields of /proc/self/stat after the command name (which may hold spaces and parens):
// fields[0] is the state (field 3 in proc(5)).
std::vector<std::string> stat_fields() {
    const auto text = read_small_file("/proc/self/stat");
    const auto close = text.rfind(')');
    if (close == std::string::npos) return {};
    std::istringstream rest(text.substr(close + 1));
    return std::vector<std::string>(std::istream_iterator<std::string>(rest),
                                    std::istream_iterator<std::string>());
}

std::optional<double> number_field(const std::vector<std::string>& fields, std::size_t proc_field) {
    const auto index = proc_field - 3;
    if (index >= fields.size()) return std::nullopt;
    double value = 0;
    const auto& text = fields[index];
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

std::optional<double> boot_time_seconds() {
    std::istringstream in(read_small_file("/proc/stat"));
    std::string key;
    double value = 0;
    while (in >> key) {
        if (key == "btime" && in >> value) return value;
        in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
    }
    return std::nullopt;
}

}  // namespace

Histogram::Histogram(std::span<const double> bounds)
    : bounds_(bounds)
    , counts_(bounds.size() + 1, 0) {}

void Histogram::observe(double value) {
    const auto bucket = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
    ++counts_[static_cast<std::size_t>(bucket)];
    sum_ += value;
    ++count_;
}

ProcessStats read_process_stats() {
    ProcessStats stats;
    const auto ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
    const auto page_bytes = ::sysconf(_SC_PAGESIZE);
    const auto fields = stat_fields();
    if (auto user = number_field(fields, 14), system = number_field(fields, 15);
        user && system && ticks > 0)
        stats.cpu_seconds = (*user + *system) / ticks;
    if (auto rss = number_field(fields, 24); rss && page_bytes > 0)
        stats.resident_memory_bytes =
            static_cast<std::uint64_t>(*rss) * static_cast<std::uint64_t>(page_bytes);
    if (auto start = number_field(fields, 22); start && ticks > 0)
        if (auto boot = boot_time_seconds()) stats.start_time_seconds = *boot + *start / ticks;
    std::error_code ec;
    std::uint64_t open = 0;
    for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
         it.increment(ec))
        ++open;
    if (!ec) stats.open_fds = open;
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY)
        stats.max_fds = static_cast<std::uint64_t>(limit.rlim_cur);
    return stats;
}

Metrics::Metrics(bus::Bus& bus)
    : build_durations_(kRunBounds)
    , step_durations_(kRunBounds)
    , http_durations_(kHttpBounds) {
    subscriptions_.push_back(bus.subscribe(bus::parse_key("builds/*/new"),
                                           [this](const bus::Message& m) { on_build_new(m); }));
    subscriptions_.push_back(
        bus.subscribe(bus::parse_key("builds/*/finished"),
                      [this](const bus::Message& m) { on_build_finished(m); }));
    subscriptions_.push_back(bus.subscribe(bus::parse_key("steps/*/finished"),
                                           [this](const bus::Message& m) { on_step_finished(m); }));
    subscriptions_.push_back(bus.subscribe(bus::parse_key("workers/*/connected"),
                                           [this](const bus::Message& m) { on_worker(m, 1); }));
    subscriptions_.push_back(bus.subscribe(bus::parse_key("workers/*/disconnected"),
                                           [this](const bus::Message& m) { on_worker(m, -1); }));
}

void Metrics::on_build_new(const bus::Message& message) {
    if (auto buildid = integer(*message.payload, "buildid")) running_builds_.insert(*buildid);
}

void Metrics::on_build_finished(const bus::Message& message) {
    const auto& payload = *message.payload;
    if (auto buildid = integer(payload, "buildid")) running_builds_.erase(*buildid);
    if (auto results = integer(payload, "results");
        results && *results >= 0 &&
        *results < static_cast<std::int64_t>(finished_by_result_.size()))
        ++finished_by_result_[static_cast<std::size_t>(*results)];
    if (auto seconds = duration(payload, "started_at", "complete_at"))
        build_durations_.observe(*seconds);
}

void Metrics::on_step_finished(const bus::Message& message) {
    if (auto seconds = duration(*message.payload, "started_at", "complete_at"))
        step_durations_.observe(*seconds);
}

void Metrics::on_worker(const bus::Message& message, int change) {
    auto workerid = integer(*message.payload, "workerid");
    if (!workerid) return;
    // Counted per connection: a worker that reconnects may be announced connected again
    // before its old connection is announced gone.
    auto found = connected_workers_.find(*workerid);
    if (change > 0) {
        if (found == connected_workers_.end())
            connected_workers_.emplace(*workerid, 1);
        else
            ++found->second;
    } else if (found != connected_workers_.end() && --found->second <= 0) {
        connected_workers_.erase(found);
    }
}

void Metrics::observe_http_request(std::string_view method, int status, double seconds) {
    const auto known = std::find(kMethods.begin(), kMethods.end(), method);
    const auto index = static_cast<std::size_t>(known - kMethods.begin());
    ++http_requests_[{index, status}];
    http_durations_.observe(seconds);
}

std::string Metrics::render(const ScrapeFigures& figures) const {
    std::string out;
    out.reserve(8192 + figures.pending_by_builder.size() * 64);

    header(out, "kiln_build_requests_pending", "gauge",
           "Build requests waiting for a worker (neither claimed nor complete), by builder.");
    for (const auto& [builder, count] : figures.pending_by_builder)
        labelled(out, "kiln_build_requests_pending", "builder", builder, count);
    gauge(out, "kiln_builds_running", "Builds this master is running.",
          static_cast<std::uint64_t>(running_builds_.size()));
    header(out, "kiln_builds_finished_total", "counter",
           "Builds this master finished since it started, by result.");
    for (std::size_t i = 0; i < finished_by_result_.size(); ++i)
        labelled(out, "kiln_builds_finished_total", "result",
                 core::to_string(static_cast<core::Results>(i)), finished_by_result_[i]);
    histogram(out, "kiln_build_duration_seconds", "Durations of finished builds, in seconds.",
              build_durations_);
    histogram(out, "kiln_step_duration_seconds",
              "Durations of finished steps that started, in seconds.", step_durations_);
    gauge(out, "kiln_workers_connected", "Workers connected to this master.",
          static_cast<std::uint64_t>(connected_workers_.size()));
    counter(out, "kiln_log_bytes_ingested_total",
            "Bytes of log text stored since the master started (resent lines not counted).",
            figures.log_bytes_ingested);

    header(out, "kiln_http_requests_total", "counter",
           "HTTP requests answered by the web server, by method and status code.");
    for (const auto& [key, count] : http_requests_) {
        const auto& [method, status] = key;
        out += "kiln_http_requests_total{method=";
        append_label_value(out, method < kMethods.size() ? kMethods[method] : "other");
        out += ",code=\"";
        append_number(out, static_cast<std::int64_t>(status));
        out += "\"} ";
        append_number(out, count);
        out += '\n';
    }
    histogram(
        out, "kiln_http_request_duration_seconds",
        "Time the web server took to produce an answer (a streamed body not included), in seconds.",
        http_durations_);
    gauge(out, "kiln_http_open_connections", "Open connections of the web server.",
          static_cast<std::uint64_t>(figures.http_open_connections));
    gauge(out, "kiln_live_websockets_open", "Open /ws live-update sessions.",
          static_cast<std::uint64_t>(figures.websockets_open));
    gauge(out, "kiln_live_sse_streams_open", "Open /sse live-update streams.",
          static_cast<std::uint64_t>(figures.sse_streams_open));
    header(out, "kiln_live_clients_dropped_total", "counter",
           "Live-update clients dropped for falling behind, by channel.");
    labelled(out, "kiln_live_clients_dropped_total", "channel", "ws", figures.websockets_dropped);
    labelled(out, "kiln_live_clients_dropped_total", "channel", "sse", figures.sse_streams_dropped);

    const auto& process = figures.process;
    if (process.cpu_seconds)
        counter(out, "process_cpu_seconds_total",
                "Total user and system CPU time spent in seconds.", *process.cpu_seconds);
    if (process.resident_memory_bytes)
        gauge(out, "process_resident_memory_bytes", "Resident memory size in bytes.",
              *process.resident_memory_bytes);
    if (process.start_time_seconds)
        gauge(out, "process_start_time_seconds",
              "Start time of the process since unix epoch in seconds.",
              *process.start_time_seconds);
    if (process.open_fds)
        gauge(out, "process_open_fds", "Number of open file descriptors.", *process.open_fds);
    if (process.max_fds)
        gauge(out, "process_max_fds", "Maximum number of open file descriptors.", *process.max_fds);
    return out;
}

}  // namespace kiln::www
