// SPDX-License-Identifier: Apache-2.0
#include "config/detail/interpolate.hpp"

#include <boost/json/serialize.hpp>

namespace kiln::config::detail {
namespace {

core::Error bad(std::string message) {
    return core::fail(core::ErrorKind::bad_input, std::move(message));
}

core::Expected<std::shared_ptr<const Interpolation>> parse_nested(std::string_view text) {
    auto parsed = parse_interpolation(text);
    if (!parsed) return parsed.error();
    return std::make_shared<const Interpolation>(std::move(*parsed));
}

// key is "prop:name", "prop:name:-default", "prop:name:?|yes|no", ...
core::Expected<Substitution> parse_key(std::string_view key) {
    auto colon = key.find(':');
    auto space = key.substr(0, colon);
    if (colon == std::string_view::npos)
        return bad("'%(" + std::string(key) +
                   ")s' needs a namespace: write '%(prop:" + std::string(key) + ")s'");
    if (space != "prop")
        return bad("'%(" + std::string(key) + ")s': only the 'prop:' namespace is supported (" +
                   std::string(space) + ": is not); use k.property or a function instead");
    auto rest = key.substr(colon + 1);
    auto name_end = rest.find(':');
    Substitution substitution;
    substitution.property = std::string(rest.substr(0, name_end));
    if (substitution.property.empty())
        return bad("'%(" + std::string(key) + ")s' names no property");
    if (name_end == std::string_view::npos) return substitution;
    auto operation = rest.substr(name_end + 1);
    using Op = Substitution::Operator;
    auto single = [&](Op op) -> core::Expected<Substitution> {
        auto nested = parse_nested(operation.substr(1));
        if (!nested) return nested.error();
        substitution.op = op;
        substitution.first = std::move(*nested);
        return substitution;
    };
    auto ternary = [&](Op op, std::string_view body) -> core::Expected<Substitution> {
        if (body.empty())
            return bad("'%(" + std::string(key) + ")s': a '?' needs '|when|otherwise'");
        char delimiter = body.front();
        auto branches = body.substr(1);
        auto split = branches.find(delimiter);
        if (split == std::string_view::npos)
            return bad("'%(" + std::string(key) + ")s': a '?' needs two branches, as in '?|" +
                       "when|otherwise'");
        auto when = parse_nested(branches.substr(0, split));
        if (!when) return when.error();
        auto otherwise = parse_nested(branches.substr(split + 1));
        if (!otherwise) return otherwise.error();
        substitution.op = op;
        substitution.first = std::move(*when);
        substitution.second = std::move(*otherwise);
        return substitution;
    };
    if (operation.starts_with("-")) return single(Op::default_if_unset);
    if (operation.starts_with("~")) return single(Op::default_if_false);
    if (operation.starts_with("+")) return single(Op::replace_if_set);
    if (operation.starts_with("?")) return ternary(Op::if_set, operation.substr(1));
    if (operation.starts_with("#?")) return ternary(Op::if_true, operation.substr(2));
    return bad("'%(" + std::string(key) + ")s': unknown operator after the property name " +
               "(expected one of :- :~ :+ :? :#?)");
}

}  // namespace

core::Expected<Interpolation> parse_interpolation(std::string_view format) {
    Interpolation result;
    std::string literal;
    std::size_t position = 0;
    while (position < format.size()) {
        char c = format[position];
        if (c != '%') {
            literal += c;
            ++position;
            continue;
        }
        if (position + 1 < format.size() && format[position + 1] == '%') {
            literal += '%';
            position += 2;
            continue;
        }
        if (position + 1 >= format.size() || format[position + 1] != '(')
            return bad("a '%' must start '%(prop:name)s' or be doubled ('%%') (at offset " +
                       std::to_string(position) + ")");
        // Like Python's % operator, the key ends at the parenthesis that balances '%('.
        std::size_t depth = 1;
        std::size_t end = position + 2;
        for (; end < format.size() && depth > 0; ++end) {
            if (format[end] == '(') ++depth;
            if (format[end] == ')') --depth;
        }
        if (depth != 0)
            return bad("unbalanced parentheses in '%(' at offset " + std::to_string(position));
        auto key = format.substr(position + 2, end - 1 - (position + 2));
        if (end >= format.size() || format[end] != 's')
            return bad("'%(" + std::string(key) + ")' must be followed by 's'");
        auto substitution = parse_key(key);
        if (!substitution) return substitution.error();
        if (!literal.empty()) result.parts.emplace_back(std::move(literal));
        literal.clear();
        result.parts.emplace_back(std::move(*substitution));
        position = end + 1;
    }
    if (!literal.empty()) result.parts.emplace_back(std::move(literal));
    return result;
}

std::string property_text(const boost::json::value& value) {
    switch (value.kind()) {
    case boost::json::kind::null: return "None";
    case boost::json::kind::bool_: return value.get_bool() ? "True" : "False";
    case boost::json::kind::string: return std::string(value.get_string());
    default: return boost::json::serialize(value);
    }
}

bool is_truthy(const boost::json::value& value) {
    switch (value.kind()) {
    case boost::json::kind::null: return false;
    case boost::json::kind::bool_: return value.get_bool();
    case boost::json::kind::int64: return value.get_int64() != 0;
    case boost::json::kind::uint64: return value.get_uint64() != 0;
    case boost::json::kind::double_: return value.get_double() != 0.0;
    case boost::json::kind::string: return !value.get_string().empty();
    case boost::json::kind::array: return !value.get_array().empty();
    case boost::json::kind::object: return !value.get_object().empty();
    }
    return false;
}

std::string render_interpolation(const Interpolation& interpolation,
                                 const core::Properties& properties) {
    std::string out;
    for (const auto& part : interpolation.parts) {
        if (const auto* text = std::get_if<std::string>(&part)) {
            out += *text;
            continue;
        }
        const auto& substitution = std::get<Substitution>(part);
        const auto* property = properties.find(substitution.property);
        const bool is_set = property != nullptr;
        const bool is_true = is_set && is_truthy(property->value);
        using Op = Substitution::Operator;
        switch (substitution.op) {
        case Op::none:
            if (is_set) out += property_text(property->value);
            break;
        case Op::default_if_unset:
            out += is_set ? property_text(property->value)
                          : render_interpolation(*substitution.first, properties);
            break;
        case Op::default_if_false:
            out += is_true ? property_text(property->value)
                           : render_interpolation(*substitution.first, properties);
            break;
        case Op::replace_if_set:
            if (is_set) out += render_interpolation(*substitution.first, properties);
            break;
        case Op::if_set:
        case Op::if_true: {
            const bool choose_first = substitution.op == Op::if_set ? is_set : is_true;
            out += render_interpolation(choose_first ? *substitution.first : *substitution.second,
                                        properties);
            break;
        }
        }
    }
    return out;
}

}  // namespace kiln::config::detail
