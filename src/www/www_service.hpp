// SPDX-License-Identifier: Apache-2.0
// WwwService: the master's web server. Routes /api (versions), /api/v2 (REST reads, JSON-RPC
// control, CORS), /config, /auth/*, /ws and /sse (live updates), /change_hook/* (webhooks),
// /metrics (Prometheus), and the web UI's static files at /. Authentication decides who asks,
// authorization what they may do and see; www.rate_limit, how often each client address may ask.
#pragma once

#include "config/master_config.hpp"
#include "data/context.hpp"
#include "io/http_server.hpp"
#include "www/json_rpc.hpp"

#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

namespace kiln::www {

struct WwwOptions {
    std::string bind_address = "127.0.0.1";
    std::uint16_t port = 8010;
    std::filesystem::path web_root;  // the built UI (index.html, assets/); empty: none
    io::HttpServerOptions http;      // limits (bind_address and port are taken from above)
    // The body limit of /change_hook requests (GitHub sends up to 25 MB); http.max_body_bytes
    // applies to every other path.
    std::size_t change_hook_max_body_bytes = 10 * 1024 * 1024;
};

class WwwService {
public:
    using ConfigSource = std::function<std::shared_ptr<const config::MasterConfig>()>;

    // Binds at once (throws boost::system::system_error when the port is taken).
    WwwService(boost::asio::any_io_executor executor, data::Context& context, Control& control,
               ConfigSource config, WwwOptions options);
    ~WwwService();
    WwwService(const WwwService&) = delete;
    WwwService& operator=(const WwwService&) = delete;

    std::uint16_t port() const;
    // Serves until stop(); returns once every connection ended.
    boost::asio::awaitable<void> run();
    void stop();
    // Takes the new configuration's www.auth (the authorization rules are read per request).
    void reconfigure();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace kiln::www
