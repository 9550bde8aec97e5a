// SPDX-License-Identifier: Apache-2.0
// OutboundQueue: the per-client bounds in frames and bytes.
#include "www/outbound_queue.hpp"

#include <memory>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

namespace {

using kiln::www::Frame;
using kiln::www::OutboundQueue;
using kiln::www::QueueLimits;

Frame frame_of(std::size_t size) { return std::make_shared<const std::string>(size, 'x'); }

TEST(OutboundQueue, overflows_past_the_frame_bound_and_lets_go_of_everything) {
    boost::asio::io_context io;
    OutboundQueue queue(io.get_executor(), QueueLimits{.max_bytes = 1000, .max_frames = 3});
    for (int i = 0; i < 3; ++i)
        EXPECT_TRUE(queue.push(frame_of(1)));
    EXPECT_FALSE(queue.push(frame_of(1)));
    EXPECT_TRUE(queue.is_overflowed());
    EXPECT_EQ(queue.queued_frames(), 0u);
    EXPECT_EQ(queue.queued_bytes(), 0u);
    EXPECT_FALSE(queue.push(frame_of(1)));
}

TEST(OutboundQueue, overflows_past_the_byte_bound) {
    boost::asio::io_context io;
    OutboundQueue queue(io.get_executor(), QueueLimits{.max_bytes = 100, .max_frames = 1000});
    EXPECT_TRUE(queue.push(frame_of(60)));
    EXPECT_TRUE(queue.push(frame_of(40)));
    EXPECT_EQ(queue.queued_bytes(), 100u);
    EXPECT_FALSE(queue.push(frame_of(1)));
    EXPECT_TRUE(queue.is_overflowed());
}

TEST(OutboundQueue, takes_one_frame_larger_than_the_byte_bound_when_empty) {
    boost::asio::io_context io;
    OutboundQueue queue(io.get_executor(), QueueLimits{.max_bytes = 100, .max_frames = 1000});
    EXPECT_TRUE(queue.push(frame_of(500)));
    EXPECT_FALSE(queue.push(frame_of(1)));
}

boost::asio::awaitable<void> drain(OutboundQueue& queue, std::vector<std::size_t>& sizes) {
    while (auto frame = co_await queue.next())
        sizes.push_back(frame->size());
}

TEST(OutboundQueue, hands_out_in_order_then_null_once_ended) {
    boost::asio::io_context io;
    OutboundQueue queue(io.get_executor(), QueueLimits{});
    queue.push(frame_of(1));
    queue.push(frame_of(2));
    std::vector<std::size_t> sizes;
    bool is_done = false;
    boost::asio::co_spawn(io, drain(queue, sizes), [&](std::exception_ptr) { is_done = true; });
    io.poll();
    EXPECT_EQ(sizes, (std::vector<std::size_t>{1, 2}));
    EXPECT_FALSE(is_done) << "waits for more";
    queue.push(frame_of(3));
    queue.end();
    EXPECT_FALSE(queue.push(frame_of(4)));
    io.restart();
    io.poll();
    EXPECT_EQ(sizes, (std::vector<std::size_t>{1, 2, 3}));
    EXPECT_TRUE(is_done);
}

}  // namespace
