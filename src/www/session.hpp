// SPDX-License-Identifier: Apache-2.0
// Login sessions as Buildbot keeps them (rest-api.md §2.6): a cookie TWISTED_SESSION
// (TWISTED_SECURE_SESSION on https) holding a JWT signed with HS256, claims
// {"user_info": {...}, "exp": <epoch>}, keyed by a secret every master of the database shares
// (object_state "session_secret" of object www / buildbot.www.service.WWWService).
#pragma once

#include "core/expected.hpp"
#include "data/object_state.hpp"
#include "io/http_server.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

namespace kiln::www {

inline constexpr std::string_view kSessionCookie = "TWISTED_SESSION";
inline constexpr std::string_view kSecureSessionCookie = "TWISTED_SECURE_SESSION";
// Longer cookie values are not session tokens (browsers cap a cookie at 4 KiB anyway).
inline constexpr std::size_t kMaxSessionTokenBytes = 8192;

// Signs and checks session tokens (JWT, HS256 only).
class SessionCodec {
public:
    // key: the HMAC key. Buildbot uses the text of its hex secret as the key; so do we.
    explicit SessionCodec(std::string key);

    // A token carrying user_info that expires at `expires` (epoch seconds).
    std::string encode(const boost::json::object& user_info, std::int64_t expires) const;
    // The user_info of a token that is well formed, signed with our key by HS256 and not expired
    // at `now`; otherwise bad_input saying why (never echoing the token).
    core::Expected<boost::json::object> decode(std::string_view token, std::int64_t now) const;

private:
    std::string key_;
};

// The value of the first cookie of that name in the request's Cookie headers.
std::optional<std::string_view> find_cookie(const io::HttpRequest& request, std::string_view name);

// A Set-Cookie value: "<name>=<value>; Path=/; HttpOnly; SameSite=Lax" (and "; Secure").
std::string set_cookie_value(std::string_view name, std::string_view value, bool secure);

// The shared session key: read from the database, or created (256 random bits as hex) and
// stored when no master made one yet. Runs on the caller's executor.
boost::asio::awaitable<std::string> load_session_key(data::ObjectState& state);

}  // namespace kiln::www
