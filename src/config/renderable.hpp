// SPDX-License-Identifier: Apache-2.0
// Renderable: a config value that may depend on a build's properties: a constant, a
// k.interpolate("%(prop:x)s"), a k.property("x", default), a Lua function(props), or a
// list/table mixing them (rendered element by element, like Buildbot's renderables).
#pragma once

#include "config/callable.hpp"
#include "config/errors.hpp"
#include "core/expected.hpp"
#include "core/properties.hpp"

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/value.hpp>

namespace kiln::config {

class Renderable {
public:
    Renderable();  // the constant null
    static Renderable constant(boost::json::value value);
    // Parses Buildbot's Interpolate format; a malformed format is an error (at load time).
    static core::Expected<Renderable> interpolate(std::string_view format, SourceLocation where);
    // The property's value; when it is unset (or, with default_when_false, false-ish as in
    // Python: None, False, 0, "", [], {}), `default_value` rendered instead. Buildbot's
    // Property(name, default, defaultWhenFalse=True).
    static Renderable property(std::string name, Renderable default_value, bool default_when_false,
                               SourceLocation where);
    // A Lua function called with the properties table; its result is the value.
    static Renderable function(Callable function);
    // Lists and tables: constant when every element is (then stored as one constant).
    static Renderable list(std::vector<Renderable> elements);
    static Renderable object(std::vector<std::pair<std::string, Renderable>> members);

    bool is_constant() const;
    // The value when is_constant(), else nullptr.
    const boost::json::value* constant_value() const;

    // Renders against properties. An unset property in an interpolation renders as "" (as in
    // Buildbot); a function that raises or returns a non-plain value gives an Error naming
    // where it was defined.
    core::Expected<boost::json::value> render(const core::Properties& properties) const;

    // Same structure and constants; functions compare by Callable::fingerprint().
    friend bool operator==(const Renderable& a, const Renderable& b);

    struct Node;

private:
    explicit Renderable(std::shared_ptr<const Node> node);
    std::shared_ptr<const Node> node_;
};

using RenderableMap = std::map<std::string, Renderable, std::less<>>;

}  // namespace kiln::config
