// SPDX-License-Identifier: Apache-2.0
#include "www/auth.hpp"

#include "core/base64.hpp"
#include "www/crypto.hpp"
#include "www/detail/http.hpp"

#include <chrono>
#include <exception>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <sodium.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

namespace kiln::www {

namespace asio = boost::asio;

namespace {

constexpr std::size_t kMaxCachedLogins = 1024;

std::int64_t system_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
        text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
        text.remove_suffix(1);
    return text;
}

void wipe(std::string& secret) {
    sodium_memzero(secret.data(), secret.size());
    secret.clear();
}

// Runs on the hashing pool. An unknown user, or one without a password, costs the same time
// as a wrong password, so the answer's timing does not tell which names exist.
asio::awaitable<bool> check_password(std::optional<std::string> hash, std::string password) {
    bool matches = false;
    if (hash && *hash != kNoPassword) {
        matches = verify_password(*hash, password);
    } else {
        static const std::string decoy = hash_password(to_hex(random_bytes(16)));
        (void)verify_password(decoy, password);
    }
    wipe(password);
    co_return matches;
}

// The route as a URL fragment: characters a fragment may hold stay, others are
// percent-encoded (so no CR or LF reaches the Location header).
std::string fragment_of(std::string_view route) {
    static constexpr std::string_view kAllowed = "-._~!$&'()*+,;=:@/?%";
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string fragment;
    for (const char c : route) {
        const auto byte = static_cast<unsigned char>(c);
        const bool alphanumeric =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (alphanumeric || kAllowed.find(c) != std::string_view::npos) {
            fragment += c;
        } else {
            fragment += '%';
            fragment += kHex[byte >> 4];
            fragment += kHex[byte & 0xfu];
        }
    }
    return fragment;
}

// A user name as sent by a client, safe for the log (no control characters).
std::string loggable(std::string_view name) {
    return check_user_field("name", name).empty() ? std::string(name) : "<not a user name>";
}

io::HttpResponse challenge(std::string_view why) {
    auto response = io::HttpResponse::text(401, std::string(why) + "\n");
    response.headers.push_back(
        {"WWW-Authenticate", "Basic realm=\"" + std::string(kRealm) + "\", charset=\"UTF-8\""});
    response.headers.push_back({"Cache-Control", "no-store"});
    return response;
}

}  // namespace

bool Authenticator::FileIdentity::operator==(const FileIdentity& other) const {
    return device == other.device && inode == other.inode && size == other.size &&
           modified.tv_sec == other.modified.tv_sec && modified.tv_nsec == other.modified.tv_nsec;
}

Authenticator::Settings Authenticator::settings_of(const config::MasterConfig& config) {
    Settings settings;
    settings.method = config.www_auth.method;
    settings.users_file = config.www_auth.users_file.is_absolute()
                              ? config.www_auth.users_file
                              : config.master_dir / config.www_auth.users_file;
    settings.url = config.url;
    settings.session_lifetime = config.www_auth.session_lifetime;
    settings.is_secure =
        config.url.size() >= 8 && detail::iequals(config.url.substr(0, 8), "https://");
    return settings;
}

Authenticator::Authenticator(const config::MasterConfig& config, std::string session_key,
                             Clock clock)
    : settings_(settings_of(config))
    , codec_(std::move(session_key))
    , clock_(clock ? std::move(clock) : Clock(system_now))
    , cache_key_(random_bytes(32)) {}

Authenticator::~Authenticator() {
    pool_.stop();
    pool_.join();
}

void Authenticator::reconfigure(const config::MasterConfig& config) {
    settings_ = settings_of(config);
    users_.reset();
    users_identity_.reset();
    basic_cache_.clear();
}

std::string_view Authenticator::cookie_name() const {
    return settings_.is_secure ? kSecureSessionCookie : kSessionCookie;
}

boost::json::object Authenticator::config_json() const {
    boost::json::object auth;
    auth["name"] = settings_.method == config::AuthMethod::none ? "NoAuth" : "UserPasswordAuth";
    return auth;
}

io::HttpHeader Authenticator::session_cookie(const User& user) const {
    const auto token = codec_.encode(user.user_info(), clock_() + settings_.session_lifetime);
    return {"Set-Cookie", set_cookie_value(cookie_name(), token, settings_.is_secure)};
}

