// SPDX-License-Identifier: Apache-2.0
#include "www/change_hooks.hpp"

#include "core/base64.hpp"
#include "data/changes.hpp"
#include "www/change_hook_dialects.hpp"
#include "www/crypto.hpp"
#include "www/detail/http.hpp"

#include <spdlog/spdlog.h>

namespace kiln::www {

namespace asio = boost::asio;

namespace {

// Printable ASCII only, at most `max` characters: safe in a reason phrase and in logs.
std::string printable(std::string_view text, std::size_t max = 200) {
    std::string out;
    for (char c : text.substr(0, max))
        out += (c >= 0x20 && c < 0x7f) ? c : '?';
    return out;
}

// Buildbot answers hooks as text/html; a 4xx carries its message as the reason phrase too.
io::HttpResponse hook_answer(int status, const std::string& message) {
    auto response = io::HttpResponse::text(status, message, "text/html; charset=utf-8");
    if (status >= 400 && status < 500) response.reason = printable(message);
    return response;
}

// HTTP Basic credentials matching one of www.change_hook_auth's pairs (constant time).
bool is_authorized(const io::HttpRequest& request, const config::ChangeHookConfig& config) {
    if (config.auth.empty()) return true;
    const auto header = request.header("Authorization");
    if (!header || header->size() < 6 || !detail::iequals(header->substr(0, 6), "Basic "))
        return false;
    auto decoded = core::base64_decode(header->substr(6));
    if (!decoded) return false;
    const auto colon = decoded->find(':');
    if (colon == std::string::npos) return false;
    const auto user = std::string_view(*decoded).substr(0, colon);
    const auto password = std::string_view(*decoded).substr(colon + 1);
    bool found = false;
    for (const auto& [wanted_user, wanted_password] : config.auth) {
        const bool same =
            constant_time_equal(user, wanted_user) & constant_time_equal(password, wanted_password);
        found = found || same;
    }
    return found;
}

HookChanges changes_of(std::string_view dialect, const io::HttpRequest& request,
                       const config::ChangeHookConfig& config) {
    if (dialect == "base" && config.base) return parse_base_hook(request);
    if (dialect == "github" && config.github) return parse_github_hook(request, *config.github);
    if (dialect == "gitlab" && config.gitlab) return parse_gitlab_hook(request, *config.gitlab);
    return core::Error{core::ErrorKind::bad_input, "The dialect specified, '" +
                                                       printable(dialect, 50) +
                                                       "', wasn't whitelisted in change_hook"};
}

}  // namespace

bool is_change_hook_path(std::string_view path) {
    return path == kChangeHookPath ||
           (path.starts_with(kChangeHookPath) && path[kChangeHookPath.size()] == '/');
}

ChangeHooks::ChangeHooks(data::Context& context)
    : context_(context) {}

asio::awaitable<io::HttpResponse> ChangeHooks::handle(io::HttpRequest request,
                                                      config::ChangeHookConfig config) {
    if (!config.is_enabled())
        co_return io::HttpResponse::text(404, "change hooks are not enabled (www.change_hook)\n");
    if (request.method != "GET" && request.method != "POST")
        co_return io::HttpResponse::text(405, "method not allowed\n");
    if (!is_authorized(request, config)) {
        auto refused = io::HttpResponse::text(401, "change hook credentials required\n");
        refused.set_header("WWW-Authenticate", "Basic realm=\"kiln change hooks\"");
        co_return refused;
    }
    std::string dialect(request.path().substr(kChangeHookPath.size()));
    while (!dialect.empty() && dialect.front() == '/')
        dialect.erase(0, 1);
    if (dialect.empty()) dialect = "base";

    auto parsed = changes_of(dialect, request, config);
    if (!parsed) {
        spdlog::warn("change hook {} from {}: refused: {}", printable(dialect, 50),
                     request.remote_endpoint, printable(parsed.error().message));
        co_return hook_answer(400, parsed.error().message);
    }
    auto changes = std::move(parsed).value();
    if (changes.empty()) co_return hook_answer(200, "no change found");
    const auto count = changes.size();
    data::Changes store(context_);
    try {
        // Stored (committed) before the answer: a 200 means the changes are kept.
        std::optional<data::Changes::StateUpdate> no_state;
        auto stored = co_await store.add_all(std::move(changes), std::move(no_state));
        spdlog::info("change hook {}: {} change(s) stored, first changeid {}", dialect,
                     stored.size(), stored.front().changeid);
    } catch (const std::exception& failure) {
        spdlog::error("change hook {}: storing {} change(s) failed: {}", dialect, count,
                      failure.what());
        co_return hook_answer(500, "Error processing changes.");
    }
    co_return hook_answer(200, std::to_string(count) + " change found");
}

}  // namespace kiln::www
