// SPDX-License-Identifier: Apache-2.0
#include "www/live_json.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <system_error>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>
#include <boost/json/value.hpp>

namespace kiln::www {
namespace {

constexpr char32_t kReplacement = 0xFFFD;
constexpr char kHex[] = "0123456789abcdef";

// Decodes one UTF-8 sequence at text[at], advancing `at`. A malformed or overlong sequence,
// a surrogate or a value past U+10FFFF yields U+FFFD and consumes one byte.
char32_t next_code_point(std::string_view text, std::size_t& at) {
    const auto lead = static_cast<unsigned char>(text[at]);
    if (lead < 0x80) {
        ++at;
        return lead;
    }
    std::size_t length = 0;
    char32_t code = 0;
    if ((lead & 0xE0) == 0xC0) {
        length = 2;
        code = lead & 0x1Fu;
    } else if ((lead & 0xF0) == 0xE0) {
        length = 3;
        code = lead & 0x0Fu;
    } else if ((lead & 0xF8) == 0xF0) {
        length = 4;
        code = lead & 0x07u;
    } else {
        ++at;
        return kReplacement;
    }
    if (at + length > text.size()) {
        ++at;
        return kReplacement;
    }
    for (std::size_t i = 1; i < length; ++i) {
        const auto byte = static_cast<unsigned char>(text[at + i]);
        if ((byte & 0xC0) != 0x80) {
            ++at;
            return kReplacement;
        }
        code = (code << 6) | (byte & 0x3Fu);
    }
    constexpr char32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code < kSmallest[length] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) {
        ++at;
        return kReplacement;
    }
    at += length;
    return code;
}

void append_utf8(std::string& out, char32_t code) {
    if (code < 0x80) {
        out += static_cast<char>(code);
    } else if (code < 0x800) {
        out += static_cast<char>(0xC0 | (code >> 6));
        out += static_cast<char>(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
        out += static_cast<char>(0xE0 | (code >> 12));
        out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (code & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (code >> 18));
        out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (code & 0x3F));
    }
}

void append_u_escape(std::string& out, char32_t unit) {
    out += "\\u";
    for (int shift = 12; shift >= 0; shift -= 4)
        out += kHex[(unit >> shift) & 0xF];
}

// Python's float repr: the shortest digits that round-trip, in fixed notation when the decimal
// point falls within 16 places of the first digit (with ".0" for whole numbers), else as
// d.ddde+XX. Python's json writes non-finite values as NaN, Infinity and -Infinity.
void append_python_float(std::string& out, double number, bool for_json) {
    if (std::isnan(number)) {
        out += for_json ? "NaN" : "nan";
        return;
    }
    if (std::isinf(number)) {
        if (number < 0) out += '-';
        out += for_json ? "Infinity" : "inf";
        return;
    }
    char buffer[64];
    const auto result =
        std::to_chars(buffer, buffer + sizeof buffer, number, std::chars_format::scientific);
    const std::string_view text(buffer, static_cast<std::size_t>(result.ptr - buffer));
    const auto e = text.find('e');
    std::string_view mantissa = text.substr(0, e);
    if (!mantissa.empty() && mantissa.front() == '-') {
        out += '-';
        mantissa.remove_prefix(1);
    }
    std::string digits;
    for (char c : mantissa)
        if (c != '.') digits += c;
    int exponent = 0;
    const auto exponent_text = text.substr(e + 1);
    const char* exponent_begin = exponent_text.data();
    if (!exponent_text.empty() && exponent_text.front() == '+') ++exponent_begin;
    std::from_chars(exponent_begin, exponent_text.data() + exponent_text.size(), exponent);
    const int point = exponent + 1;  // digits before the decimal point
    const int count = static_cast<int>(digits.size());
    if (point > -4 && point <= 16) {
        if (point <= 0) {
            out += "0.";
            out.append(static_cast<std::size_t>(-point), '0');
            out += digits;
        } else if (point >= count) {
            out += digits;
            out.append(static_cast<std::size_t>(point - count), '0');
            out += ".0";
        } else {
            out.append(digits, 0, static_cast<std::size_t>(point));
            out += '.';
            out.append(digits, static_cast<std::size_t>(point));
        }
        return;
    }
    out += digits.front();
    if (count > 1) {
        out += '.';
        out.append(digits, 1);
    }
    out += exponent < 0 ? "e-" : "e+";
    const int magnitude = std::abs(exponent);
    if (magnitude < 10) out += '0';
    out += std::to_string(magnitude);
}

void append_value(std::string& out, const boost::json::value& value, LiveJsonStyle style);

void append_object(std::string& out, const boost::json::object& object, LiveJsonStyle style) {
    const std::string_view item_separator = style == LiveJsonStyle::compact ? "," : ", ";
    const std::string_view key_separator = style == LiveJsonStyle::compact ? ":" : ": ";
    out += '{';
    bool is_first = true;
    for (const auto& member : object) {
        if (!is_first) out += item_separator;
        is_first = false;
        append_live_json_string(out, member.key());
        out += key_separator;
        append_value(out, member.value(), style);
    }
    out += '}';
}

void append_value(std::string& out, const boost::json::value& value, LiveJsonStyle style) {
    switch (value.kind()) {
    case boost::json::kind::null: out += "null"; return;
    case boost::json::kind::bool_: out += value.get_bool() ? "true" : "false"; return;
    case boost::json::kind::int64: out += std::to_string(value.get_int64()); return;
    case boost::json::kind::uint64: out += std::to_string(value.get_uint64()); return;
    case boost::json::kind::double_: append_python_float(out, value.get_double(), true); return;
    case boost::json::kind::string: append_live_json_string(out, value.get_string()); return;
    case boost::json::kind::array: {
        out += '[';
        bool is_first = true;
        for (const auto& item : value.get_array()) {
            if (!is_first) out += style == LiveJsonStyle::compact ? "," : ", ";
            is_first = false;
            append_value(out, item, style);
        }
        out += ']';
        return;
    }
    case boost::json::kind::object: append_object(out, value.get_object(), style); return;
    }
}

// Python's repr() of a str: single quotes unless the text holds ' and no ", backslash escapes
// for the quote, backslash, \t \n \r and \xNN for other control characters.
void append_python_repr(std::string& out, std::string_view text) {
    const bool use_double =
        text.find('\'') != std::string_view::npos && text.find('"') == std::string_view::npos;
    const char quote = use_double ? '"' : '\'';
    out += quote;
    for (std::size_t at = 0; at < text.size();) {
        const char32_t code = next_code_point(text, at);
        if (code == static_cast<char32_t>(quote) || code == '\\') {
            out += '\\';
            out += static_cast<char>(code);
        } else if (code == '\t') {
            out += "\\t";
        } else if (code == '\n') {
            out += "\\n";
        } else if (code == '\r') {
            out += "\\r";
        } else if (code < 0x20 || (code >= 0x7F && code <= 0xA0)) {
            out += "\\x";
            out += kHex[(code >> 4) & 0xF];
            out += kHex[code & 0xF];
        } else {
            append_utf8(out, code);
        }
    }
    out += quote;
}

void append_python_str(std::string& out, const boost::json::value& value, bool is_nested) {
    switch (value.kind()) {
    case boost::json::kind::null: out += "None"; return;
    case boost::json::kind::bool_: out += value.get_bool() ? "True" : "False"; return;
    case boost::json::kind::int64: out += std::to_string(value.get_int64()); return;
    case boost::json::kind::uint64: out += std::to_string(value.get_uint64()); return;
    case boost::json::kind::double_: append_python_float(out, value.get_double(), false); return;
    case boost::json::kind::string:
        if (is_nested)
            append_python_repr(out, value.get_string());
        else
            out += value.get_string();
        return;
    case boost::json::kind::array: {
        out += '[';
        bool is_first = true;
        for (const auto& item : value.get_array()) {
            if (!is_first) out += ", ";
            is_first = false;
            append_python_str(out, item, true);
        }
        out += ']';
        return;
    }
    case boost::json::kind::object: {
        out += '{';
        bool is_first = true;
        for (const auto& member : value.get_object()) {
            if (!is_first) out += ", ";
            is_first = false;
            append_python_repr(out, member.key());
            out += ": ";
            append_python_str(out, member.value(), true);
        }
        out += '}';
        return;
    }
    }
}

}  // namespace

void append_live_json_string(std::string& out, std::string_view text) {
    out += '"';
    for (std::size_t at = 0; at < text.size();) {
        const char32_t code = next_code_point(text, at);
        switch (code) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
            if (code >= 0x20 && code < 0x7F) {
                out += static_cast<char>(code);
            } else if (code < 0x10000) {
                append_u_escape(out, code);
            } else {  // ensure_ascii writes a UTF-16 surrogate pair
                const char32_t offset = code - 0x10000;
                append_u_escape(out, 0xD800 + (offset >> 10));
                append_u_escape(out, 0xDC00 + (offset & 0x3FF));
            }
        }
    }
    out += '"';
}

void append_live_json(std::string& out, const boost::json::value& value, LiveJsonStyle style) {
    append_value(out, value, style);
}

void append_live_json(std::string& out, const boost::json::object& object, LiveJsonStyle style) {
    append_object(out, object, style);
}

std::string live_json(const boost::json::value& value, LiveJsonStyle style) {
    std::string out;
    append_value(out, value, style);
    return out;
}

std::string python_str(const boost::json::value& value) {
    std::string out;
    append_python_str(out, value, false);
    return out;
}

}  // namespace kiln::www
