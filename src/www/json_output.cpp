// SPDX-License-Identifier: Apache-2.0
#include "www/json_output.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <vector>

#include <boost/json/serialize.hpp>

namespace kiln::www {

namespace {

void append_escaped(std::string& out, unsigned char byte) {
    static constexpr char kHex[] = "0123456789abcdef";
    switch (byte) {
    case '"': out += "\\\""; break;
    case '\\': out += "\\\\"; break;
    case '\n': out += "\\n"; break;
    case '\r': out += "\\r"; break;
    case '\t': out += "\\t"; break;
    case '\b': out += "\\b"; break;
    case '\f': out += "\\f"; break;
    default:
        out += "\\u00";
        out += kHex[byte >> 4];
        out += kHex[byte & 15];
    }
}

// Runs of characters that need no escape are copied whole (one push_back per character
// was a tenth of the REST API's CPU).
void append_string(std::string& out, std::string_view text) {
    out += '"';
    std::size_t run = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto byte = static_cast<unsigned char>(text[i]);
        if (byte >= 0x20 && byte != '"' && byte != '\\') continue;
        out.append(text.data() + run, i - run);
        append_escaped(out, byte);
        run = i + 1;
    }
    out.append(text.data() + run, text.size() - run);
    out += '"';
}

template <typename Integer>
void append_integer(std::string& out, Integer value) {
    std::array<char, 24> digits{};
    const auto end = std::to_chars(digits.data(), digits.data() + digits.size(), value).ptr;
    out.append(digits.data(), static_cast<std::size_t>(end - digits.data()));
}

void newline(std::string& out, int depth) {
    out += '\n';
    out.append(static_cast<std::size_t>(depth) * 2, ' ');
}

void append_value(std::string& out, const boost::json::value& value, JsonStyle style, int depth);

void append_array(std::string& out, const boost::json::array& array, JsonStyle style, int depth) {
    if (array.empty()) {
        out += "[]";
        return;
    }
    const bool pretty = style == JsonStyle::pretty;
    out += '[';
    bool first = true;
    for (const auto& item : array) {
        if (!first) out += ',';
        first = false;
        if (pretty) newline(out, depth + 1);
        append_value(out, item, style, depth + 1);
    }
    if (pretty) newline(out, depth);
    out += ']';
}

void append_sorted_entries(std::string& out, const boost::json::key_value_pair** entries,
                           std::size_t count, JsonStyle style, int depth) {
    const bool pretty = style == JsonStyle::pretty;
    auto by_key = [](const auto* a, const auto* b) { return a->key() < b->key(); };
    // Entities build their objects in key order: checking costs less than sorting.
    if (!std::is_sorted(entries, entries + count, by_key))
        std::sort(entries, entries + count, by_key);
    out += '{';
    for (std::size_t i = 0; i < count; ++i) {
        if (i > 0) out += ',';
        if (pretty) newline(out, depth + 1);
        append_string(out, entries[i]->key());
        out += pretty ? ": " : ":";
        append_value(out, entries[i]->value(), style, depth + 1);
    }
    if (pretty) newline(out, depth);
    out += '}';
}

void append_object(std::string& out, const boost::json::object& object, JsonStyle style,
                   int depth) {
    if (object.empty()) {
        out += "{}";
        return;
    }
    // The entries are sorted through pointers; small objects (every resource) need no
    // allocation for them.
    constexpr std::size_t kOnStack = 32;
    if (object.size() <= kOnStack) {
        std::array<const boost::json::key_value_pair*, kOnStack> entries{};
        std::size_t count = 0;
        for (const auto& entry : object)
            entries[count++] = &entry;
        append_sorted_entries(out, entries.data(), count, style, depth);
        return;
    }
    std::vector<const boost::json::key_value_pair*> entries;
    entries.reserve(object.size());
    for (const auto& entry : object)
        entries.push_back(&entry);
    append_sorted_entries(out, entries.data(), entries.size(), style, depth);
}

void append_value(std::string& out, const boost::json::value& value, JsonStyle style, int depth) {
    switch (value.kind()) {
    case boost::json::kind::null: out += "null"; return;
    case boost::json::kind::bool_: out += value.get_bool() ? "true" : "false"; return;
    case boost::json::kind::int64: append_integer(out, value.get_int64()); return;
    case boost::json::kind::uint64: append_integer(out, value.get_uint64()); return;
    case boost::json::kind::double_: out += boost::json::serialize(value); return;
    case boost::json::kind::string: append_string(out, value.get_string()); return;
    case boost::json::kind::array: append_array(out, value.get_array(), style, depth); return;
    case boost::json::kind::object: append_object(out, value.get_object(), style, depth); return;
    }
}

}  // namespace

void append_sorted_json(std::string& out, const boost::json::value& value, JsonStyle style,
                        int depth) {
    append_value(out, value, style, depth);
}

void append_sorted_json(std::string& out, const boost::json::object& object, JsonStyle style,
                        int depth) {
    append_object(out, object, style, depth);
}

void append_sorted_json(std::string& out, const boost::json::array& array, JsonStyle style,
                        int depth) {
    append_array(out, array, style, depth);
}

std::string to_sorted_json(const boost::json::value& value, JsonStyle style) {
    std::string out;
    append_value(out, value, style, 0);
    return out;
}

std::string to_sorted_json(const boost::json::object& object, JsonStyle style) {
    std::string out;
    append_object(out, object, style, 0);
    return out;
}

std::string to_sorted_json(const boost::json::array& array, JsonStyle style) {
    std::string out;
    append_array(out, array, style, 0);
    return out;
}

}  // namespace kiln::www
