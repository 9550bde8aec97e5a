// SPDX-License-Identifier: Apache-2.0
// Callable: a Lua function from the config (a renderable function, do_step_if, extract_fn,
// collapse_requests, ...), callable later with JSON arguments. Predicate: a bool or such a
// function.
#pragma once

#include "config/errors.hpp"
#include "core/expected.hpp"
#include "core/properties.hpp"

#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include <boost/json/value.hpp>

namespace kiln::config {

class LuaRuntime;

class Callable {
public:
    // Takes ownership of the registry reference `reference` in `runtime` (config internals).
    Callable(std::shared_ptr<LuaRuntime> runtime, int reference, SourceLocation where,
             std::string fingerprint);

    // Calls the function with `arguments` converted to Lua values (objects -> tables, arrays ->
    // sequences, null -> nil), then `properties` as a last argument when given (a table of
    // name -> value). Returns the first result as JSON (nil -> null; tables -> arrays when they
    // are sequences, else objects; an empty table -> []). A raised error, an exceeded
    // instruction or memory limit, or a result JSON cannot hold (a function, ...) comes back
    // as an Error naming where the function was defined. Runs on the caller's thread: the
    // master's executor only.
    core::Expected<boost::json::value> call(std::span<const boost::json::value> arguments,
                                            const core::Properties* properties = nullptr) const;

    // Where the function was written (its `function` keyword).
    const SourceLocation& where() const;
    // What reconfig compares: the function's source text and the values of its upvalues
    // (strings, numbers, booleans, plain tables, nested functions). Not its location, so
    // moving a function without changing it is not a change.
    const std::string& fingerprint() const;

    friend bool operator==(const Callable& a, const Callable& b) {
        return a.fingerprint() == b.fingerprint();
    }

private:
    struct Reference;
    std::shared_ptr<const Reference> reference_;
};

// A bool, or a function computing one (do_step_if, hide_step_if, collapse_requests).
struct Predicate {
    bool value = false;
    std::optional<Callable> function;

    static Predicate constant(bool value) { return Predicate{value, std::nullopt}; }
    bool is_constant() const { return !function.has_value(); }
    // The constant, or the function's result with Lua truthiness (nil and false are false;
    // everything else, 0 and "" included, is true).
    core::Expected<bool> evaluate(std::span<const boost::json::value> arguments,
                                  const core::Properties* properties = nullptr) const;

    bool operator==(const Predicate&) const = default;
};

using CallableMap = std::map<std::string, Callable, std::less<>>;

}  // namespace kiln::config
