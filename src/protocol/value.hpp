// SPDX-License-Identifier: Apache-2.0
// Value: the dynamic data of the worker protocol (msgpack's nil, bool, int, float, str, bin,
// array and map with string keys), with maps that keep their key order.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace kiln::protocol {

class Value;

using Array = std::vector<Value>;
using Map = std::vector<std::pair<std::string, Value>>;

// Raw bytes (msgpack bin), as opposed to text (msgpack str).
struct Binary {
    std::string bytes;
    bool operator==(const Binary&) const = default;
};

struct Nil {
    bool operator==(const Nil&) const = default;
};

class Value {
public:
    using Storage = std::variant<Nil, bool, std::int64_t, std::uint64_t, double, std::string,
                                 Binary, Array, Map>;

    Value() = default;
    Value(Nil) {}
    Value(bool b)
        : storage_(b) {}
    Value(int i)
        : storage_(std::int64_t{i}) {}
    Value(long i)
        : storage_(std::int64_t{i}) {}
    Value(long long i)
        : storage_(static_cast<std::int64_t>(i)) {}
    Value(unsigned u)
        : storage_(std::int64_t{u}) {}
    Value(unsigned long u);
    Value(unsigned long long u);
    Value(double d)
        : storage_(d) {}
    Value(std::string s)
        : storage_(std::move(s)) {}
    Value(std::string_view s)
        : storage_(std::string(s)) {}
    Value(const char* s)
        : storage_(std::string(s)) {}
    Value(Binary b)
        : storage_(std::move(b)) {}
    Value(Array a)
        : storage_(std::move(a)) {}
    Value(Map m)
        : storage_(std::move(m)) {}

    bool is_nil() const { return std::holds_alternative<Nil>(storage_); }
    bool is_bool() const { return std::holds_alternative<bool>(storage_); }
    bool is_int() const {
        return std::holds_alternative<std::int64_t>(storage_) ||
               std::holds_alternative<std::uint64_t>(storage_);
    }
    bool is_float() const { return std::holds_alternative<double>(storage_); }
    bool is_number() const { return is_int() || is_float(); }
    bool is_str() const { return std::holds_alternative<std::string>(storage_); }
    bool is_bin() const { return std::holds_alternative<Binary>(storage_); }
    bool is_array() const { return std::holds_alternative<Array>(storage_); }
    bool is_map() const { return std::holds_alternative<Map>(storage_); }

    const bool* if_bool() const { return std::get_if<bool>(&storage_); }
    const std::string* if_str() const { return std::get_if<std::string>(&storage_); }
    const Binary* if_bin() const { return std::get_if<Binary>(&storage_); }
    const Array* if_array() const { return std::get_if<Array>(&storage_); }
    Array* if_array() { return std::get_if<Array>(&storage_); }
    const Map* if_map() const { return std::get_if<Map>(&storage_); }
    Map* if_map() { return std::get_if<Map>(&storage_); }

    // The integer, when this is an int that fits in int64.
    std::optional<std::int64_t> as_int() const;
    // Ints and floats as double.
    std::optional<double> as_number() const;
    // str, or bin holding text (the Python peers send either in some places).
    std::optional<std::string_view> as_text() const;

    // The value under `key` of a map; nullptr when absent or when this is not a map.
    const Value* find(std::string_view key) const;

    const Storage& storage() const { return storage_; }
    bool operator==(const Value& other) const { return storage_ == other.storage_; }

    // A short, human-readable rendering for log lines and error messages.
    std::string debug_string(std::size_t max_length = 200) const;

private:
    Storage storage_;
};

// A map entry lookup that also works on a Map directly.
const Value* find(const Map& map, std::string_view key);

}  // namespace kiln::protocol
