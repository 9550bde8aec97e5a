// SPDX-License-Identifier: Apache-2.0
#include "core/properties.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

namespace kiln::core {

bool Properties::set(std::string_view name, boost::json::value value, std::string_view source) {
    auto found = properties_.find(name);
    if (found == properties_.end()) {
        properties_.emplace(std::string(name), Property{std::move(value), std::string(source)});
        return true;
    }
    if (found->second.value == value && found->second.source == source) return false;
    found->second.value = std::move(value);
    found->second.source = std::string(source);
    return true;
}

const Property* Properties::find(std::string_view name) const {
    auto found = properties_.find(name);
    return found == properties_.end() ? nullptr : &found->second;
}

const boost::json::value& Properties::value_or_null(std::string_view name) const {
    static const boost::json::value null_value;
    const auto* property = find(name);
    return property ? property->value : null_value;
}

void Properties::update(const Properties& other) {
    for (const auto& [name, property] : other.properties_)
        set(name, property.value, property.source);
}

boost::json::object Properties::to_api() const {
    boost::json::object result;
    for (const auto& [name, property] : properties_)
        result[name] = boost::json::array{property.value, boost::json::string(property.source)};
    return result;
}

}  // namespace kiln::core
