// SPDX-License-Identifier: Apache-2.0
// Clock: the time source of the schedulers (wall-clock epoch seconds) and their timers, so
// tests advance time instead of sleeping. SystemClock runs timers on an Asio executor;
// ManualClock is the tests' twin, whose timers fire when advance() passes them.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

namespace kiln::schedulers {

class Clock {
public:
    // Destroying a timer cancels it (its callback will not run).
    class Timer {
    public:
        virtual ~Timer() = default;
    };
    using Callback = std::function<void()>;

    virtual ~Clock() = default;
    // Seconds since the Unix epoch.
    virtual double now() const = 0;
    // Calls callback at `when` (epoch seconds; soon when it is past), on the domain executor,
    // unless the returned timer is destroyed first.
    virtual std::unique_ptr<Timer> call_at(double when, Callback callback) = 0;
};

class SystemClock final : public Clock {
public:
    explicit SystemClock(boost::asio::any_io_executor executor)
        : executor_(std::move(executor)) {}
    double now() const override;
    std::unique_ptr<Timer> call_at(double when, Callback callback) override;

private:
    boost::asio::any_io_executor executor_;
};

// Time stands still until advance() or set(); timers due by then fire in time order (each
// seeing now() at its own time), synchronously inside the call.
class ManualClock final : public Clock {
public:
    explicit ManualClock(double now = 1'700'000'000.0)
        : now_(now) {}
    double now() const override { return now_; }
    std::unique_ptr<Timer> call_at(double when, Callback callback) override;

    void advance(double seconds) { set(now_ + seconds); }
    void set(double epoch);
    // Timers not yet fired nor cancelled.
    std::size_t pending() const;
    // When the next pending timer fires (0: none).
    double next_due() const;

private:
    struct Entry {
        double when;
        std::uint64_t sequence;
        std::shared_ptr<bool> is_alive;
        Callback callback;
    };
    double now_;
    std::uint64_t sequence_ = 0;
    std::vector<Entry> entries_;
};

}  // namespace kiln::schedulers
