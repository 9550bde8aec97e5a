// SPDX-License-Identifier: Apache-2.0
#include "www/www_service.hpp"

#include "core/version.hpp"
#include "data/object_state.hpp"
#include "data/queries.hpp"
#include "www/auth.hpp"
#include "www/authz.hpp"
#include "www/change_hooks.hpp"
#include "www/csrf.hpp"
#include "www/event_builders.hpp"
#include "www/json_output.hpp"
#include "www/live_updates.hpp"
#include "www/metrics.hpp"
#include "www/path_matcher.hpp"
#include "www/rate_limiter.hpp"
#include "www/rest_api.hpp"
#include "www/session.hpp"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>

#include <boost/json/array.hpp>

#include <spdlog/spdlog.h>

namespace kiln::www {

namespace asio = boost::asio;

namespace {

constexpr std::uint64_t kMaxStaticFileBytes = 32 * 1024 * 1024;

std::string lower(std::string_view text) {
    std::string out(text);
    for (auto& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

// "http://host:port" of a URL (scheme, host and port, lowercase), or "" when it has none.
std::string origin_of(std::string_view url) {
    const auto scheme_end = url.find("://");
    if (scheme_end == std::string_view::npos) return {};
    const auto host_end = url.find('/', scheme_end + 3);
    return lower(url.substr(0, host_end));
}

std::string_view content_type_for(const std::filesystem::path& path) {
    const auto extension = path.extension().string();
    if (extension == ".html") return "text/html; charset=utf-8";
    if (extension == ".js" || extension == ".mjs") return "text/javascript; charset=utf-8";
    if (extension == ".css") return "text/css; charset=utf-8";
    if (extension == ".json" || extension == ".map") return "application/json";
    if (extension == ".svg") return "image/svg+xml";
    if (extension == ".png") return "image/png";
    if (extension == ".ico") return "image/x-icon";
    if (extension == ".woff2") return "font/woff2";
    if (extension == ".txt") return "text/plain; charset=utf-8";
    return "application/octet-stream";
}

io::HttpResponse json_response(const boost::json::value& value, int status = 200) {
    return io::HttpResponse::text(status, to_sorted_json(value), "application/json");
}

}  // namespace

struct WwwService::Impl {
    asio::any_io_executor executor;
    data::Context& context;
    Control& control;
    ConfigSource config;
    WwwOptions options;
    RestApi rest;
    JsonRpc rpc;
    LiveUpdates live;
    EventBuilders event_builders;
    ChangeHooks hooks;
    Metrics metrics;
    std::unique_ptr<RateLimiter> rate_limiter;
    RateLimit rate_limit;  // what rate_limiter was made for
    std::unique_ptr<Authenticator> authenticator;
    std::unique_ptr<Authorizer> authorizer;
    config::AuthzConfig authorizer_config;
    std::unique_ptr<io::HttpServer> server;

    Impl(asio::any_io_executor executor_in, data::Context& context_in, Control& control_in,
         ConfigSource config_in, WwwOptions options_in)
        : executor(executor_in)
        , context(context_in)
        , control(control_in)
        , config(std::move(config_in))
        , options(std::move(options_in))
        , rest(context, config)
        , rpc(context, control, rest.patterns(),
              [this](const User& user, const ControlCheck& check) {
                  return authorize_control(user, check);
              })
        , live(executor, context.bus)
        , event_builders(context.bus)
        , hooks(context)
        , metrics(context.bus) {
        auto http = options.http;
        http.bind_address = options.bind_address;
        http.port = options.port;
        http.body_limits.push_back(
            {std::string(kChangeHookPath), options.change_hook_max_body_bytes});
        // A try job carries a diff of up to 10 MiB (in base64).
        http.body_limits.push_back({"/api/v2/tryschedulers/", kMaxTryBodyBytes});
        auto handler = [this](io::HttpRequest request) { return handle(std::move(request)); };
        auto decide = [this](const io::HttpRequest& request) { return decide_upgrade(request); };
        auto on_open = [this](std::unique_ptr<io::WebSocketConnection> connection,
                              io::HttpRequest request) {
            return serve_websocket(std::move(connection), std::move(request));
        };
        server = std::make_unique<io::HttpServer>(executor, http, std::move(handler),
                                                  std::move(decide), std::move(on_open));
    }

    // The authorizer of the configuration in force (rebuilt when www.authz changed).
    Authorizer& current_authorizer() {
        auto current = config();
        const auto& wanted = current ? current->www_auth.authz : config::AuthzConfig{};
        if (!authorizer || !(wanted == authorizer_config)) {
            authorizer_config = wanted;
            authorizer = std::make_unique<Authorizer>(authorizer_config);
        }
        return *authorizer;
    }

    // The rate limiter of the configuration in force (none without www.rate_limit).
    RateLimiter* current_rate_limiter() {
        auto current = config();
        if (!current || !current->www_rate_limit) {
            rate_limiter.reset();
            return nullptr;
        }
        const RateLimit wanted{current->www_rate_limit->requests_per_second,
                               current->www_rate_limit->burst};
        if (!rate_limiter || !(wanted == rate_limit)) {
            rate_limit = wanted;
            rate_limiter = std::make_unique<RateLimiter>(wanted);
        }
        return rate_limiter.get();
    }

    // A 429 answer when the client has used up its requests, else nothing.
    std::optional<io::HttpResponse> refuse_if_over_limit(const io::HttpRequest& request) {
        auto* limiter = current_rate_limiter();
        if (!limiter) return std::nullopt;
        auto wait =
            limiter->take(client_address(request.remote_endpoint), RateLimiter::Clock::now());
        if (!wait) return std::nullopt;
        auto response = request.path().starts_with("/api/")
                            ? rest_error(429, "too many requests")
                            : io::HttpResponse::text(429, "too many requests\n");
        response.set_header("Retry-After", std::to_string(wait->count()));
        return response;
    }

    core::Expected<void> authorize_control(const User& user, const ControlCheck& check) {
        AuthzRequest request;
        request.action = check.action;
        request.path = check.path;
        if (!check.builder.empty()) request.builders.push_back(check.builder);
        request.owner = check.owner;
        auto& authz = current_authorizer();
        // A builder the caller may not see does not exist for them: 404, not 403 (which
        // would confirm that it exists).
        if (!check.builder.empty() && !authz.may_view_builder(user, check.builder))
            return core::fail(core::ErrorKind::not_found, "not found");
        return authz.check(user, request);
    }

    // Who sent the request (an error: bad credentials, or too many password checks).
    asio::awaitable<core::Expected<Authentication>> authenticate(const io::HttpRequest& request) {
        if (!authenticator) co_return Authentication{};
        auto authentication = co_await authenticator->authenticate(request);
        if (authentication) current_authorizer().assign_roles(authentication.value().user);
        co_return authentication;
    }

    Visibility visibility_for(const User& user) {
        auto& authz = current_authorizer();
        if (!authz.hides_builders()) return {};
        // A copy of the authorizer: the predicate may outlive a reconfig.
        auto shared = std::make_shared<Authorizer>(authorizer_config);
        return Visibility{
            [shared, user](std::string_view name) { return shared->may_view_builder(user, name); }};
    }

    EventVisibility event_visibility_for(const User& user) {
        auto visibility = visibility_for(user);
        if (!visibility.is_restricted()) return {};
        return [this, visibility](const bus::Message& message) {
            if (message.key.empty()) return false;
            const auto& kind = message.key[0];
            if (kind == "masters" || kind == "workers" || kind == "changes") return true;
            if (kind == "buildsets") {
                // Visible when one of its requests is for a visible builder.
                for (const auto& builder : event_builders.builders_of_buildset(message))
                    if (visibility.may_view_builder(builder)) return true;
                return false;
            }
            auto name = event_builders.builder_of(message);
            return name && visibility.may_view_builder(*name);
        };
    }

    asio::awaitable<io::HttpResponse> decide_upgrade(const io::HttpRequest& request) {
        if (auto refused = refuse_if_over_limit(request)) co_return std::move(*refused);
        if (request.path() != "/ws") co_return io::HttpResponse::text(404, "not found\n");
        if (!is_origin_allowed(request)) co_return io::HttpResponse::text(403, "invalid origin\n");
        auto authentication = co_await authenticate(request);
        if (!authentication)
            co_return io::HttpResponse::text(401, authentication.error().message + "\n");
        io::HttpResponse accept;
        accept.status = 101;
        co_return accept;
    }

    asio::awaitable<void> serve_websocket(std::unique_ptr<io::WebSocketConnection> connection,
                                          io::HttpRequest request) {
        auto authentication = co_await authenticate(request);
        if (!authentication) co_return;
        auto visibility = event_visibility_for(authentication.value().user);
        co_await live.serve_websocket(std::move(connection), std::move(visibility));
    }

    std::string configured_url() const {
        auto current = config();
        return current ? current->url : std::string("http://localhost/");
    }

    // Buildbot checks Origin against allowed origins (default: the configured URL's origin).
    // A request from the page's own origin (Origin equal to the Host it was sent to) is
    // accepted too, whatever name the browser used to reach the master.
    bool is_origin_allowed(const io::HttpRequest& request) const {
        auto origin = request.header("Origin");
        if (!origin) return true;
        const auto wanted = lower(*origin);
        if (wanted == origin_of(configured_url())) return true;
        if (auto host = request.header("Host")) {
            const auto same = origin_of(wanted);
            const auto scheme_end = same.find("://");
            if (scheme_end != std::string::npos && same.substr(scheme_end + 3) == lower(*host))
                return true;
        }
        return false;
    }

    void add_cors(const io::HttpRequest& request, io::HttpResponse& response) const {
        if (auto origin = request.header("Origin")) {
            response.set_header("Access-Control-Allow-Origin", std::string(*origin));
            response.set_header("Access-Control-Allow-Headers", "Content-Type");
            response.set_header("Access-Control-Max-Age", "3600");
        }
    }

    asio::awaitable<io::HttpResponse> handle(io::HttpRequest request);
    asio::awaitable<io::HttpResponse> route(io::HttpRequest request);
    asio::awaitable<io::HttpResponse> metrics_text(const io::HttpRequest& request,
                                                   const User& user);
    asio::awaitable<io::HttpResponse> handle_api(io::HttpRequest request, std::string path,
                                                 Authentication authentication);
    io::HttpResponse config_json(const User& user) const;
    asio::awaitable<void> run();
    io::HttpResponse static_file(std::string_view path) const;
};

io::HttpResponse WwwService::Impl::config_json(const User& user) const {
    auto current = config();
    boost::json::object body;
    if (authenticator) {
        body["auth"] = authenticator->config_json();
    } else {
        boost::json::object auth;
        auth["name"] = "NoAuth";
        body["auth"] = std::move(auth);
    }
    body["authz"] = boost::json::object{};
    boost::json::object avatar;
    avatar["name"] = "gravatar";
    body["avatar_methods"] = std::move(avatar);
    body["buildbotURL"] = configured_url();
    body["multiMaster"] = current ? current->multi_master : false;
    body["plugins"] = boost::json::object{};
    body["port"] = options.port;
    body["title"] = current ? current->title : "Kiln";
    body["titleURL"] = current ? current->title_url : "";
    body["user"] = user.user_info();
    boost::json::array versions;
    versions.push_back(boost::json::array{"Kiln", core::kVersion});
    body["versions"] = std::move(versions);
    auto response = json_response(body);
    response.set_header("Cache-Control", "public,max-age=0");
    return response;
}

io::HttpResponse WwwService::Impl::static_file(std::string_view path) const {
    if (options.web_root.empty()) return io::HttpResponse::text(404, "no web UI is installed\n");
    std::string relative(path);
    while (!relative.empty() && relative.front() == '/')
        relative.erase(0, 1);
    if (relative.empty()) relative = "index.html";
    // Paths stay inside the web root: no "..", no absolute parts, no hidden files.
    for (const auto& part : std::filesystem::path(relative))
        if (part == ".." || part.string().starts_with("."))
            return io::HttpResponse::text(404, "not found\n");
    auto file = options.web_root / relative;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec)) {
        // Client-side routes fall back to the app's page; missing assets are 404s.
        if (std::filesystem::path(relative).has_extension())
            return io::HttpResponse::text(404, "not found\n");
        file = options.web_root / "index.html";
    }
    const auto size = std::filesystem::file_size(file, ec);
    if (ec || size > kMaxStaticFileBytes) return io::HttpResponse::text(404, "not found\n");
    std::ifstream in(file, std::ios::binary);
    std::ostringstream content;
    content << in.rdbuf();
    auto response = io::HttpResponse::text(200, content.str(), std::string(content_type_for(file)));
    response.set_header("Cache-Control",
                        file.filename() == "index.html" ? "no-cache" : "public,max-age=3600");
    return response;
}

asio::awaitable<io::HttpResponse> WwwService::Impl::handle_api(io::HttpRequest request,
                                                               std::string path,
                                                               Authentication authentication) {
    const auto& method = request.method;
    if (!is_origin_allowed(request)) {
        if (method == "POST") {
            co_return io::HttpResponse::text(400, "{\"error\": {\"message\": \"invalid origin\"}}");
        }
        co_return rest_error(400, "invalid origin");
    }
    if (method == "OPTIONS") {
        auto wanted = request.header("Access-Control-Request-Method").value_or("");
        if (wanted != "GET" && wanted != "POST" && wanted != "HEAD")
            co_return rest_error(400, "invalid method");
        io::HttpResponse response;
        add_cors(request, response);
        co_return response;
    }
    const auto& user = authentication.user;
    io::HttpResponse response;
    if (method == "GET" || method == "HEAD") {
        AuthzRequest read{method, split_path(path), {}, {}};
        if (auto allowed = current_authorizer().check(user, read); !allowed) {
            response = rest_error(403, allowed.error().message);
            add_cors(request, response);
            co_return response;
        }
        const bool pretty =
            request.header("Accept").value_or("").find("application/json") == std::string::npos;
        std::string query(request.query());
        response = co_await rest.get(std::move(path), std::move(query), pretty, method == "HEAD",
                                     visibility_for(user));
    } else if (method == "POST") {
        auto url = configured_url();
        if (auto safe = check_csrf(request, authentication, url); !safe) {
            boost::json::object error;
            error["code"] = -32600;
            error["message"] = safe.error().message;
            boost::json::object body;
            body["jsonrpc"] = "2.0";
            body["error"] = std::move(error);
            co_return io::HttpResponse::text(403, to_sorted_json(body), "application/json");
        }
        response = co_await rpc.call(std::move(path), std::move(request), user);
        co_return response;
    } else {
        response = rest_error(400, "invalid HTTP method");
    }
    add_cors(request, response);
    co_return response;
}

// Every request, timed and counted for /metrics (a handler that throws counts as a 500).
asio::awaitable<io::HttpResponse> WwwService::Impl::handle(io::HttpRequest request) {
    const auto started = std::chrono::steady_clock::now();
    const auto method = request.method;
    std::exception_ptr failure;
    io::HttpResponse response;
    try {
        response = co_await route(std::move(request));
    } catch (const std::exception&) {
        failure = std::current_exception();
    }
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
    metrics.observe_http_request(method, failure ? 500 : response.status, took.count());
    if (failure) std::rethrow_exception(failure);
    co_return response;
}

asio::awaitable<io::HttpResponse> WwwService::Impl::metrics_text(const io::HttpRequest& request,
                                                                 const User& user) {
    if (request.method != "GET" && request.method != "HEAD")
        co_return io::HttpResponse::text(405, "method not allowed\n");
    // Authorized as a read of the path "metrics", so k.allow.any{role = ...} can protect it.
    const AuthzRequest read{"GET", {"metrics"}, {}, {}};
    if (auto allowed = current_authorizer().check(user, read); !allowed)
        co_return io::HttpResponse::text(403, allowed.error().message + "\n");
    data::Queries queries(context);
    ScrapeFigures figures;
    figures.pending_by_builder = co_await queries.pending_requests_by_builder();
    figures.log_bytes_ingested = context.totals.log_bytes_appended;
    figures.http_open_connections = server->open_connections();
    figures.websockets_open = live.open_websockets();
    figures.sse_streams_open = live.open_sse_streams();
    figures.websockets_dropped = live.dropped_websockets();
    figures.sse_streams_dropped = live.dropped_sse_streams();
    figures.process = read_process_stats();
    auto response = io::HttpResponse::text(200, metrics.render(figures),
                                           "text/plain; version=0.0.4; charset=utf-8");
    response.set_header("Cache-Control", "no-cache");
    co_return response;  // the server leaves the body out for HEAD
}

asio::awaitable<io::HttpResponse> WwwService::Impl::route(io::HttpRequest request) {
    if (auto refused = refuse_if_over_limit(request)) co_return std::move(*refused);
    const std::string path(request.path());
    if (path == "/auth/login") {
        if (!authenticator)
            co_return io::HttpResponse::text(501, "no authentication is configured\n");
        co_return co_await authenticator->login(request);
    }
    if (path == "/auth/logout") {
        if (!authenticator)
            co_return io::HttpResponse::text(501, "no authentication is configured\n");
        co_return authenticator->logout(request);
    }
    if (is_change_hook_path(path)) {
        // Webhooks are not behind the web login: secrets and www.change_hook_auth guard them.
        auto current = config();
        config::ChangeHookConfig hook_config;
        if (current) hook_config = current->change_hook;
        co_return co_await hooks.handle(std::move(request), std::move(hook_config));
    }
    auto authentication = co_await authenticate(request);
    if (!authentication) {
        const auto& error = authentication.error();
        co_return rest_error(error.kind == core::ErrorKind::unavailable ? 503 : 401, error.message);
    }
    if (path.starts_with("/api/v2/") || path == "/api/v2") {
        auto rest_path = path.size() > 8 ? path.substr(8) : std::string();
        co_return co_await handle_api(std::move(request), std::move(rest_path),
                                      std::move(authentication).value());
    }
    if (path == "/sse" || path.starts_with("/sse/")) {
        if (request.method != "GET") co_return io::HttpResponse::text(405, "method not allowed\n");
        co_return live.serve_sse(request, event_visibility_for(authentication.value().user));
    }
    if (path == "/api" || path == "/api/") {
        boost::json::object versions;
        versions["v2"] = configured_url() + "api/v2";
        boost::json::object body;
        body["api_versions"] = std::move(versions);
        co_return json_response(body);
    }
    if (path == "/config") co_return config_json(authentication.value().user);
    if (path == "/metrics") co_return co_await metrics_text(request, authentication.value().user);
    if (request.method != "GET" && request.method != "HEAD")
        co_return io::HttpResponse::text(405, "method not allowed\n");
    co_return static_file(path);
}

WwwService::WwwService(asio::any_io_executor executor, data::Context& context, Control& control,
                       ConfigSource config, WwwOptions options)
    : impl_(std::make_unique<Impl>(executor, context, control, std::move(config),
                                   std::move(options))) {}

WwwService::~WwwService() = default;

std::uint16_t WwwService::port() const { return impl_->server->port(); }

asio::awaitable<void> WwwService::Impl::run() {
    data::ObjectState state(context);
    auto key = co_await load_session_key(state);
    auto current = config();
    authenticator = std::make_unique<Authenticator>(*current, std::move(key));
    data::Queries queries(context);
    auto names = co_await queries.builder_names();
    event_builders.set_names(std::move(names));
    co_await server->run();
}

asio::awaitable<void> WwwService::run() { co_await impl_->run(); }

void WwwService::stop() {
    impl_->live.close_all();
    impl_->server->stop();
}

void WwwService::reconfigure() {
    if (impl_->authenticator) impl_->authenticator->reconfigure(*impl_->config());
}

}  // namespace kiln::www
