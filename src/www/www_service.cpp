// SPDX-License-Identifier: Apache-2.0
#include "www/www_service.hpp"

#include "core/version.hpp"
#include "www/json_output.hpp"
#include "www/rest_api.hpp"

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
    data::Context& context;
    Control& control;
    ConfigSource config;
    WwwOptions options;
    RestApi rest;
    JsonRpc rpc;
    std::unique_ptr<io::HttpServer> server;

    Impl(asio::any_io_executor executor, data::Context& context_in, Control& control_in,
         ConfigSource config_in, WwwOptions options_in)
        : context(context_in)
        , control(control_in)
        , config(std::move(config_in))
        , options(std::move(options_in))
        , rest(context, config)
        , rpc(context, control, rest.patterns(),
              [](const User&, const ControlCheck&) { return core::Expected<void>(); }) {
        auto http = options.http;
        http.bind_address = options.bind_address;
        http.port = options.port;
        auto handler = [this](io::HttpRequest request) { return handle(std::move(request)); };
        server = std::make_unique<io::HttpServer>(executor, http, std::move(handler));
    }

    // The user a request comes from.
    User user_of(const io::HttpRequest&) const { return User{}; }
    Visibility visibility_for(const User&) const { return {}; }

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
    asio::awaitable<io::HttpResponse> handle_api(io::HttpRequest request, std::string path);
    io::HttpResponse config_json(const User& user) const;
    io::HttpResponse static_file(std::string_view path) const;
};

io::HttpResponse WwwService::Impl::config_json(const User& user) const {
    auto current = config();
    boost::json::object body;
    boost::json::object auth;
    auth["name"] = "NoAuth";
    body["auth"] = std::move(auth);
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
                                                               std::string path) {
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
    const auto user = user_of(request);
    io::HttpResponse response;
    if (method == "GET" || method == "HEAD") {
        const bool pretty =
            request.header("Accept").value_or("").find("application/json") == std::string::npos;
        std::string query(request.query());
        response = co_await rest.get(std::move(path), std::move(query), pretty, method == "HEAD",
                                     visibility_for(user));
    } else if (method == "POST") {
        response = co_await rpc.call(std::move(path), std::move(request), user);
        co_return response;
    } else {
        response = rest_error(400, "invalid HTTP method");
    }
    add_cors(request, response);
    co_return response;
}

asio::awaitable<io::HttpResponse> WwwService::Impl::handle(io::HttpRequest request) {
    const std::string path(request.path());
    if (path.starts_with("/api/v2/") || path == "/api/v2") {
        auto rest_path = path.size() > 8 ? path.substr(8) : std::string();
        co_return co_await handle_api(std::move(request), std::move(rest_path));
    }
    if (path == "/api" || path == "/api/") {
        boost::json::object versions;
        versions["v2"] = configured_url() + "api/v2";
        boost::json::object body;
        body["api_versions"] = std::move(versions);
        co_return json_response(body);
    }
    if (path == "/config") co_return config_json(user_of(request));
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

asio::awaitable<void> WwwService::run() { co_await impl_->server->run(); }

void WwwService::stop() { impl_->server->stop(); }

}  // namespace kiln::www
