// SPDX-License-Identifier: Apache-2.0
// Buildbot's Interpolate format: "%(prop:name)s" with the :- :~ :+ :? :#? forms, parsed once
// at load time and rendered against a build's properties.
#pragma once

#include "core/expected.hpp"
#include "core/properties.hpp"

#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <boost/json/value.hpp>

namespace kiln::config::detail {

struct Interpolation;

struct Substitution {
    enum class Operator {
        none,
        default_if_unset,
        default_if_false,
        replace_if_set,
        if_set,
        if_true
    };
    std::string property;
    Operator op = Operator::none;
    // default / replacement / true branch, and the false branch of the ternaries.
    std::shared_ptr<const Interpolation> first, second;
};

struct Interpolation {
    std::vector<std::variant<std::string, Substitution>> parts;
};

core::Expected<Interpolation> parse_interpolation(std::string_view format);
std::string render_interpolation(const Interpolation& interpolation,
                                 const core::Properties& properties);

// Python's str() of a property value: strings as they are, True/False, None, numbers, and
// JSON for arrays and objects.
std::string property_text(const boost::json::value& value);
// Python's truthiness: None, False, 0, "", [] and {} are false.
bool is_truthy(const boost::json::value& value);

}  // namespace kiln::config::detail
