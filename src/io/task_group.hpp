// SPDX-License-Identifier: Apache-2.0
// TaskGroup: owns coroutines spawned on one executor. cancel() asks them all to stop
// (terminal cancellation); wait() returns once every task has ended.
#pragma once

#include <cstddef>
#include <functional>
#include <list>
#include <memory>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

namespace kiln::io {

namespace asio = boost::asio;

// True for the error a cancelled Asio operation ends with (expected at shutdown).
inline bool is_cancellation(const std::exception& failure) {
    const auto* system = dynamic_cast<const boost::system::system_error*>(&failure);
    return system && system->code() == asio::error::operation_aborted;
}

class TaskGroup {
public:
    // Called with the exception that ended a task (never with a null pointer).
    using ErrorHandler = std::function<void(std::exception_ptr)>;

    explicit TaskGroup(asio::any_io_executor executor, ErrorHandler on_error = {})
        : state_(std::make_shared<State>(executor, std::move(on_error))) {}
    TaskGroup(const TaskGroup&) = delete;
    TaskGroup& operator=(const TaskGroup&) = delete;
    ~TaskGroup() { cancel(); }

    void spawn(asio::awaitable<void> task) {
        auto state = state_;
        auto signal = state->signals.emplace(state->signals.end());
        asio::co_spawn(
            state->executor, std::move(task),
            asio::bind_cancellation_slot(signal->slot(), [state, signal](std::exception_ptr error) {
                state->signals.erase(signal);
                if (error && state->on_error) state->on_error(error);
                if (state->signals.empty()) state->idle.cancel();
            }));
    }

    void cancel() {
        for (auto& signal : state_->signals)
            signal.emit(asio::cancellation_type::terminal);
    }

    std::size_t size() const { return state_->signals.size(); }

    // Returns once the group has no running task.
    asio::awaitable<void> wait() {
        auto state = state_;
        while (!state->signals.empty())
            co_await state->idle.async_wait(asio::as_tuple(asio::use_awaitable));
    }

private:
    struct State {
        State(asio::any_io_executor e, ErrorHandler handler)
            : executor(e)
            , on_error(std::move(handler))
            , idle(e) {
            idle.expires_at(asio::steady_timer::time_point::max());
        }
        asio::any_io_executor executor;
        ErrorHandler on_error;
        std::list<asio::cancellation_signal> signals;
        asio::steady_timer idle;
    };
    std::shared_ptr<State> state_;
};

// A wake-up call for coroutines on one executor: wait() suspends until the next notify().
// Waiters re-check their condition after waking.
class AsyncEvent {
public:
    explicit AsyncEvent(asio::any_io_executor executor)
        : timer_(executor) {
        timer_.expires_at(asio::steady_timer::time_point::max());
    }
    asio::awaitable<void> wait() {
        co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    void notify() { timer_.cancel(); }

private:
    asio::steady_timer timer_;
};

}  // namespace kiln::io
