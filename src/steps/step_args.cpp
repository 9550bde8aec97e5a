// SPDX-License-Identifier: Apache-2.0
#include "steps/step_args.hpp"

#include <sstream>
#include <stdexcept>

namespace kiln::steps {

StepArgs::StepArgs(std::string step_name, const Map& args, const core::Properties& properties)
    : step_name_(std::move(step_name)) {
    for (const auto& [name, renderable] : args) {
        auto value = renderable.render(properties);
        if (!value)
            throw std::runtime_error("step '" + step_name_ + "': argument '" + name +
                                     "': " + value.error().message);
        values_.emplace(name, std::move(*value));
    }
}

bool StepArgs::has(std::string_view name) const {
    const auto* value = find(name);
    return value && !value->is_null();
}

const boost::json::value* StepArgs::find(std::string_view name) const {
    auto found = values_.find(name);
    return found == values_.end() ? nullptr : &found->second;
}

void StepArgs::bad(std::string_view name, std::string_view expected) const {
    throw std::runtime_error("step '" + step_name_ + "': argument '" + std::string(name) +
                             "' must be " + std::string(expected));
}

std::optional<std::string> StepArgs::string(std::string_view name) const {
    const auto* value = find(name);
    if (!value || value->is_null()) return std::nullopt;
    if (value->is_string()) return std::string(value->get_string());
    if (value->is_int64()) return std::to_string(value->get_int64());
    if (value->is_double()) {
        std::ostringstream out;
        out << value->get_double();
        return out.str();
    }
    bad(name, "a string");
}

std::string StepArgs::string_or(std::string_view name, std::string fallback) const {
    return string(name).value_or(std::move(fallback));
}

std::optional<std::int64_t> StepArgs::integer(std::string_view name) const {
    const auto* value = find(name);
    if (!value || value->is_null()) return std::nullopt;
    if (value->is_int64()) return value->get_int64();
    if (value->is_uint64()) return static_cast<std::int64_t>(value->get_uint64());
    if (value->is_double()) return static_cast<std::int64_t>(value->get_double());
    if (value->is_string()) {
        try {
            std::size_t used = 0;
            const std::string text(value->get_string());
            auto parsed = std::stoll(text, &used);
            if (used == text.size()) return parsed;
        } catch (const std::exception&) {
            // reported below
        }
    }
    bad(name, "an integer");
}

protocol::Value StepArgs::protocol_integer(std::string_view name,
                                           std::optional<std::int64_t> fallback) const {
    auto value = integer(name);
    if (!value) value = fallback;
    return value ? protocol::Value(static_cast<long long>(*value)) : protocol::Value();
}

bool StepArgs::boolean_or(std::string_view name, bool fallback) const {
    const auto* value = find(name);
    if (!value || value->is_null()) return fallback;
    if (value->is_bool()) return value->get_bool();
    if (value->is_int64()) return value->get_int64() != 0;
    bad(name, "a boolean");
}

std::optional<std::string> StepArgs::text(std::string_view name) const {
    const auto* value = find(name);
    if (!value || value->is_null()) return std::nullopt;
    if (const auto* list = value->if_array()) {
        std::string joined;
        for (const auto& element : *list) {
            if (!element.is_string()) bad(name, "a string or a list of strings");
            if (!joined.empty()) joined += ' ';
            joined += element.get_string();
        }
        return joined;
    }
    return string(name);
}

std::string command_description(const std::string& step_name, const StepArgs::Map& args,
                                const core::Properties& properties) {
    try {
        StepArgs rendered(step_name, args, properties);
        if (auto text = rendered.text("description")) return *text;
        if (const auto* command = rendered.find("command")) return command_summary(*command);
    } catch (const std::exception&) {
        // Rendering errors surface when the step runs.
    }
    return "running";
}

std::string command_summary(const boost::json::value& command) {
    std::vector<std::string> words;
    if (const auto* list = command.if_array()) {
        for (const auto& element : *list)
            if (element.is_string()) words.emplace_back(element.get_string());
    } else if (command.is_string()) {
        std::istringstream in{std::string(command.get_string())};
        for (std::string word; in >> word;)
            words.push_back(word);
    }
    if (words.empty()) return "???";
    std::string text = "'" + words[0];
    if (words.size() > 1) text += " " + words[1];
    if (words.size() > 2) text += " ...";
    return text + "'";
}

}  // namespace kiln::steps