const UsersFile* Authenticator::users() {
    if (settings_.method != config::AuthMethod::users_file) return nullptr;
    FileIdentity identity;  // all zero when the file is missing
    struct stat status {};
    if (::stat(settings_.users_file.c_str(), &status) == 0)
        identity = FileIdentity{static_cast<std::int64_t>(status.st_dev),
                                static_cast<std::int64_t>(status.st_ino),
                                static_cast<std::int64_t>(status.st_size), status.st_mtim};
    if (users_identity_ && *users_identity_ == identity) return users_ ? &*users_ : nullptr;
    users_identity_ = identity;
    std::vector<std::string> warnings;
    auto loaded = UsersFile::load(settings_.users_file, &warnings);
    for (const auto& warning : warnings)
        spdlog::warn("users file {}", warning);
    if (!loaded) {
        users_.reset();
        spdlog::error("users file unusable, so no one can log in: {}", loaded.error().message);
        return nullptr;
    }
    users_ = std::move(*loaded);
    basic_cache_.clear();
    spdlog::info("users file {}: {} user(s), {} API token(s)", settings_.users_file.string(),
                 users_->users().size(), users_->tokens().size());
    return &*users_;
}

User Authenticator::user_of(const UserRecord& record) const {
    User user;
    user.anonymous = false;
    user.username = record.name;
    user.email = record.email;
    user.full_name = record.full_name;
    user.groups = record.groups;
    return user;
}

User Authenticator::user_of_session(const boost::json::object& user_info) {
    // A session names a user of the users file; one removed since is anonymous.
    const auto* name = user_info.if_contains("username");
    if (settings_.method != config::AuthMethod::users_file || !name || !name->is_string())
        return User{};
    const auto* file = users();
    const auto* record = file ? file->find(name->get_string()) : nullptr;
    return record ? user_of(*record) : User{};
}

asio::awaitable<core::Expected<Authentication>>
Authenticator::authenticate(const io::HttpRequest& request) {
    std::optional<std::string> authorization, session;
    if (auto value = request.header("authorization")) authorization = std::string(*value);
    if (auto value = find_cookie(request, cookie_name())) session = std::string(*value);
    return authenticate_with(std::move(authorization), std::move(session), request.remote_endpoint);
}

asio::awaitable<core::Expected<Authentication>>
Authenticator::authenticate_with(std::optional<std::string> authorization,
                                 std::optional<std::string> session, std::string remote) {
    Authentication result;
    if (settings_.method == config::AuthMethod::none) co_return result;
    if (authorization) {
        const std::string_view text = trim(*authorization);
        const auto space = text.find(' ');
        const auto scheme = text.substr(0, space);
        std::string credentials(space == std::string_view::npos ? "" : trim(text.substr(space)));
        if (detail::iequals(scheme, "basic")) {
            auto checked = check_basic(std::move(credentials), std::move(remote));
            auto user = co_await std::move(checked);
            if (!user) co_return user.error();
            result.user = std::move(*user);
            result.credentials = CredentialKind::basic;
            co_return result;
        }
        if (detail::iequals(scheme, "bearer")) {
            const auto* file = users();
            const auto* record = file ? file->user_for_token(credentials) : nullptr;
            if (!record) {
                spdlog::warn("invalid API token from {}", remote);
                co_return core::fail(core::ErrorKind::unauthenticated, "invalid API token");
            }
            result.user = user_of(*record);
            result.credentials = CredentialKind::bearer;
            co_return result;
        }
        co_return core::fail(core::ErrorKind::unauthenticated,
                             "unsupported Authorization scheme '" + std::string(scheme) +
                                 "' (use Basic or Bearer)");
    }
    if (session) {
        if (auto user_info = codec_.decode(*session, clock_())) {
            auto user = user_of_session(*user_info);
            if (!user.anonymous) {
                result.user = std::move(user);
                result.credentials = CredentialKind::session;
            }
        }
    }
    co_return result;
}

