// SPDX-License-Identifier: Apache-2.0
// ChangeHooks: /change_hook/<dialect> (and /change_hook, the base dialect) of the web server.
// A request is checked (the dialect is enabled, www.change_hook_auth's credentials), turned
// into changes by its dialect, and answered 200 "<N> change found" only once every change is
// committed; bad input gets a 400 whose reason phrase and body say why, and stores nothing.
// Hooks are not behind the web login (www.auth), as in Buildbot.
#pragma once

#include "config/master_config.hpp"
#include "data/context.hpp"
#include "io/http_server.hpp"

#include <string_view>

#include <boost/asio/awaitable.hpp>

namespace kiln::www {

// The path prefix of change hooks.
inline constexpr std::string_view kChangeHookPath = "/change_hook";

// Whether the path is a change hook's.
bool is_change_hook_path(std::string_view path);

class ChangeHooks {
public:
    explicit ChangeHooks(data::Context& context);

    // Answers one hook request under the given configuration (a copy: a reconfig may come
    // while the changes are being stored).
    boost::asio::awaitable<io::HttpResponse> handle(io::HttpRequest request,
                                                    config::ChangeHookConfig config);

private:
    data::Context& context_;
};

}  // namespace kiln::www
