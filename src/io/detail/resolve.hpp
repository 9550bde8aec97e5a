// SPDX-License-Identifier: Apache-2.0
// Name resolution with a deadline, for io/'s clients (WebSocket, HTTP).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace kiln::io::detail {

// The endpoints of host:port (an address is used as it is). getaddrinfo cannot be
// interrupted, so a late answer is abandoned: throws boost::system::system_error (timed_out)
// at the deadline, or with the resolver's error.
boost::asio::awaitable<std::vector<boost::asio::ip::tcp::endpoint>>
resolve(const std::string& host, std::uint16_t port,
        std::chrono::steady_clock::time_point deadline);

}  // namespace kiln::io::detail
