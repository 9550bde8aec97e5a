// SPDX-License-Identifier: Apache-2.0
#include "process/value_conversion.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

namespace kiln::process {

protocol::Value to_protocol(const boost::json::value& value) {
    switch (value.kind()) {
    case boost::json::kind::null: return protocol::Value();
    case boost::json::kind::bool_: return protocol::Value(value.get_bool());
    case boost::json::kind::int64:
        return protocol::Value(static_cast<long long>(value.get_int64()));
    case boost::json::kind::uint64:
        return protocol::Value(static_cast<unsigned long long>(value.get_uint64()));
    case boost::json::kind::double_: return protocol::Value(value.get_double());
    case boost::json::kind::string: return protocol::Value(std::string(value.get_string()));
    case boost::json::kind::array: {
        protocol::Array array;
        for (const auto& element : value.get_array())
            array.push_back(to_protocol(element));
        return protocol::Value(std::move(array));
    }
    case boost::json::kind::object: {
        protocol::Map map;
        for (const auto& member : value.get_object())
            map.emplace_back(std::string(member.key()), to_protocol(member.value()));
        return protocol::Value(std::move(map));
    }
    }
    return protocol::Value();
}

boost::json::value to_json(const protocol::Value& value) {
    if (value.is_nil()) return nullptr;
    if (const auto* b = value.if_bool()) return *b;
    if (value.is_float()) return *value.as_number();
    if (value.is_int()) {
        if (auto integer = value.as_int()) return *integer;
        return std::get<std::uint64_t>(value.storage());
    }
    if (const auto* s = value.if_str()) return boost::json::string(*s);
    if (const auto* bin = value.if_bin()) return boost::json::string(bin->bytes);
    if (const auto* array = value.if_array()) {
        boost::json::array result;
        for (const auto& element : *array)
            result.push_back(to_json(element));
        return result;
    }
    if (const auto* map = value.if_map()) {
        boost::json::object result;
        for (const auto& [key, element] : *map)
            result[key] = to_json(element);
        return result;
    }
    return nullptr;
}

}  // namespace kiln::process
