// SPDX-License-Identifier: Apache-2.0
// Cross-site request forgery checks for state-changing requests (docs/decisions/0007-csrf.md).
// A browser attaches the session cookie to requests other sites make it send; these checks
// refuse such requests when a session cookie is what authenticated them.
#pragma once

#include "core/expected.hpp"
#include "io/http_server.hpp"
#include "www/authentication.hpp"

#include <string>
#include <string_view>

namespace kiln::www {

// The router calls this for every state-changing request (JSON-RPC POSTs to /api/v2, a POST
// to /auth/logout, any other control) once the request is authenticated. For a request
// authenticated by the session cookie it requires:
//   - Sec-Fetch-Site, when sent, to be "same-origin" or "none";
//   - Origin, when sent, to be the configured url's origin (scheme://host[:port]); without
//     Origin, a Referer, when sent, must have that origin;
//   - the body's Content-Type to be application/json (parameters allowed): a cross-site form
//     cannot send that, and a script of another site cannot without a CORS preflight.
// Anything else (anonymous, Basic, Bearer) passes: those credentials are not attached by a
// browser on another site's behalf (see the decision record for the Basic caveat).
// Failure: Error{forbidden} saying which rule refused the request.
core::Expected<void> check_csrf(const io::HttpRequest& request,
                                const Authentication& authentication,
                                std::string_view configured_url);

// The origin of an http(s) URL as browsers send it in Origin: lowercase scheme and host, the
// port only when not the scheme's default ("https://ci.example.org", "http://127.0.0.1:8010").
// Empty when the URL is not an absolute http or https URL.
std::string url_origin(std::string_view url);

}  // namespace kiln::www
