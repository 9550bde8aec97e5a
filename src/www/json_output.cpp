// SPDX-License-Identifier: Apache-2.0
#include "www/json_output.hpp"

#include <algorithm>
#include <vector>

#include <boost/json/serialize.hpp>

namespace kiln::www {

namespace {

void append_string(std::string& out, std::string_view text) {
    static constexpr char kHex[] = "0123456789abcdef";
    out += '"';
    for (char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
            if (byte < 0x20) {
                out += "\\u00";
                out += kHex[byte >> 4];
                out += kHex[byte & 15];
            } else {
                out += c;
            }
        }
    }
    out += '"';
}

void newline(std::string& out, int depth) {
    out += '\n';
    out.append(static_cast<std::size_t>(depth) * 2, ' ');
}

}  // namespace

void append_sorted_json(std::string& out, const boost::json::value& value, JsonStyle style,
                        int depth) {
    const bool pretty = style == JsonStyle::pretty;
    switch (value.kind()) {
    case boost::json::kind::null: out += "null"; return;
    case boost::json::kind::bool_: out += value.get_bool() ? "true" : "false"; return;
    case boost::json::kind::int64: out += std::to_string(value.get_int64()); return;
    case boost::json::kind::uint64: out += std::to_string(value.get_uint64()); return;
    case boost::json::kind::double_: out += boost::json::serialize(value); return;
    case boost::json::kind::string: append_string(out, value.get_string()); return;
    case boost::json::kind::array: {
        const auto& array = value.get_array();
        if (array.empty()) {
            out += "[]";
            return;
        }
        out += '[';
        bool first = true;
        for (const auto& item : array) {
            if (!first) out += ',';
            first = false;
            if (pretty) newline(out, depth + 1);
            append_sorted_json(out, item, style, depth + 1);
        }
        if (pretty) newline(out, depth);
        out += ']';
        return;
    }
    case boost::json::kind::object: {
        const auto& object = value.get_object();
        if (object.empty()) {
            out += "{}";
            return;
        }
        std::vector<const boost::json::key_value_pair*> entries;
        entries.reserve(object.size());
        for (const auto& entry : object)
            entries.push_back(&entry);
        std::sort(entries.begin(), entries.end(),
                  [](const auto* a, const auto* b) { return a->key() < b->key(); });
        out += '{';
        bool first = true;
        for (const auto* entry : entries) {
            if (!first) out += ',';
            first = false;
            if (pretty) newline(out, depth + 1);
            append_string(out, entry->key());
            out += pretty ? ": " : ":";
            append_sorted_json(out, entry->value(), style, depth + 1);
        }
        if (pretty) newline(out, depth);
        out += '}';
        return;
    }
    }
}

std::string to_sorted_json(const boost::json::value& value, JsonStyle style) {
    std::string out;
    append_sorted_json(out, value, style);
    return out;
}

}  // namespace kiln::www
