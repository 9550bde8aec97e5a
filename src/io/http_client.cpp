// SPDX-License-Identifier: Apache-2.0
#include "io/http_client.hpp"

#include "core/version.hpp"
#include "io/detail/resolve.hpp"

#include <charconv>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace kiln::io {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::system_error;

core::Expected<HttpUrl> parse_http_url(std::string_view url) {
    auto bad = [&](std::string why) {
        return core::Error{core::ErrorKind::bad_input,
                           "'" + std::string(url) + "' is not an http:// URL: " + why};
    };
    std::string_view rest = url;
    if (const auto scheme = rest.find("://"); scheme != std::string_view::npos) {
        if (rest.substr(0, scheme) != "http") return bad("only http:// is supported");
        rest.remove_prefix(scheme + 3);
    }
    HttpUrl parsed;
    const auto slash = rest.find_first_of("/?");
    std::string_view authority = rest.substr(0, slash);
    if (slash != std::string_view::npos) parsed.path = std::string(rest.substr(slash));
    if (parsed.path.front() != '/') parsed.path.insert(0, "/");
    if (authority.find('@') != std::string_view::npos)
        return bad("put credentials in --auth, not in the URL");
    std::string_view port_text;
    if (authority.starts_with("[")) {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) return bad("unclosed '['");
        parsed.host = std::string(authority.substr(1, close - 1));
        authority.remove_prefix(close + 1);
        if (authority.starts_with(":"))
            port_text = authority.substr(1);
        else if (!authority.empty())
            return bad("unexpected text after ']'");
    } else {
        const auto colon = authority.rfind(':');
        parsed.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
    }
    if (parsed.host.empty()) return bad("no host");
    if (!port_text.empty()) {
        unsigned port = 0;
        auto [end, ec] =
            std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
        if (ec != std::errc{} || end != port_text.data() + port_text.size() || port == 0 ||
            port > 65535)
            return bad("bad port '" + std::string(port_text) + "'");
        parsed.port = static_cast<std::uint16_t>(port);
    }
    return parsed;
}

asio::awaitable<HttpClientResponse> http_request(HttpClientRequest request) {
    constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
    const auto deadline = std::chrono::steady_clock::now() + request.timeout;
    const auto endpoints = co_await detail::resolve(request.host, request.port, deadline);
    beast::tcp_stream stream{co_await asio::this_coro::executor};
    stream.expires_at(deadline);
    const auto where = request.host + ":" + std::to_string(request.port);
    auto [connect_ec, endpoint] = co_await stream.async_connect(endpoints, use_tuple);
    if (connect_ec) throw system_error(connect_ec, "connecting to " + where);

    http::request<http::string_body> message{http::string_to_verb(request.method), request.target,
                                             11};
    if (message.method() == http::verb::unknown)
        throw std::invalid_argument("unknown HTTP method " + request.method);
    const bool is_v6 = request.host.find(':') != std::string::npos;
    message.set(http::field::host, (is_v6 ? "[" + request.host + "]" : request.host) + ":" +
                                       std::to_string(request.port));
    message.set(http::field::user_agent, "kiln/" + std::string(core::kVersion));
    message.set(http::field::connection, "close");
    for (const auto& header : request.headers)
        message.set(header.name, header.value);
    message.body() = std::move(request.body);
    message.prepare_payload();
    auto [write_ec, written] = co_await http::async_write(stream, message, use_tuple);
    if (write_ec) throw system_error(write_ec, "sending to " + where);

    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(request.max_response_bytes);
    auto [read_ec, read] = co_await http::async_read(stream, buffer, parser, use_tuple);
    if (read_ec) throw system_error(read_ec, "reading the answer of " + where);
    beast::error_code ignored;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);

    auto answer = parser.release();
    HttpClientResponse response;
    response.status = static_cast<int>(answer.result_int());
    response.reason = std::string(answer.reason());
    for (const auto& field : answer)
        response.headers.push_back({std::string(field.name_string()), std::string(field.value())});
    response.body = std::move(answer.body());
    co_return response;
}

HttpClientResponse http_request_blocking(HttpClientRequest request) {
    asio::io_context io(1);
    auto future = asio::co_spawn(io, http_request(std::move(request)), asio::use_future);
    io.run();
    return future.get();
}

}  // namespace kiln::io
