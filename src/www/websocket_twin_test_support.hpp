// SPDX-License-Identifier: Apache-2.0
// Test support: an in-memory twin of io::WebSocketConnection (STYLE.md §7: a twin for an I/O
// seam). The test plays the client through TwinPeer: it queues frames for the server to read,
// sees what the server sent, and can stall the server's sends like a client that stopped
// reading (its TCP window full).
#pragma once

#include "io/task_group.hpp"
#include "io/websocket.hpp"

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/system/system_error.hpp>

namespace kiln::www::testing {

namespace asio = boost::asio;

// The client's end, shared by the test and the twin connection the server owns.
struct TwinPeer {
    explicit TwinPeer(const asio::any_io_executor& executor)
        : reader_wakeup(executor)
        , writer_wakeup(executor) {}

    // Client to server.
    void send(std::string frame) {
        incoming.push_back(std::move(frame));
        reader_wakeup.notify();
    }
    // The client closes the connection (its Close frame, or TCP gone).
    void close() {
        is_client_gone = true;
        reader_wakeup.notify();
        writer_wakeup.notify();
    }
    void stall() { is_stalled = true; }
    void resume() {
        is_stalled = false;
        writer_wakeup.notify();
    }
    bool is_over() const { return is_client_gone || is_aborted || close_code.has_value(); }

    std::deque<std::string> incoming;
    std::vector<std::string> sent;  // text frames the server sent, in order
    std::size_t binary_frames = 0;
    bool is_client_gone = false;
    bool is_stalled = false;
    bool is_aborted = false;
    std::optional<std::uint16_t> close_code;  // the server's Close frame
    bool has_session_ended = false;           // the serving coroutine returned
    std::exception_ptr session_error;
    io::AsyncEvent reader_wakeup;
    io::AsyncEvent writer_wakeup;
};

class TwinConnection final : public io::WebSocketConnection {
public:
    explicit TwinConnection(std::shared_ptr<TwinPeer> peer)
        : peer_(std::move(peer)) {}

    asio::awaitable<std::optional<Message>> read() override {
        while (peer_->incoming.empty() && !peer_->is_over()) {
            co_await peer_->reader_wakeup.wait();
            co_await throw_if_cancelled();
        }
        if (peer_->is_aborted || peer_->incoming.empty()) co_return std::nullopt;
        Message message{.data = std::move(peer_->incoming.front()), .is_text = true};
        peer_->incoming.pop_front();
        co_return message;
    }

    asio::awaitable<void> send(std::string) override {
        ++peer_->binary_frames;
        co_return;
    }

    asio::awaitable<void> send_text(std::string payload) override {
        while (peer_->is_stalled && !peer_->is_over()) {
            co_await peer_->writer_wakeup.wait();
            co_await throw_if_cancelled();
        }
        if (peer_->is_over())
            throw boost::system::system_error(asio::error::broken_pipe, "twin send");
        peer_->sent.push_back(std::move(payload));
    }

    asio::awaitable<void> close(std::uint16_t code) override {
        if (!peer_->is_over()) peer_->close_code = code;
        wake_all();
        co_return;
    }

    void abort() override {
        peer_->is_aborted = true;
        wake_all();
    }

    std::string remote_endpoint() const override { return "twin:1"; }

private:
    static asio::awaitable<void> throw_if_cancelled() {
        auto state = co_await asio::this_coro::cancellation_state;
        if (state.cancelled() != asio::cancellation_type::none)
            throw boost::system::system_error(asio::error::operation_aborted, "twin");
    }
    void wake_all() {
        peer_->reader_wakeup.notify();
        peer_->writer_wakeup.notify();
    }

    std::shared_ptr<TwinPeer> peer_;
};

}  // namespace kiln::www::testing