asio::awaitable<core::Expected<User>> Authenticator::check_basic(std::string credentials,
                                                                 std::string remote) {
    auto decoded = core::base64_decode(credentials);
    const auto colon = decoded ? decoded->find(':') : std::string::npos;
    if (colon == std::string::npos)
        co_return core::fail(core::ErrorKind::unauthenticated, "malformed Basic credentials");
    const std::string username = decoded->substr(0, colon);
    std::string password = decoded->substr(colon + 1);
    // The cache is keyed by a keyed hash of both, so it holds no password.
    const auto cache_key = hmac_sha256(cache_key_, *decoded);
    wipe(*decoded);

    const auto now = clock_();
    const auto* file = users();
    const auto* record = file ? file->find(username) : nullptr;
    if (auto hit = basic_cache_.find(cache_key); hit != basic_cache_.end()) {
        if (record && hit->second.expires > now && hit->second.username == record->name &&
            hit->second.password_hash == record->password_hash) {
            wipe(password);
            co_return user_of(*record);
        }
        basic_cache_.erase(hit);
    }
    if (pending_checks_ >= kMaxPendingPasswordChecks) {
        wipe(password);
        co_return core::fail(core::ErrorKind::unavailable,
                             "too many password checks in progress; try again shortly");
    }
    std::optional<std::string> hash;
    if (record) hash = record->password_hash;
    const auto checked_hash = hash.value_or("");
    ++pending_checks_;
    ++password_checks_run_;
    bool matches = false;
    std::exception_ptr failure;
    try {
        // Named, not temporaries inside the co_await (docs/decisions/0001).
        auto job = check_password(std::move(hash), std::move(password));
        auto spawned = asio::co_spawn(pool_.get_executor(), std::move(job), asio::use_awaitable);
        matches = co_await std::move(spawned);
    } catch (const std::exception&) {
        failure = std::current_exception();
    }
    --pending_checks_;
    if (failure) std::rethrow_exception(failure);
    // The file may have been read again while we waited: trust only what was checked.
    file = users();
    record = file ? file->find(username) : nullptr;
    if (!matches || !record || record->password_hash != checked_hash) {
        spdlog::warn("failed login for user '{}' from {}", loggable(username), remote);
        co_return core::fail(core::ErrorKind::unauthenticated, "unknown user or wrong password");
    }
    if (basic_cache_.size() >= kMaxCachedLogins) {
        std::erase_if(basic_cache_,
                      [now](const auto& entry) { return entry.second.expires <= now; });
        if (basic_cache_.size() >= kMaxCachedLogins) basic_cache_.clear();
    }
    basic_cache_[cache_key] =
        CachedLogin{record->name, record->password_hash, now + kBasicCacheSeconds};
    co_return user_of(*record);
}

asio::awaitable<io::HttpResponse> Authenticator::login(const io::HttpRequest& request) {
    std::optional<std::string> authorization;
    if (auto value = request.header("authorization")) authorization = std::string(*value);
    auto redirect = detail::query_parameter(request, "redirect").value_or("/");
    return login_with(std::move(authorization), std::move(redirect), request.remote_endpoint);
}

asio::awaitable<io::HttpResponse>
Authenticator::login_with(std::optional<std::string> authorization, std::string redirect,
                          std::string remote) {
    if (settings_.method == config::AuthMethod::none)
        co_return io::HttpResponse::text(
            501, "login is not available: this master has no www.auth (k.auth.none)\n");
    const std::string_view text = authorization ? trim(*authorization) : std::string_view{};
    if (text.size() < 6 || !detail::iequals(text.substr(0, 6), "basic "))
        co_return challenge("log in with your user name and password");
    std::string credentials(trim(text.substr(6)));
    auto checked = check_basic(std::move(credentials), remote);
    auto user = co_await std::move(checked);
    if (!user) {
        if (user.error().kind == core::ErrorKind::unavailable)
            co_return io::HttpResponse::text(503, user.error().message + "\n");
        co_return challenge(user.error().message);
    }
    spdlog::info("user '{}' logged in from {}", user->username, remote);
    co_return redirect_to(redirect, *user);
}

io::HttpResponse Authenticator::logout(const io::HttpRequest& request) const {
    return redirect_to(detail::query_parameter(request, "redirect").value_or("/"), User{});
}

io::HttpResponse Authenticator::redirect_to(std::string_view route,
                                            const User& session_user) const {
    io::HttpResponse response;
    response.status = 302;
    response.headers.push_back({"Location", settings_.url + "#" + fragment_of(route)});
    response.headers.push_back(session_cookie(session_user));
    response.headers.push_back({"Cache-Control", "no-store"});
    return response;
}

}  // namespace kiln::www
