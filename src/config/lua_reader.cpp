// SPDX-License-Identifier: Apache-2.0
#include "config/detail/lua_json.hpp"
#include "config/detail/reader.hpp"
#include "config/lua_runtime.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <lua.hpp>
#include <regex>
#include <sstream>

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

namespace kiln::config::detail {
namespace {

constexpr int kMaxFingerprintDepth = 3;

std::string in_quotes(std::string_view text) { return "'" + std::string(text) + "'"; }

// Lua source names are "@file"; messages use the file alone.
std::string source_file(const char* source) {
    if (!source) return "?";
    return source[0] == '@' ? std::string(source + 1) : std::string(source);
}

std::string escape_pointer_token(std::string_view token) {
    std::string escaped;
    for (char c : token) {
        if (c == '~')
            escaped += "~0";
        else if (c == '/')
            escaped += "~1";
        else
            escaped += c;
    }
    return escaped;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> previous(b.size() + 1), current(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j)
        previous[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        current[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
            current[j] = std::min({previous[j] + 1, current[j - 1] + 1, substitution});
        }
        std::swap(previous, current);
    }
    return previous[b.size()];
}

}  // namespace

StackGuard::StackGuard(lua_State* state)
    : state_(state)
    , top_(lua_gettop(state)) {}

StackGuard::~StackGuard() { lua_settop(state_, top_); }

std::optional<std::string_view> suggest(std::string_view word,
                                        const std::vector<std::string_view>& candidates) {
    std::optional<std::string_view> best;
    std::size_t best_distance = std::max<std::size_t>(2, word.size() / 3) + 1;
    for (auto candidate : candidates) {
        const auto distance = edit_distance(word, candidate);
        if (distance < best_distance) {
            best_distance = distance;
            best = candidate;
        }
    }
    return best;
}

bool is_identifier(std::string_view name) {
    std::size_t characters = 0;
    for (std::size_t i = 0; i < name.size();) {
        const auto byte = static_cast<unsigned char>(name[i]);
        std::uint32_t code_point = byte;
        std::size_t length = 1;
        if (byte >= 0x80) {
            if ((byte & 0xE0) == 0xC0)
                length = 2, code_point = byte & 0x1Fu;
            else if ((byte & 0xF0) == 0xE0)
                length = 3, code_point = byte & 0x0Fu;
            else if ((byte & 0xF8) == 0xF0)
                length = 4, code_point = byte & 0x07u;
            else
                return false;
            if (i + length > name.size()) return false;
            for (std::size_t k = 1; k < length; ++k) {
                const auto next = static_cast<unsigned char>(name[i + k]);
                if ((next & 0xC0) != 0x80) return false;
                code_point = (code_point << 6) | (next & 0x3Fu);
            }
        }
        const bool letter = (code_point >= 'a' && code_point <= 'z') ||
                            (code_point >= 'A' && code_point <= 'Z') || code_point >= 0xA0 ||
                            code_point == '_' || code_point == '-';
        const bool digit = code_point >= '0' && code_point <= '9';
        if (!(letter || (characters > 0 && digit))) return false;
        ++characters;
        i += length;
    }
    return characters > 0 && characters <= 50;
}

// ---- Reader ----

Reader::Reader(std::shared_ptr<LuaRuntime> runtime, std::vector<ConfigError>& errors,
               std::map<std::string, std::string>& secrets)
    : runtime_(std::move(runtime))
    , state_(runtime_->state())
    , errors_(errors)
    , secrets_(secrets) {}

void Reader::error(const SourceLocation& where, std::string message) {
    errors_.push_back(ConfigError{where, std::move(message)});
}

std::string Reader::type_name(int index) { return describe_type(state_, index); }

std::optional<KilnObject> Reader::object(int index) {
    index = lua_absindex(state_, index);
    if (!is_kiln_object(state_, index)) return std::nullopt;
    KilnObject result;
    lua_getfield(state_, index, "kind");
    result.kind = lua_tostring(state_, -1) ? lua_tostring(state_, -1) : "?";
    lua_getfield(state_, index, "file");
    result.where.file = lua_tostring(state_, -1) ? lua_tostring(state_, -1) : "?";
    lua_getfield(state_, index, "line");
    result.where.line = static_cast<int>(lua_tointeger(state_, -1));
    lua_getfield(state_, index, "positional");
    result.positional = lua_toboolean(state_, -1) != 0;
    lua_getfield(state_, index, "extra");
    result.extra_arguments = static_cast<int>(lua_tointeger(state_, -1));
    lua_pop(state_, 5);
    lua_getfield(state_, index, "args");
    result.args = lua_gettop(state_);
    return result;
}

std::string Reader::fingerprint(int index, int depth) {
    StackGuard guard{state_};
    index = lua_absindex(state_, index);
    lua_Debug info;
    lua_pushvalue(state_, index);
    lua_getinfo(state_, ">S", &info);
    std::string text;
    if (info.what && std::string_view(info.what) == "C") {
        text = "<C function>";
    } else {
        text = runtime_->source_lines(source_file(info.source), info.linedefined,
                                      info.lastlinedefined);
        if (text.empty()) text = source_file(info.source) + ":" + std::to_string(info.linedefined);
    }
    for (int position = 1;; ++position) {
        const char* name = lua_getupvalue(state_, index, position);
        if (!name) break;
        std::string value;
        if (std::string_view(name) == "_ENV") {
            value = "_ENV";
        } else if (lua_type(state_, -1) == LUA_TFUNCTION) {
            value = depth < kMaxFingerprintDepth ? fingerprint(-1, depth + 1) : "function";
        } else if (auto json = lua_to_json(state_, -1)) {
            value = boost::json::serialize(*json);
        } else {
            value = type_name(-1);
        }
        lua_pop(state_, 1);
        text += "\nupvalue " + std::string(name) + " = " + value;
    }
    return text;
}

Callable Reader::callable(int index) {
    index = lua_absindex(state_, index);
    lua_Debug info;
    lua_pushvalue(state_, index);
    lua_getinfo(state_, ">S", &info);
    SourceLocation where{source_file(info.source), info.linedefined};
    auto print = fingerprint(index, 0);
    lua_pushvalue(state_, index);
    const int reference = luaL_ref(state_, LUA_REGISTRYINDEX);
    return Callable(runtime_, reference, std::move(where), std::move(print));
}

std::optional<std::string> Reader::resolve_secret(const KilnObject& secret) {
    StackGuard guard{state_};
    lua_getfield(state_, secret.args, "n");
    const auto count = lua_tointeger(state_, -1);
    lua_rawgeti(state_, secret.args, 1);
    if (count != 1 || lua_type(state_, -1) != LUA_TSTRING) {
        error(secret.where, "k.secret takes one argument, the secret's name (a string)");
        return std::nullopt;
    }
    std::string name = lua_tostring(state_, -1);
    static const std::regex valid{R"(^[A-Za-z0-9_][A-Za-z0-9_.-]*$)"};
    if (!std::regex_match(name, valid)) {
        error(secret.where, "k.secret(" + in_quotes(name) +
                                "): a secret's name is a file name in secrets/ (letters, digits, "
                                "'_', '-', '.')");
        return std::nullopt;
    }
    if (auto known = secrets_.find(name); known != secrets_.end()) return known->second;
    std::ifstream file{runtime_->master_dir() / "secrets" / name, std::ios::binary};
    if (!file) {
        error(secret.where, "k.secret(" + in_quotes(name) + "): cannot read secrets/" + name +
                                " in the master directory");
        return std::nullopt;
    }
    std::ostringstream content;
    content << file.rdbuf();
    std::string value = content.str();
    if (value.ends_with("\n")) value.pop_back();
    if (value.ends_with("\r")) value.pop_back();
    secrets_[name] = value;
    return value;
}

std::optional<Renderable> Reader::renderable(int index, const SourceLocation& where,
                                             const std::string& what, int depth) {
    StackGuard guard{state_};
    index = lua_absindex(state_, index);
    switch (lua_type(state_, index)) {
    case LUA_TNIL:
    case LUA_TBOOLEAN:
    case LUA_TNUMBER:
    case LUA_TSTRING: {
        auto value = lua_to_json(state_, index);
        if (!value) {
            error(where, what + " must not be " + value.error().message);
            return std::nullopt;
        }
        return Renderable::constant(std::move(*value));
    }
    case LUA_TFUNCTION: return Renderable::function(callable(index));
    case LUA_TTABLE: break;
    default: error(where, what + " cannot be a " + type_name(index)); return std::nullopt;
    }
    if (auto object = this->object(index)) {
        if (object->kind == "interpolate" || object->kind == "property") {
            lua_getfield(state_, object->args, "n");
            const auto count = lua_tointeger(state_, -1);
            lua_rawgeti(state_, object->args, 1);
            if (lua_type(state_, -1) != LUA_TSTRING) {
                error(object->where, "k." + object->kind + " needs a string as its first argument");
                return std::nullopt;
            }
            std::string text = lua_tostring(state_, -1);
            if (object->kind == "interpolate") {
                if (count != 1) {
                    error(object->where, "k.interpolate takes one argument, the format "
                                         "(positional %s arguments are not supported)");
                    return std::nullopt;
                }
                auto parsed = Renderable::interpolate(text, object->where);
                if (!parsed) {
                    error(object->where, "k.interpolate: " + parsed.error().message);
                    return std::nullopt;
                }
                return std::move(*parsed);
            }
            if (count > 3) {
                error(object->where,
                      "k.property takes (name, default, default_when_false), got more arguments");
                return std::nullopt;
            }
            lua_rawgeti(state_, object->args, 2);
            auto fallback = renderable(-1, object->where, "the default of k.property", depth + 1);
            if (!fallback) return std::nullopt;
            lua_rawgeti(state_, object->args, 3);
            bool default_when_false = true;
            if (lua_type(state_, -1) == LUA_TBOOLEAN) {
                default_when_false = lua_toboolean(state_, -1) != 0;
            } else if (!lua_isnil(state_, -1)) {
                error(object->where, "k.property: the third argument (default_when_false) must "
                                     "be a boolean");
                return std::nullopt;
            }
            return Renderable::property(text, std::move(*fallback), default_when_false,
                                        object->where);
        }
        if (object->kind == "secret")
            error(object->where, what + " cannot be a k.secret (secrets are for passwords)");
        else
            error(object->where, what + " cannot be a k." + object->kind + "{...}");
        return std::nullopt;
    }
    if (depth > kMaxNesting) {
        error(where, what + " is nested too deeply (a table that contains itself?)");
        return std::nullopt;
    }
    // A list (keys 1..n) renders element by element; any other table as an object.
    lua_Integer count = 0;
    bool sequence = true;
    lua_pushnil(state_);
    while (lua_next(state_, index)) {
        ++count;
        if (!lua_isinteger(state_, -2) || lua_tointeger(state_, -2) < 1) sequence = false;
        lua_pop(state_, 1);
    }
    if (sequence && static_cast<lua_Integer>(lua_rawlen(state_, index)) != count) sequence = false;
    bool ok = true;
    if (sequence && count > 0) {
        std::vector<Renderable> elements;
        for (lua_Integer position = 1; position <= count; ++position) {
            lua_rawgeti(state_, index, position);
            auto element = renderable(-1, where, what, depth + 1);
            lua_pop(state_, 1);
            if (element)
                elements.push_back(std::move(*element));
            else
                ok = false;
        }
        if (!ok) return std::nullopt;
        return Renderable::list(std::move(elements));
    }
    std::vector<std::pair<std::string, Renderable>> members;
    lua_pushnil(state_);
    while (lua_next(state_, index)) {
        std::string key;
        if (lua_type(state_, -2) == LUA_TSTRING) {
            key = lua_tostring(state_, -2);
        } else if (lua_isinteger(state_, -2)) {
            key = std::to_string(lua_tointeger(state_, -2));
        } else {
            error(where, what + " has a " + type_name(-2) + " key");
            ok = false;
            lua_pop(state_, 1);
            continue;
        }
        auto member = renderable(-1, where, what + "." + key, depth + 1);
        lua_pop(state_, 1);
        if (member)
            members.emplace_back(std::move(key), std::move(*member));
        else
            ok = false;
    }
    if (!ok) return std::nullopt;
    std::sort(members.begin(), members.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    return Renderable::object(std::move(members));
}

std::optional<boost::json::value> Reader::plain(int index, const SourceLocation& where,
                                                const std::string& what) {
    auto value = lua_to_json(state_, index);
    if (!value) {
        error(where, what + " must be plain data, got " + value.error().message);
        return std::nullopt;
    }
    return std::move(*value);
}

std::optional<std::string> Reader::string_or_secret(int index, const SourceLocation& where,
                                                    const std::string& what) {
    StackGuard guard{state_};
    if (lua_type(state_, index) == LUA_TSTRING) return std::string(lua_tostring(state_, index));
    if (auto object = this->object(index); object && object->kind == "secret")
        return resolve_secret(*object);
    // Only the type: the value may be a password.
    error(where, what + " must be a string or k.secret(\"name\"), got " + type_name(index));
    return std::nullopt;
}

boost::json::value Reader::opaque(int index, const SourceLocation& where, const std::string& what,
                                  const std::string& pointer, OpaqueParts& parts, int depth) {
    StackGuard guard{state_};
    index = lua_absindex(state_, index);
    const int type = lua_type(state_, index);
    if (type == LUA_TFUNCTION) {
        parts.functions.emplace(pointer, callable(index));
        return boost::json::object{{"$function", pointer}};
    }
    if (type != LUA_TTABLE) {
        auto value = lua_to_json(state_, index);
        if (!value) error(where, what + " must not be " + value.error().message);
        return value ? std::move(*value) : boost::json::value{};
    }
    if (auto object = this->object(index)) {
        if (object->kind == "secret") {
            lua_rawgeti(state_, object->args, 1);
            std::string name = lua_tostring(state_, -1) ? lua_tostring(state_, -1) : "";
            if (!resolve_secret(*object)) return boost::json::value{};
            return boost::json::object{{"$secret", name}};
        }
        if (object->kind == "interpolate" || object->kind == "property") {
            lua_pushvalue(state_, index);
            if (auto rendered = renderable(-1, where, what))
                parts.renderables.emplace(pointer, std::move(*rendered));
            return boost::json::object{{"$renderable", pointer}};
        }
        boost::json::object nested;
        nested["$kind"] = object->kind;
        nested["$where"] = object->where.to_string();
        nested["args"] = opaque(object->args, object->where, "k." + object->kind, pointer + "/args",
                                parts, depth + 1);
        return nested;
    }
    if (depth > kMaxNesting) {
        error(where, what + " is nested too deeply (a table that contains itself?)");
        return boost::json::value{};
    }
    lua_Integer count = 0;
    bool sequence = true;
    lua_pushnil(state_);
    while (lua_next(state_, index)) {
        ++count;
        if (!lua_isinteger(state_, -2) || lua_tointeger(state_, -2) < 1) sequence = false;
        lua_pop(state_, 1);
    }
    if (sequence && static_cast<lua_Integer>(lua_rawlen(state_, index)) != count) sequence = false;
    if (sequence && count > 0) {
        boost::json::array array;
        for (lua_Integer position = 1; position <= count; ++position) {
            lua_rawgeti(state_, index, position);
            array.push_back(opaque(-1, where, what, pointer + "/" + std::to_string(position - 1),
                                   parts, depth + 1));
            lua_pop(state_, 1);
        }
        return array;
    }
    boost::json::object object;
    lua_pushnil(state_);
    while (lua_next(state_, index)) {
        std::string key;
        if (lua_type(state_, -2) == LUA_TSTRING)
            key = lua_tostring(state_, -2);
        else if (lua_isinteger(state_, -2))
            key = std::to_string(lua_tointeger(state_, -2));
        else {
            error(where, what + " has a " + type_name(-2) + " key");
            lua_pop(state_, 1);
            continue;
        }
        object[key] =
            opaque(-1, where, what, pointer + "/" + escape_pointer_token(key), parts, depth + 1);
        lua_pop(state_, 1);
    }
    return object;
}

// ---- Fields ----

Fields::Fields(Reader& reader, int table, std::string context, SourceLocation where,
               std::vector<std::string_view> known)
    : reader_(reader)
    , table_(lua_absindex(reader.state(), table))
    , context_(std::move(context))
    , where_(std::move(where)) {
    lua_State* state = reader_.state();
    StackGuard guard{state};
    lua_pushnil(state);
    while (lua_next(state, table_)) {
        if (lua_type(state, -2) != LUA_TSTRING) {
            reader_.error(where_, context_ + " takes named fields only (name = value), got a " +
                                      std::string(luaL_typename(state, -2)) + " key");
        } else {
            std::string_view key = lua_tostring(state, -2);
            if (std::find(known.begin(), known.end(), key) == known.end()) {
                std::string message = "unknown key " + in_quotes(key) + " in " + context_;
                if (auto close = suggest(key, known))
                    message += " (did you mean " + in_quotes(*close) + "?)";
                reader_.error(where_, std::move(message));
            }
        }
        lua_pop(state, 1);
    }
}

bool Fields::has(std::string_view key) const {
    StackGuard guard{reader_.state()};
    push(key);
    return !lua_isnil(reader_.state(), -1);
}

void Fields::push(std::string_view key) const {
    lua_State* state = reader_.state();
    lua_pushlstring(state, key.data(), key.size());
    lua_rawget(state, table_);
}

void Fields::missing(std::string_view key) const {
    reader_.error(where_, context_ + ": " + in_quotes(key) + " is required");
}

void Fields::wrong_type(std::string_view key, std::string_view expected, int index) const {
    reader_.error(where_, in_quotes(key) + " in " + context_ + " must be " + std::string(expected) +
                              ", got " + reader_.type_name(index));
}

void Fields::invalid(std::string_view key, const std::string& problem) const {
    reader_.error(where_, in_quotes(key) + " in " + context_ + " " + problem);
}

std::optional<std::string> Fields::string(std::string_view key, bool required) const {
    lua_State* state = reader_.state();
    StackGuard guard{state};
    push(key);
    if (lua_isnil(state, -1)) {
        if (required) missing(key);
        return std::nullopt;
    }
    if (lua_type(state, -1) != LUA_TSTRING) {
        wrong_type(key, "a string", -1);
        return std::nullopt;
    }
    return std::string(lua_tostring(state, -1));
}

std::optional<bool> Fields::boolean(std::string_view key) const {
    lua_State* state = reader_.state();
    StackGuard guard{state};
    push(key);
    if (lua_isnil(state, -1)) return std::nullopt;
    if (lua_type(state, -1) != LUA_TBOOLEAN) {
        wrong_type(key, "a boolean", -1);
        return std::nullopt;
    }
    return lua_toboolean(state, -1) != 0;
}

std::optional<std::int64_t> Fields::integer(std::string_view key, std::int64_t minimum,
                                            std::int64_t maximum) const {
    lua_State* state = reader_.state();
    StackGuard guard{state};
    push(key);
    if (lua_isnil(state, -1)) return std::nullopt;
    lua_Integer value = 0;
    if (lua_isinteger(state, -1)) {
        value = lua_tointeger(state, -1);
    } else if (lua_type(state, -1) == LUA_TNUMBER &&
               lua_tonumber(state, -1) == std::floor(lua_tonumber(state, -1)) &&
               std::fabs(lua_tonumber(state, -1)) < 9e15) {
        value = static_cast<lua_Integer>(lua_tonumber(state, -1));
    } else {
        wrong_type(key, "an integer", -1);
        return std::nullopt;
    }
    if (value < minimum || value > maximum) {
        invalid(key, "must be between " + std::to_string(minimum) + " and " +
                         std::to_string(maximum) + ", got " + std::to_string(value));
        return std::nullopt;
    }
    return value;
}

std::optional<double> Fields::number(std::string_view key, double minimum) const {
    lua_State* state = reader_.state();
    StackGuard guard{state};
    push(key);
    if (lua_isnil(state, -1)) return std::nullopt;
    if (lua_type(state, -1) != LUA_TNUMBER || !std::isfinite(lua_tonumber(state, -1))) {
        wrong_type(key, "a number", -1);
        return std::nullopt;
    }
    const double value = static_cast<double>(lua_tonumber(state, -1));
    if (value < minimum) {
        invalid(key, "must be at least " + boost::json::serialize(boost::json::value(minimum)));
        return std::nullopt;
    }
    return value;
}

std::optional<std::vector<std::string>> Fields::string_list(std::string_view key) const {
    lua_State* state = reader_.state();
    StackGuard guard{state};
    push(key);
    if (lua_isnil(state, -1)) return std::nullopt;
    const int index = lua_gettop(state);
    if (lua_type(state, index) != LUA_TTABLE || reader_.object(index)) {
        wrong_type(key, "a list of strings", index);
        return std::nullopt;
    }
    lua_settop(state, index);
    std::vector<std::string> result;
    lua_Integer count = 0;
    bool ok = true;
    lua_pushnil(state);
    while (lua_next(state, index)) {
        ++count;
        if (!lua_isinteger(state, -2) || lua_tointeger(state, -2) < 1) ok = false;
        lua_pop(state, 1);
    }
    if (!ok || static_cast<lua_Integer>(lua_rawlen(state, index)) != count) {
        wrong_type(key, "a list of strings", index);
        return std::nullopt;
    }
    for (lua_Integer position = 1; position <= count; ++position) {
        lua_rawgeti(state, index, position);
        if (lua_type(state, -1) != LUA_TSTRING) {
            invalid(key, "must hold strings only, element " + std::to_string(position) + " is a " +
                             reader_.type_name(-1));
            ok = false;
        } else {
            result.emplace_back(lua_tostring(state, -1));
        }
        lua_pop(state, 1);
    }
    if (!ok) return std::nullopt;
    return result;
}

std::optional<Renderable> Fields::renderable(std::string_view key) const {
    StackGuard guard{reader_.state()};
    push(key);
    if (lua_isnil(reader_.state(), -1)) return std::nullopt;
    return reader_.renderable(-1, where_, in_quotes(key) + " in " + context_);
}

std::optional<boost::json::value> Fields::plain(std::string_view key) const {
    StackGuard guard{reader_.state()};
    push(key);
    if (lua_isnil(reader_.state(), -1)) return std::nullopt;
    return reader_.plain(-1, where_, in_quotes(key) + " in " + context_);
}

std::optional<Callable> Fields::function(std::string_view key) const {
    lua_State* state = reader_.state();
    StackGuard guard{state};
    push(key);
    if (lua_isnil(state, -1)) return std::nullopt;
    if (lua_type(state, -1) != LUA_TFUNCTION) {
        wrong_type(key, "a function", -1);
        return std::nullopt;
    }
    return reader_.callable(-1);
}

std::optional<Predicate> Fields::predicate(std::string_view key) const {
    lua_State* state = reader_.state();
    StackGuard guard{state};
    push(key);
    if (lua_isnil(state, -1)) return std::nullopt;
    if (lua_type(state, -1) == LUA_TBOOLEAN) return Predicate::constant(lua_toboolean(state, -1));
    if (lua_type(state, -1) == LUA_TFUNCTION) return Predicate{false, reader_.callable(-1)};
    wrong_type(key, "a boolean or a function", -1);
    return std::nullopt;
}

void Fields::properties(std::string_view key, core::Properties& constants,
                        std::map<std::string, Renderable, std::less<>>* renderables,
                        std::string_view source) const {
    lua_State* state = reader_.state();
    StackGuard guard{state};
    push(key);
    if (lua_isnil(state, -1)) return;
    const int index = lua_gettop(state);
    if (lua_type(state, index) != LUA_TTABLE || reader_.object(index)) {
        wrong_type(key, "a table of name = value", index);
        return;
    }
    lua_settop(state, index);
    lua_pushnil(state);
    while (lua_next(state, index)) {
        if (lua_type(state, -2) != LUA_TSTRING) {
            invalid(key, "must map names to values, got a " +
                             std::string(luaL_typename(state, -2)) + " key");
            lua_pop(state, 1);
            continue;
        }
        std::string name = lua_tostring(state, -2);
        auto value =
            reader_.renderable(-1, where_, "property " + in_quotes(name) + " in " + context_);
        lua_pop(state, 1);
        if (!value) continue;
        if (const auto* constant = value->constant_value()) {
            constants.set(name, *constant, source);
        } else if (renderables) {
            renderables->emplace(std::move(name), std::move(*value));
        } else {
            invalid(key, "must hold plain values (property " + in_quotes(name) +
                             " is computed, which is not allowed here)");
        }
    }
}

}  // namespace kiln::config::detail
