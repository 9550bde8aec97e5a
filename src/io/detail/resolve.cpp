// SPDX-License-Identifier: Apache-2.0
#include "io/detail/resolve.hpp"

#include <memory>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace kiln::io::detail {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using boost::system::system_error;

asio::awaitable<std::vector<tcp::endpoint>>
resolve(const std::string& host, std::uint16_t port,
        std::chrono::steady_clock::time_point deadline) {
    constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
    error_code ec;
    const auto address = asio::ip::make_address(host, ec);
    if (!ec) co_return std::vector<tcp::endpoint>{tcp::endpoint{address, port}};

    struct State {
        State(const asio::any_io_executor& executor, std::chrono::steady_clock::time_point at)
            : resolver(executor)
            , timer(executor, at) {}
        tcp::resolver resolver;
        asio::steady_timer timer;
        bool is_done = false;
        error_code ec;
        std::vector<tcp::endpoint> endpoints;
    };
    auto state = std::make_shared<State>(co_await asio::this_coro::executor, deadline);
    state->resolver.async_resolve(
        host, std::to_string(port),
        [state](error_code resolve_ec, const tcp::resolver::results_type& results) {
            state->is_done = true;
            state->ec = resolve_ec;
            for (const auto& entry : results)
                state->endpoints.push_back(entry.endpoint());
            state->timer.cancel();
        });
    auto [wait_ec] = co_await state->timer.async_wait(use_tuple);
    if (!state->is_done) {
        state->resolver.cancel();
        throw system_error(wait_ec ? wait_ec : error_code{asio::error::timed_out},
                           "resolving " + host);
    }
    if (state->ec) throw system_error(state->ec, "resolving " + host);
    co_return std::move(state->endpoints);
}

}  // namespace kiln::io::detail
