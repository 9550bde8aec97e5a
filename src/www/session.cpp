// SPDX-License-Identifier: Apache-2.0
#include "www/session.hpp"

#include "www/crypto.hpp"
#include "www/detail/http.hpp"

#include <stdexcept>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace kiln::www {

namespace {

constexpr std::string_view kHeader = R"({"alg":"HS256","typ":"JWT"})";

core::Error invalid(std::string message) {
    return core::fail(core::ErrorKind::bad_input, "session token: " + std::move(message));
}

std::optional<boost::json::object> parse_object(std::string_view text) {
    boost::system::error_code error;
    auto value = boost::json::parse(text, error);
    if (error || !value.is_object()) return std::nullopt;
    return std::move(value.as_object());
}

}  // namespace

SessionCodec::SessionCodec(std::string key)
    : key_(std::move(key)) {
    if (key_.empty()) throw std::invalid_argument("SessionCodec: empty key");
}

std::string SessionCodec::encode(const boost::json::object& user_info, std::int64_t expires) const {
    boost::json::object claims;
    claims["user_info"] = user_info;
    claims["exp"] = expires;
    std::string signed_part =
        base64url_encode(kHeader) + "." + base64url_encode(boost::json::serialize(claims));
    const auto signature = hmac_sha256(key_, signed_part);
    return signed_part + "." + base64url_encode(signature);
}

core::Expected<boost::json::object> SessionCodec::decode(std::string_view token,
                                                         std::int64_t now) const {
    if (token.size() > kMaxSessionTokenBytes) return invalid("too long");
    const auto first = token.find('.');
    const auto last = token.rfind('.');
    if (first == std::string_view::npos || first == last) return invalid("not a JWT");
    const auto signed_part = token.substr(0, last);
    const auto signature = base64url_decode(token.substr(last + 1));
    // The signature first: nothing else in an unsigned token deserves a look.
    if (!signature || !constant_time_equal(*signature, hmac_sha256(key_, signed_part)))
        return invalid("bad signature");
    const auto header_text = base64url_decode(token.substr(0, first));
    const auto claims_text = base64url_decode(token.substr(first + 1, last - first - 1));
    if (!header_text || !claims_text) return invalid("not base64url");
    const auto header = parse_object(*header_text);
    const auto* algorithm = header ? header->if_contains("alg") : nullptr;
    if (!algorithm || !algorithm->is_string() || algorithm->get_string() != "HS256")
        return invalid("the algorithm is not HS256");
    auto claims = parse_object(*claims_text);
    if (!claims) return invalid("the claims are not a JSON object");
    const auto* expires = claims->if_contains("exp");
    if (!expires || !expires->is_number()) return invalid("no expiry");
    if (expires->to_number<double>() <= static_cast<double>(now)) return invalid("expired");
    auto* user_info = claims->if_contains("user_info");
    if (!user_info || !user_info->is_object()) return invalid("no user_info object");
    return std::move(user_info->as_object());
}

std::optional<std::string_view> find_cookie(const io::HttpRequest& request, std::string_view name) {
    for (const auto& header : request.headers) {
        if (!detail::iequals(header.name, "cookie")) continue;
        std::string_view rest = header.value;
        while (!rest.empty()) {
            const auto end = rest.find(';');
            auto pair = rest.substr(0, end);
            rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
            while (!pair.empty() && (pair.front() == ' ' || pair.front() == '\t'))
                pair.remove_prefix(1);
            while (!pair.empty() && (pair.back() == ' ' || pair.back() == '\t'))
                pair.remove_suffix(1);
            const auto equals = pair.find('=');
            if (equals == std::string_view::npos || pair.substr(0, equals) != name) continue;
            auto value = pair.substr(equals + 1);
            if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
                value = value.substr(1, value.size() - 2);
            return value;
        }
    }
    return std::nullopt;
}

std::string set_cookie_value(std::string_view name, std::string_view value, bool secure) {
    std::string cookie =
        std::string(name) + "=" + std::string(value) + "; Path=/; HttpOnly; SameSite=Lax";
    if (secure) cookie += "; Secure";
    return cookie;
}

boost::asio::awaitable<std::string> load_session_key(data::ObjectState& state) {
    // Buildbot's names, so Buildbot masters on the same database share the key. Named locals,
    // not temporaries inside the co_await (docs/decisions/0001).
    std::string name = "www";
    std::string class_name = "buildbot.www.service.WWWService";
    std::string state_name = "session_secret";
    auto fresh = boost::json::value(to_hex(random_bytes(32)));
    auto find_object = state.object_id(std::move(name), std::move(class_name));
    const auto objectid = co_await std::move(find_object);
    auto find_key = state.get_or_create(objectid, std::move(state_name), std::move(fresh));
    const auto stored = co_await std::move(find_key);
    if (!stored.is_string() || stored.get_string().empty())
        throw std::runtime_error("the stored www session_secret is not a non-empty string");
    co_return std::string(stored.get_string());
}

}  // namespace kiln::www
