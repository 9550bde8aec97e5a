// SPDX-License-Identifier: Apache-2.0
#include "schedulers/clock.hpp"

#include <algorithm>
#include <chrono>

#include <boost/asio/system_timer.hpp>

namespace kiln::schedulers {

namespace asio = boost::asio;

namespace {

// The flag lives with the handler too: a timer that expired just before it was destroyed
// may already have its handler queued, which must then do nothing.
class FlagTimer final : public Clock::Timer {
public:
    FlagTimer(std::shared_ptr<bool> is_alive, std::shared_ptr<asio::system_timer> timer)
        : is_alive_(std::move(is_alive))
        , timer_(std::move(timer)) {}
    ~FlagTimer() override {
        *is_alive_ = false;
        if (timer_) timer_->cancel();
    }
    FlagTimer(const FlagTimer&) = delete;
    FlagTimer& operator=(const FlagTimer&) = delete;

private:
    std::shared_ptr<bool> is_alive_;
    std::shared_ptr<asio::system_timer> timer_;
};

}  // namespace

double SystemClock::now() const {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::unique_ptr<Clock::Timer> SystemClock::call_at(double when, Callback callback) {
    auto timer = std::make_shared<asio::system_timer>(executor_);
    const auto at = std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::duration<double>(when)));
    timer->expires_at(at);
    auto is_alive = std::make_shared<bool>(true);
    timer->async_wait(
        [timer, is_alive, callback = std::move(callback)](const boost::system::error_code& error) {
            if (!error && *is_alive) callback();
        });
    return std::make_unique<FlagTimer>(is_alive, timer);
}

std::unique_ptr<Clock::Timer> ManualClock::call_at(double when, Callback callback) {
    auto is_alive = std::make_shared<bool>(true);
    entries_.push_back(Entry{when, sequence_++, is_alive, std::move(callback)});
    return std::make_unique<FlagTimer>(is_alive, nullptr);
}

void ManualClock::set(double epoch) {
    for (;;) {
        std::erase_if(entries_, [](const Entry& entry) { return !*entry.is_alive; });
        auto next =
            std::min_element(entries_.begin(), entries_.end(), [](const auto& a, const auto& b) {
                return a.when < b.when || (a.when == b.when && a.sequence < b.sequence);
            });
        if (next == entries_.end() || next->when > epoch) break;
        now_ = std::max(now_, next->when);
        auto entry = std::move(*next);
        entries_.erase(next);
        *entry.is_alive = false;
        entry.callback();
    }
    now_ = std::max(now_, epoch);
}

std::size_t ManualClock::pending() const {
    return static_cast<std::size_t>(std::count_if(
        entries_.begin(), entries_.end(), [](const Entry& entry) { return *entry.is_alive; }));
}

double ManualClock::next_due() const {
    double due = 0;
    for (const auto& entry : entries_)
        if (*entry.is_alive && (due == 0 || entry.when < due)) due = entry.when;
    return due;
}

}  // namespace kiln::schedulers
