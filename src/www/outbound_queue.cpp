// SPDX-License-Identifier: Apache-2.0
#include "www/outbound_queue.hpp"

#include <utility>

#include <boost/asio/error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/system/system_error.hpp>

namespace kiln::www {

OutboundQueue::OutboundQueue(boost::asio::any_io_executor executor, QueueLimits limits)
    : limits_(limits)
    , changed_(std::move(executor)) {}

bool OutboundQueue::push(Frame frame) {
    if (has_ended_) return false;
    const std::size_t size = frame ? frame->size() : 0;
    const bool is_full = frames_.size() + 1 > limits_.max_frames ||
                         (!frames_.empty() && bytes_ + size > limits_.max_bytes);
    if (is_full) {
        is_overflowed_ = true;
        has_ended_ = true;
        std::deque<Frame>{}.swap(frames_);  // give the memory back now, not when drained
        bytes_ = 0;
        changed_.notify();
        return false;
    }
    bytes_ += size;
    frames_.push_back(std::move(frame));
    changed_.notify();
    return true;
}

void OutboundQueue::end() {
    has_ended_ = true;
    changed_.notify();
}

Frame OutboundQueue::try_next() {
    if (frames_.empty()) return nullptr;
    auto frame = std::move(frames_.front());
    frames_.pop_front();
    bytes_ -= frame ? frame->size() : 0;
    return frame;
}

boost::asio::awaitable<Frame> OutboundQueue::next() {
    while (frames_.empty() && !has_ended_) {
        co_await changed_.wait();
        // AsyncEvent::wait() swallows the cancellation error: check for it here.
        auto state = co_await boost::asio::this_coro::cancellation_state;
        if (state.cancelled() != boost::asio::cancellation_type::none)
            throw boost::system::system_error(boost::asio::error::operation_aborted,
                                              "waiting for live-update frames");
    }
    co_return try_next();
}

}  // namespace kiln::www
