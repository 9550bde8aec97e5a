// SPDX-License-Identifier: Apache-2.0
// StepArgs: a step's configured arguments rendered against the build's properties, with
// typed accessors that name the argument in their errors.
#pragma once

#include "config/renderable.hpp"
#include "core/properties.hpp"
#include "protocol/value.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

namespace kiln::steps {

class StepArgs {
public:
    using Map = std::map<std::string, config::Renderable, std::less<>>;

    // Renders every argument; throws std::runtime_error naming the first that fails.
    StepArgs(std::string step_name, const Map& args, const core::Properties& properties);

    bool has(std::string_view name) const;
    const boost::json::value* find(std::string_view name) const;
    std::optional<std::string> string(std::string_view name) const;
    std::string string_or(std::string_view name, std::string fallback) const;
    std::optional<std::int64_t> integer(std::string_view name) const;
    bool boolean_or(std::string_view name, bool fallback) const;
    // The integer (or fallback) as a worker-protocol argument; nil when neither is set.
    protocol::Value protocol_integer(std::string_view name,
                                     std::optional<std::int64_t> fallback) const;
    // A string, or a list of strings joined by single spaces.
    std::optional<std::string> text(std::string_view name) const;

private:
    [[noreturn]] void bad(std::string_view name, std::string_view expected) const;
    std::string step_name_;
    std::map<std::string, boost::json::value, std::less<>> values_;
};

// A command step's running description: its `description`, else command_summary() of its
// `command`, else "running" (a rendering error surfaces when the step runs, not here).
std::string command_description(const std::string& step_name, const StepArgs::Map& args,
                                const core::Properties& properties);

// Buildbot's command_to_string: the first two words, "..." if there are more, in quotes.
std::string command_summary(const boost::json::value& command);

}  // namespace kiln::steps
