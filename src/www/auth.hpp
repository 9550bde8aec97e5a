// SPDX-License-Identifier: Apache-2.0
// Authenticator: who sent an HTTP request (www.auth), and the login/logout pages.
//
// - A valid session cookie (session.hpp) names its user; with k.auth.users_file that user must
//   still be in the users file, whose current email, full name and groups are used.
// - "Authorization: Basic" is checked against the users file (argon2id, on a small thread
//   pool so the domain executor never waits for it; a success is remembered for
//   kBasicCacheSeconds, keyed by a keyed hash of the credentials, so scripts that send Basic
//   on every request do not pay for a hash each time).
// - "Authorization: Bearer <token>" is checked against the users file's token digests.
// - Anything else is anonymous. With k.auth.none() every request is anonymous (Authorization
//   headers are ignored), as with Buildbot's NoAuth.
// The users file is read again whenever it changes on disk, so `kiln user ...` takes effect
// without a reconfig.
#pragma once

#include "config/master_config.hpp"
#include "core/expected.hpp"
#include "io/http_server.hpp"
#include "www/authentication.hpp"
#include "www/session.hpp"
#include "www/users_file.hpp"

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/json/object.hpp>

namespace kiln::www {

// How long a successful Basic check is remembered.
inline constexpr std::int64_t kBasicCacheSeconds = 60;
// Password checks waiting or running at once; more are answered "unavailable" (HTTP 503)
// rather than queued, so a flood of guesses cannot pile up memory-hungry hashes.
inline constexpr std::size_t kMaxPendingPasswordChecks = 8;
// The realm of the login page's challenge.
inline constexpr std::string_view kRealm = "kiln";

class Authenticator {
public:
    using Clock = std::function<std::int64_t()>;  // epoch seconds

    // Use it from one executor only (the domain executor: it has no locks); password checks
    // run on its own two threads. session_key comes from load_session_key(). config:
    // www_auth, url (cookie security, redirects) and master_dir (for a relative users file).
    // clock: defaults to the system clock.
    Authenticator(const config::MasterConfig& config, std::string session_key, Clock clock = {});
    // Stops the hashing threads. Destroy it only once no request is using it any more.
    ~Authenticator();
    Authenticator(const Authenticator&) = delete;
    Authenticator& operator=(const Authenticator&) = delete;

    // Takes a new www.auth / url after a reconfig; forgets cached Basic checks.
    void reconfigure(const config::MasterConfig& config);

    // Who sent the request. Bad Basic credentials, an unknown token or an unsupported
    // Authorization scheme: Error{unauthenticated} (HTTP 401; the router must not add a
    // WWW-Authenticate challenge there, see docs/decisions/0007-csrf.md). Too many password
    // checks at once: Error{unavailable}. An invalid or expired session cookie is anonymous.
    // Copies what it needs from the request before it suspends.
    boost::asio::awaitable<core::Expected<Authentication>>
    authenticate(const io::HttpRequest& request);

    // GET /auth/login?redirect=<ui route>: with valid Basic credentials, sets the session
    // cookie and answers 302 to <url>#<route> (route "/" by default); without credentials or
    // with bad ones, 401 with `WWW-Authenticate: Basic realm="kiln"` so the browser asks; with
    // k.auth.none(), 501. Copies what it needs from the request before it suspends.
    boost::asio::awaitable<io::HttpResponse> login(const io::HttpRequest& request);
    // GET or POST /auth/logout?redirect=<route>: resets the session to anonymous and answers
    // 302 to <url>#<route> ("/" by default). (A POST goes through check_csrf first.)
    io::HttpResponse logout(const io::HttpRequest& request) const;

    // The "auth" member of /config: {"name": "NoAuth"} or {"name": "UserPasswordAuth"}.
    boost::json::object config_json() const;
    // A Set-Cookie header with a fresh session for the user (anonymous: an anonymous session),
    // valid for www.session_lifetime. The router may send it with any response to a request
    // authenticated by the cookie, to extend the session as Buildbot does.
    io::HttpHeader session_cookie(const User& user) const;
    // TWISTED_SESSION, or TWISTED_SECURE_SESSION when the url is https.
    std::string_view cookie_name() const;
    // How many argon2 password checks ran (cached Basic successes run none): for metrics.
    std::uint64_t password_checks_run() const { return password_checks_run_; }

private:
    struct Settings {
        config::AuthMethod method = config::AuthMethod::none;
        std::filesystem::path users_file;
        std::string url;
        std::int64_t session_lifetime = 0;
        bool is_secure = false;
    };
    struct FileIdentity {
        std::int64_t device = 0, inode = 0, size = 0;
        std::timespec modified{};
        bool operator==(const FileIdentity& other) const;
    };
    struct CachedLogin {
        std::string username;
        std::string password_hash;  // the check is void once the password changes
        std::int64_t expires = 0;
    };

    static Settings settings_of(const config::MasterConfig& config);
    // The users file as it is now on disk (nullptr when it cannot be used; logged).
    const UsersFile* users();
    User user_of(const UserRecord& record) const;
    User user_of_session(const boost::json::object& user_info);
    boost::asio::awaitable<core::Expected<Authentication>>
    authenticate_with(std::optional<std::string> authorization, std::optional<std::string> session,
                      std::string remote);
    boost::asio::awaitable<core::Expected<User>> check_basic(std::string credentials,
                                                             std::string remote);
    boost::asio::awaitable<io::HttpResponse> login_with(std::optional<std::string> authorization,
                                                        std::string redirect, std::string remote);
    io::HttpResponse redirect_to(std::string_view route, const User& session_user) const;

    boost::asio::thread_pool pool_{2};
    Settings settings_;
    SessionCodec codec_;
    Clock clock_;
    std::optional<UsersFile> users_;
    std::optional<FileIdentity> users_identity_;
    std::string cache_key_;
    std::unordered_map<std::string, CachedLogin> basic_cache_;
    std::size_t pending_checks_ = 0;
    std::uint64_t password_checks_run_ = 0;
};

}  // namespace kiln::www
