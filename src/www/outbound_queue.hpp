// SPDX-License-Identifier: Apache-2.0
// OutboundQueue: the frames waiting to be written to one live-update client (/ws connection or
// /sse stream), bounded in bytes and in frames. A client that falls behind past either bound
// overflows its queue: the queue lets go of everything it holds and ends, and the client is
// dropped. Frames are shared, immutable strings (one serialisation for every subscriber).
#pragma once

#include "io/task_group.hpp"

#include <cstddef>
#include <deque>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

namespace kiln::www {

using Frame = std::shared_ptr<const std::string>;

struct QueueLimits {
    std::size_t max_bytes = 4 * 1024 * 1024;
    std::size_t max_frames = 10'000;
};

// Single-threaded: use it from one executor.
class OutboundQueue {
public:
    OutboundQueue(boost::asio::any_io_executor executor, QueueLimits limits);

    // Appends a frame. Returns false, and overflows (see is_overflowed()), when the frame would
    // take the queue past a limit. A frame larger than max_bytes still enters an empty queue,
    // so one large event does not drop every client. Returns false after end() too.
    bool push(Frame frame);

    // Ends the queue: frames already queued are still handed out, then next() returns null.
    void end();

    // The next frame, waiting while the queue is empty; null once the queue has ended (and
    // drained) or overflowed. Cancellable.
    boost::asio::awaitable<Frame> next();
    // The next frame if one is queued now (null otherwise). Does not wait.
    Frame try_next();

    bool is_overflowed() const { return is_overflowed_; }
    bool has_ended() const { return has_ended_; }
    std::size_t queued_bytes() const { return bytes_; }
    std::size_t queued_frames() const { return frames_.size(); }

private:
    QueueLimits limits_;
    std::deque<Frame> frames_;
    std::size_t bytes_ = 0;
    bool has_ended_ = false;
    bool is_overflowed_ = false;
    io::AsyncEvent changed_;
};

}  // namespace kiln::www
