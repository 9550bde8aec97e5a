// SPDX-License-Identifier: Apache-2.0
// Properties: a build's (or buildset's, change's) name -> (JSON value, source) map, the form
// Buildbot stores and serves them in.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

namespace kiln::core {

struct Property {
    boost::json::value value;
    std::string source;
    bool operator==(const Property&) const = default;
};

class Properties {
public:
    // Sets a property; returns true when the value or source changed.
    bool set(std::string_view name, boost::json::value value, std::string_view source);
    const Property* find(std::string_view name) const;
    bool has(std::string_view name) const { return find(name) != nullptr; }
    // The value, or null when the property is not set.
    const boost::json::value& value_or_null(std::string_view name) const;
    // Every property of other overrides ours.
    void update(const Properties& other);

    const std::map<std::string, Property, std::less<>>& all() const { return properties_; }
    bool empty() const { return properties_.empty(); }
    std::size_t size() const { return properties_.size(); }

    // The REST API's form: {"name": [value, "source"], ...}.
    boost::json::object to_api() const;

    bool operator==(const Properties&) const = default;

private:
    std::map<std::string, Property, std::less<>> properties_;
};

}  // namespace kiln::core
