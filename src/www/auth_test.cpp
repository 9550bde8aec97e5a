// SPDX-License-Identifier: Apache-2.0
// Authenticator against a real users file: Basic (and its cache), Bearer, session cookies,
// k.auth.none, reloading the file, the login and logout pages.
#include "core/base64.hpp"
#include "www/auth.hpp"
#include "www/crypto.hpp"

#include <atomic>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sodium.h>
#include <unistd.h>

namespace kiln::www {
namespace {

namespace asio = boost::asio;
using ::testing::HasSubstr;

constexpr std::int64_t kStart = 1'700'000'000;

// libsodium's minimum cost keeps these tests fast; users_file_test.cpp checks hashes made at
// the interactive cost the CLI uses.
constexpr PasswordCost kCheap{crypto_pwhash_argon2id_OPSLIMIT_MIN,
                              crypto_pwhash_argon2id_MEMLIMIT_MIN};

const std::string& alice_hash() {
    static const std::string hash = hash_password("s3cret", kCheap);
    return hash;
}

std::string basic(std::string_view user, std::string_view password) {
    return "Basic " + core::base64_encode(std::string(user) + ":" + std::string(password));
}

io::HttpRequest get(std::string target, std::vector<io::HttpHeader> headers = {}) {
    io::HttpRequest request;
    request.method = "GET";
    request.target = std::move(target);
    request.headers = std::move(headers);
    request.remote_endpoint = "127.0.0.1:50000";
    return request;
}

std::optional<std::string> header_of(const io::HttpResponse& response, std::string_view name) {
    for (const auto& header : response.headers)
        if (header.name == name) return header.value;
    return std::nullopt;
}

// "TWISTED_SESSION=<token>; Path=/; ..." -> the Cookie header a browser sends back.
io::HttpHeader cookie_from(const std::string& set_cookie) {
    return {"Cookie", set_cookie.substr(0, set_cookie.find(';'))};
}

class AuthenticatorTest : public ::testing::Test {
protected:
    AuthenticatorTest() {
        static std::atomic<int> counter{0};
        dir_ = std::filesystem::temp_directory_path() /
               ("kiln-auth-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        std::filesystem::remove_all(dir_);
        std::filesystem::create_directories(dir_);
        EXPECT_TRUE(users.add(
            {"alice", alice_hash(), "alice@example.org", "Alice Example", {"kiln-admins"}}));
        EXPECT_TRUE(users.add({"bot", std::string(kNoPassword), "", "", {}}));
        bot_token = *users.add_token("bot", kStart);
        save();
        config.master_dir = dir_;
        config.url = "http://ci.example.org/";
        config.www_auth.method = config::AuthMethod::users_file;
        config.www_auth.users_file = "users.txt";
        config.www_auth.session_lifetime = 3600;
    }
    ~AuthenticatorTest() override { std::filesystem::remove_all(dir_); }

    void save() { ASSERT_TRUE(users.save(dir_ / "users.txt")); }

    Authenticator& auth() {
        if (!authenticator_) authenticator_.emplace(config, "session-key", [this] { return now; });
        return *authenticator_;
    }

    // Runs the task to its end (results need not be default-constructible, as use_future's).
    template <typename T>
    T run(asio::awaitable<T> task) {
        std::optional<T> result;
        auto keep = [](asio::awaitable<T> inner, std::optional<T>& out) -> asio::awaitable<void> {
            out.emplace(co_await std::move(inner));
        };
        auto future = asio::co_spawn(io, keep(std::move(task), result), asio::use_future);
        io.restart();
        io.run();
        future.get();
        return std::move(*result);
    }

    core::Expected<Authentication> authenticate(std::vector<io::HttpHeader> headers) {
        const auto request = get("/api/v2/builds", std::move(headers));
        return run(auth().authenticate(request));
    }

    std::filesystem::path dir_;
    asio::io_context io;
    UsersFile users;
    std::string bot_token;
    config::MasterConfig config;
    std::int64_t now = kStart;
    std::optional<Authenticator> authenticator_;
};

TEST_F(AuthenticatorTest, a_request_without_credentials_is_anonymous) {
    auto found = authenticate({});
    ASSERT_TRUE(found);
    EXPECT_TRUE(found->user.anonymous);
    EXPECT_EQ(found->credentials, CredentialKind::none);
}

TEST_F(AuthenticatorTest, basic_credentials_give_the_user_of_the_users_file) {
    auto found = authenticate({{"Authorization", basic("alice", "s3cret")}});
    ASSERT_TRUE(found) << found.error().message;
    EXPECT_EQ(found->credentials, CredentialKind::basic);
    EXPECT_FALSE(found->user.anonymous);
    EXPECT_EQ(found->user.username, "alice");
    EXPECT_EQ(found->user.email, "alice@example.org");
    EXPECT_EQ(found->user.full_name, "Alice Example");
    EXPECT_EQ(found->user.groups, std::vector<std::string>{"kiln-admins"});
    EXPECT_EQ(found->user.owner(), "alice@example.org");
}

TEST_F(AuthenticatorTest, bad_basic_credentials_are_unauthenticated) {
    for (const auto& value :
         {basic("alice", "wrong"), basic("alice", ""), basic("nobody", "s3cret"), basic("bot", ""),
          std::string("Basic !!!"), "Basic " + core::base64_encode("no-colon")}) {
        auto found = authenticate({{"Authorization", value}});
        ASSERT_FALSE(found) << value;
        EXPECT_EQ(found.error().kind, core::ErrorKind::unauthenticated) << value;
    }
    auto wrong = authenticate({{"Authorization", basic("alice", "wrong")}});
    EXPECT_EQ(wrong.error().message, "unknown user or wrong password");
}

TEST_F(AuthenticatorTest,
       a_successful_basic_check_is_remembered_briefly_and_only_for_that_password) {
    const io::HttpHeader alice{"Authorization", basic("alice", "s3cret")};
    ASSERT_TRUE(authenticate({alice}));
    EXPECT_EQ(auth().password_checks_run(), 1u);
    ASSERT_TRUE(authenticate({alice}));
    EXPECT_EQ(auth().password_checks_run(), 1u) << "the second check came from the cache";
    EXPECT_FALSE(authenticate({{"Authorization", basic("alice", "s3creT")}}));
    EXPECT_EQ(auth().password_checks_run(), 2u) << "failures are never cached";

    now += kBasicCacheSeconds;
    ASSERT_TRUE(authenticate({alice}));
    EXPECT_EQ(auth().password_checks_run(), 3u) << "the cached success expired";

    // A new password voids the cached success at once.
    ASSERT_TRUE(users.add({"alice", hash_password("n3w", kCheap), "alice@example.org", "", {}},
                          /*replace=*/true));
    save();
    EXPECT_FALSE(authenticate({alice}));
    EXPECT_TRUE(authenticate({{"Authorization", basic("alice", "n3w")}}));
}

TEST_F(AuthenticatorTest, a_bearer_token_gives_its_user) {
    auto found = authenticate({{"authorization", "Bearer " + bot_token}});
    ASSERT_TRUE(found) << found.error().message;
    EXPECT_EQ(found->credentials, CredentialKind::bearer);
    EXPECT_EQ(found->user.username, "bot");
    EXPECT_EQ(auth().password_checks_run(), 0u);

    auto wrong = authenticate({{"Authorization", "Bearer kiln_notatoken"}});
    ASSERT_FALSE(wrong);
    EXPECT_EQ(wrong.error().kind, core::ErrorKind::unauthenticated);
    EXPECT_EQ(wrong.error().message, "invalid API token");
}

TEST_F(AuthenticatorTest, an_unsupported_authorization_scheme_is_unauthenticated) {
    auto found = authenticate({{"Authorization", "Digest username=\"alice\""}});
    ASSERT_FALSE(found);
    EXPECT_EQ(found.error().kind, core::ErrorKind::unauthenticated);
    EXPECT_THAT(found.error().message, HasSubstr("'Digest'"));
}

TEST_F(AuthenticatorTest, with_no_auth_configured_every_request_is_anonymous) {
    config.www_auth.method = config::AuthMethod::none;
    EXPECT_EQ(auth().config_json(), (boost::json::object{{"name", "NoAuth"}}));
    for (const auto& value :
         {basic("alice", "s3cret"), "Bearer " + bot_token, std::string("Foo")}) {
        auto found = authenticate({{"Authorization", value}});
        ASSERT_TRUE(found);
        EXPECT_TRUE(found->user.anonymous);
    }
    User alice;
    alice.anonymous = false;
    alice.username = "alice";
    auto by_cookie = authenticate({cookie_from(auth().session_cookie(alice).value)});
    ASSERT_TRUE(by_cookie);
    EXPECT_TRUE(by_cookie->user.anonymous) << "no one can have logged in";
}

TEST_F(AuthenticatorTest, the_session_cookie_names_the_user_until_it_expires) {
    EXPECT_EQ(auth().config_json(), (boost::json::object{{"name", "UserPasswordAuth"}}));
    User alice;
    alice.anonymous = false;
    alice.username = "alice";
    const auto set_cookie = auth().session_cookie(alice);
    EXPECT_EQ(set_cookie.name, "Set-Cookie");
    EXPECT_THAT(set_cookie.value, HasSubstr("TWISTED_SESSION="));
    EXPECT_THAT(set_cookie.value, HasSubstr("; Path=/; HttpOnly; SameSite=Lax"));
    EXPECT_THAT(set_cookie.value, ::testing::Not(HasSubstr("Secure")));

    auto found = authenticate({cookie_from(set_cookie.value)});
    ASSERT_TRUE(found);
    EXPECT_EQ(found->credentials, CredentialKind::session);
    EXPECT_EQ(found->user.username, "alice");
    EXPECT_EQ(found->user.groups, std::vector<std::string>{"kiln-admins"})
        << "the users file's current data, not the cookie's";

    now += 3599;
    EXPECT_EQ(authenticate({cookie_from(set_cookie.value)})->credentials, CredentialKind::session);
    now += 1;
    auto expired = authenticate({cookie_from(set_cookie.value)});
    ASSERT_TRUE(expired) << "an expired session is anonymous, not an error";
    EXPECT_TRUE(expired->user.anonymous);
    EXPECT_EQ(expired->credentials, CredentialKind::none);
}

TEST_F(AuthenticatorTest, a_session_of_a_removed_user_or_a_forged_one_is_anonymous) {
    User alice;
    alice.anonymous = false;
    alice.username = "alice";
    const auto cookie = cookie_from(auth().session_cookie(alice).value);
    Authenticator other{config, "another-key", [this] { return now; }};
    User root;
    root.anonymous = false;
    root.username = "alice";
    const auto forged = cookie_from(other.session_cookie(root).value);
    auto found = authenticate({forged});
    ASSERT_TRUE(found);
    EXPECT_TRUE(found->user.anonymous) << "signed with another key";

    ASSERT_TRUE(users.remove("alice"));
    save();
    found = authenticate({cookie});
    ASSERT_TRUE(found);
    EXPECT_TRUE(found->user.anonymous);
}

TEST_F(AuthenticatorTest, explicit_credentials_win_over_the_cookie) {
    User alice;
    alice.anonymous = false;
    alice.username = "alice";
    auto found = authenticate({cookie_from(auth().session_cookie(alice).value),
                               {"Authorization", "Bearer " + bot_token}});
    ASSERT_TRUE(found);
    EXPECT_EQ(found->user.username, "bot");
}

TEST_F(AuthenticatorTest, a_user_added_to_the_file_can_log_in_without_a_reconfig) {
    EXPECT_FALSE(authenticate({{"Authorization", basic("carol", "pw")}}));
    ASSERT_TRUE(users.add({"carol", hash_password("pw", kCheap), "", "", {}}));
    save();
    auto found = authenticate({{"Authorization", basic("carol", "pw")}});
    ASSERT_TRUE(found) << found.error().message;
    EXPECT_EQ(found->user.username, "carol");
}

TEST_F(AuthenticatorTest, an_unusable_users_file_lets_no_one_in) {
    std::filesystem::permissions(dir_ / "users.txt", std::filesystem::perms::others_write,
                                 std::filesystem::perm_options::add);
    EXPECT_FALSE(authenticate({{"Authorization", "Bearer " + bot_token}}));
    std::filesystem::remove(dir_ / "users.txt");
    EXPECT_FALSE(authenticate({{"Authorization", "Bearer " + bot_token}}));
    save();
    EXPECT_TRUE(authenticate({{"Authorization", "Bearer " + bot_token}}));
}

TEST_F(AuthenticatorTest, too_many_password_checks_at_once_are_refused_not_queued) {
    std::vector<std::optional<core::Expected<Authentication>>> results(kMaxPendingPasswordChecks +
                                                                       1);
    auto task = [](Authenticator& authenticator, io::HttpRequest request,
                   std::optional<core::Expected<Authentication>>& out) -> asio::awaitable<void> {
        out.emplace(co_await authenticator.authenticate(request));
    };
    for (std::size_t i = 0; i < results.size(); ++i) {
        auto request = get("/", {{"Authorization", basic("alice", "guess" + std::to_string(i))}});
        asio::co_spawn(io, task(auth(), std::move(request), results[i]), asio::detached);
    }
    io.restart();
    io.run();
    std::size_t unavailable = 0, unauthenticated = 0;
    for (auto& found : results) {
        ASSERT_TRUE(found);
        ASSERT_FALSE(*found);
        if (found->error().kind == core::ErrorKind::unavailable) ++unavailable;
        if (found->error().kind == core::ErrorKind::unauthenticated) ++unauthenticated;
    }
    EXPECT_EQ(unavailable, 1u);
    EXPECT_EQ(unauthenticated, kMaxPendingPasswordChecks);
}

TEST_F(AuthenticatorTest, login_challenges_then_sets_the_cookie_and_redirects_into_the_ui) {
    auto challenged = run(auth().login(get("/auth/login?redirect=%2Fbuilders%2F1")));
    EXPECT_EQ(challenged.status, 401);
    EXPECT_EQ(header_of(challenged, "WWW-Authenticate"), "Basic realm=\"kiln\", charset=\"UTF-8\"");

    auto refused = run(auth().login(
        get("/auth/login?redirect=%2Fbuilders%2F1", {{"Authorization", basic("alice", "no")}})));
    EXPECT_EQ(refused.status, 401);
    EXPECT_TRUE(header_of(refused, "WWW-Authenticate"));

    auto logged_in = run(auth().login(get("/auth/login?redirect=%2Fbuilders%2F1",
                                          {{"Authorization", basic("alice", "s3cret")}})));
    EXPECT_EQ(logged_in.status, 302);
    EXPECT_EQ(header_of(logged_in, "Location"), "http://ci.example.org/#/builders/1");
    const auto set_cookie = header_of(logged_in, "Set-Cookie");
    ASSERT_TRUE(set_cookie);
    auto found = authenticate({cookie_from(*set_cookie)});
    ASSERT_TRUE(found);
    EXPECT_EQ(found->credentials, CredentialKind::session);
    EXPECT_EQ(found->user.username, "alice");

    auto no_route =
        run(auth().login(get("/auth/login", {{"Authorization", basic("alice", "s3cret")}})));
    EXPECT_EQ(header_of(no_route, "Location"), "http://ci.example.org/#/");
}

TEST_F(AuthenticatorTest, login_keeps_header_breaking_characters_out_of_the_location) {
    auto response = run(auth().login(get("/auth/login?redirect=%0D%0ASet-Cookie:%20x=1",
                                         {{"Authorization", basic("alice", "s3cret")}})));
    EXPECT_EQ(header_of(response, "Location"), "http://ci.example.org/#%0D%0ASet-Cookie:%20x=1");
}

TEST_F(AuthenticatorTest, login_without_auth_configured_is_not_implemented) {
    config.www_auth.method = config::AuthMethod::none;
    auto response =
        run(auth().login(get("/auth/login", {{"Authorization", basic("alice", "s3cret")}})));
    EXPECT_EQ(response.status, 501);
}

TEST_F(AuthenticatorTest, logout_resets_the_session_to_anonymous_and_redirects) {
    auto response = auth().logout(get("/auth/logout?redirect=/about"));
    EXPECT_EQ(response.status, 302);
    EXPECT_EQ(header_of(response, "Location"), "http://ci.example.org/#/about");
    const auto set_cookie = header_of(response, "Set-Cookie");
    ASSERT_TRUE(set_cookie);
    auto found = authenticate({cookie_from(*set_cookie)});
    ASSERT_TRUE(found);
    EXPECT_TRUE(found->user.anonymous);
    EXPECT_EQ(header_of(auth().logout(get("/auth/logout")), "Location"),
              "http://ci.example.org/#/");
}

TEST_F(AuthenticatorTest, an_https_url_makes_the_cookie_secure_under_buildbots_secure_name) {
    config.url = "HTTPS://ci.example.org/";
    EXPECT_EQ(auth().cookie_name(), "TWISTED_SECURE_SESSION");
    User alice;
    alice.anonymous = false;
    alice.username = "alice";
    const auto set_cookie = auth().session_cookie(alice).value;
    EXPECT_TRUE(set_cookie.starts_with("TWISTED_SECURE_SESSION="));
    EXPECT_TRUE(set_cookie.ends_with("; Secure"));
    EXPECT_EQ(authenticate({cookie_from(set_cookie)})->user.username, "alice");
    auto plain_name = "TWISTED_SESSION" + cookie_from(set_cookie).value.substr(22);
    EXPECT_TRUE(authenticate({{"Cookie", plain_name}})->user.anonymous);
}

TEST_F(AuthenticatorTest, reconfigure_switches_the_method) {
    ASSERT_TRUE(authenticate({{"Authorization", "Bearer " + bot_token}})->user.username == "bot");
    config.www_auth.method = config::AuthMethod::none;
    auth().reconfigure(config);
    EXPECT_TRUE(authenticate({{"Authorization", "Bearer " + bot_token}})->user.anonymous);
}

}  // namespace
}  // namespace kiln::www
