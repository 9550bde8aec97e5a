// SPDX-License-Identifier: Apache-2.0
#include "protocol/value.hpp"

#include <cstdio>
#include <limits>

namespace kiln::protocol {

Value::Value(unsigned long u) {
    if (u <= static_cast<unsigned long>(std::numeric_limits<std::int64_t>::max()))
        storage_ = static_cast<std::int64_t>(u);
    else
        storage_ = static_cast<std::uint64_t>(u);
}

Value::Value(unsigned long long u) {
    if (u <= static_cast<unsigned long long>(std::numeric_limits<std::int64_t>::max()))
        storage_ = static_cast<std::int64_t>(u);
    else
        storage_ = static_cast<std::uint64_t>(u);
}

std::optional<std::int64_t> Value::as_int() const {
    if (const auto* i = std::get_if<std::int64_t>(&storage_)) return *i;
    return std::nullopt;
}

std::optional<double> Value::as_number() const {
    if (const auto* i = std::get_if<std::int64_t>(&storage_)) return static_cast<double>(*i);
    if (const auto* u = std::get_if<std::uint64_t>(&storage_)) return static_cast<double>(*u);
    if (const auto* d = std::get_if<double>(&storage_)) return *d;
    return std::nullopt;
}

std::optional<std::string_view> Value::as_text() const {
    if (const auto* s = std::get_if<std::string>(&storage_)) return std::string_view(*s);
    if (const auto* b = std::get_if<Binary>(&storage_)) return std::string_view(b->bytes);
    return std::nullopt;
}

const Value* find(const Map& map, std::string_view key) {
    for (const auto& [k, v] : map)
        if (k == key) return &v;
    return nullptr;
}

const Value* Value::find(std::string_view key) const {
    const auto* map = if_map();
    return map ? protocol::find(*map, key) : nullptr;
}

namespace {

void render(const Value& value, std::string& out, std::size_t max_length) {
    if (out.size() > max_length) return;
    struct Visitor {
        std::string& out;
        std::size_t max_length;
        void operator()(const Nil&) { out += "nil"; }
        void operator()(bool b) { out += b ? "true" : "false"; }
        void operator()(std::int64_t i) { out += std::to_string(i); }
        void operator()(std::uint64_t u) { out += std::to_string(u); }
        void operator()(double d) {
            char buffer[32];
            std::snprintf(buffer, sizeof buffer, "%g", d);
            out += buffer;
        }
        void operator()(const std::string& s) {
            out += '"';
            out.append(s, 0, std::min<std::size_t>(s.size(), 60));
            if (s.size() > 60) out += "...";
            out += '"';
        }
        void operator()(const Binary& b) { out += "<bin " + std::to_string(b.bytes.size()) + ">"; }
        void operator()(const Array& a) {
            out += '[';
            for (std::size_t i = 0; i < a.size() && out.size() <= max_length; ++i) {
                if (i) out += ", ";
                render(a[i], out, max_length);
            }
            out += ']';
        }
        void operator()(const Map& m) {
            out += '{';
            bool first = true;
            for (const auto& [k, v] : m) {
                if (out.size() > max_length) break;
                if (!first) out += ", ";
                first = false;
                out += k + ": ";
                render(v, out, max_length);
            }
            out += '}';
        }
    };
    std::visit(Visitor{out, max_length}, value.storage());
}

}  // namespace

std::string Value::debug_string(std::size_t max_length) const {
    std::string out;
    render(*this, out, max_length);
    if (out.size() > max_length) {
        out.resize(max_length);
        out += "...";
    }
    return out;
}

}  // namespace kiln::protocol
