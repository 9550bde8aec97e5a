// SPDX-License-Identifier: Apache-2.0
// Schedulers: k.force{...} with its parameters, the other kinds generically; and the generic
// constructors used by change sources and reporters.
#include "config/detail/parse.hpp"

#include <algorithm>
#include <array>
#include <lua.hpp>
#include <regex>

#include <boost/json/array.hpp>

namespace kiln::config::detail {
namespace {

constexpr std::array<std::string_view, 7> kSchedulerKinds = {
    "force", "single_branch", "any_branch", "periodic", "nightly", "triggerable", "dependent"};

constexpr std::array<std::string_view, 5> kParameterKinds = {
    "string_parameter", "text_parameter", "int_parameter", "bool_parameter", "choice_parameter"};

std::optional<ForceParameter> parse_parameter(Reader& reader, const KilnObject& object) {
    if (std::find(kParameterKinds.begin(), kParameterKinds.end(), object.kind) ==
        kParameterKinds.end()) {
        reader.error(object.where, "k." + object.kind +
                                       "{...} is not a force parameter (use "
                                       "k.string_parameter, k.text_parameter, "
                                       "k.int_parameter, k.bool_parameter or "
                                       "k.choice_parameter)");
        return std::nullopt;
    }
    if (!check_table_argument(reader, object)) return std::nullopt;
    ForceParameter parameter;
    parameter.type = object.kind.substr(0, object.kind.find('_'));
    parameter.where = object.where;
    std::vector<std::string_view> known = {"name", "label", "default", "required"};
    if (parameter.type == "string" || parameter.type == "text") known.push_back("regex");
    if (parameter.type == "text") known.insert(known.end(), {"cols", "rows"});
    if (parameter.type == "string") known.push_back("size");
    if (parameter.type == "choice") known.insert(known.end(), {"choices", "multiple", "strict"});
    const std::string context = "k." + object.kind;
    Fields fields{reader, object.args, context, object.where, known};
    const auto errors_before = reader.error_count();
    parameter.name = fields.string("name", true).value_or("");
    if (fields.has("name") && !is_identifier(parameter.name))
        fields.invalid("name", "must be an identifier (letters, digits, '_', '-'; at most 50)");
    parameter.label = fields.string("label").value_or(parameter.name);
    parameter.required = fields.boolean("required").value_or(false);
    if (auto regex = fields.string("regex")) {
        try {
            std::regex compiled{*regex};
            parameter.regex = std::move(*regex);
        } catch (const std::regex_error& problem) {
            fields.invalid("regex",
                           std::string("is not a valid regular expression: ") + problem.what());
        }
    }
    if (parameter.type == "choice") {
        parameter.choices = fields.string_list("choices").value_or(std::vector<std::string>{});
        if (!fields.has("choices")) fields.missing("choices");
        parameter.multiple = fields.boolean("multiple").value_or(false);
        parameter.strict = fields.boolean("strict").value_or(true);
    }
    fields.integer("cols", 1, 1000);
    fields.integer("rows", 1, 1000);
    fields.integer("size", 1, 1000);

    auto given = fields.plain("default");
    if (parameter.type == "string" || parameter.type == "text") {
        parameter.default_value = "";
        if (given && !given->is_string())
            fields.invalid("default", "must be a string");
        else if (given)
            parameter.default_value = *given;
    } else if (parameter.type == "int") {
        parameter.default_value = 0;
        if (given && !given->is_int64())
            fields.invalid("default", "must be an integer");
        else if (given)
            parameter.default_value = *given;
    } else if (parameter.type == "bool") {
        parameter.default_value = false;
        if (given && !given->is_bool())
            fields.invalid("default", "must be a boolean");
        else if (given)
            parameter.default_value = *given;
    } else {
        auto is_choice = [&](const boost::json::value& value) {
            return value.is_string() &&
                   std::find(parameter.choices.begin(), parameter.choices.end(),
                             std::string_view(value.get_string())) != parameter.choices.end();
        };
        if (parameter.multiple) {
            parameter.default_value = boost::json::array{};
            if (given && given->is_object() && given->get_object().empty())
                given = boost::json::array{};
            if (given) {
                const auto* list = given->if_array();
                if (!list ||
                    (parameter.strict && !std::all_of(list->begin(), list->end(), is_choice)))
                    fields.invalid("default", "must be a list of the choices");
                else
                    parameter.default_value = *given;
            }
        } else {
            if (!parameter.choices.empty()) parameter.default_value = parameter.choices.front();
            if (given && (!given->is_string() || (parameter.strict && !is_choice(*given))))
                fields.invalid("default", "must be one of the choices");
            else if (given)
                parameter.default_value = *given;
        }
    }
    if (reader.error_count() != errors_before) return std::nullopt;
    return parameter;
}

void parse_force(Reader& reader, Fields& fields, SchedulerConfig& scheduler) {
    scheduler.reason = fields.string("reason").value_or(scheduler.reason);
    scheduler.reason_string = fields.string("reason_string").value_or(scheduler.reason_string);
    scheduler.button_name = fields.string("button_name").value_or(scheduler.button_name);
    scheduler.label = fields.string("label").value_or(scheduler.name);
    lua_State* state = reader.state();
    StackGuard guard{state};
    fields.push("parameters");
    if (lua_isnil(state, -1)) return;
    const int list = lua_gettop(state);
    if (lua_type(state, list) != LUA_TTABLE || reader.object(list)) {
        fields.wrong_type("parameters", "a list of k.*_parameter{...}", list);
        return;
    }
    lua_settop(state, list);
    const auto count = static_cast<lua_Integer>(lua_rawlen(state, list));
    for (lua_Integer position = 1; position <= count; ++position) {
        StackGuard element_guard{state};
        lua_rawgeti(state, list, position);
        auto object = reader.object(-1);
        if (!object) {
            fields.invalid("parameters", "must hold k.*_parameter{...} values, element " +
                                             std::to_string(position) + " is a " +
                                             reader.type_name(-1));
            continue;
        }
        auto parameter = parse_parameter(reader, *object);
        if (!parameter) continue;
        const bool duplicate =
            parameter->name == "reason" || parameter->name == "username" ||
            std::any_of(scheduler.parameters.begin(), scheduler.parameters.end(),
                        [&](const auto& other) { return other.name == parameter->name; });
        if (duplicate)
            reader.error(parameter->where, "force parameter '" + parameter->name +
                                               "' is defined twice (reason and username are "
                                               "built in)");
        else
            scheduler.parameters.push_back(std::move(*parameter));
    }
}

}  // namespace

bool is_scheduler_kind(std::string_view kind) {
    return std::find(kSchedulerKinds.begin(), kSchedulerKinds.end(), kind) != kSchedulerKinds.end();
}

std::optional<SchedulerConfig> parse_scheduler(Reader& reader, const KilnObject& object) {
    if (!is_scheduler_kind(object.kind)) {
        std::vector<std::string_view> kinds(kSchedulerKinds.begin(), kSchedulerKinds.end());
        std::string message = "k." + object.kind + "{...} is not a scheduler";
        if (auto close = suggest(object.kind, kinds))
            message += " (did you mean k." + std::string(*close) + "?)";
        reader.error(object.where, std::move(message));
        return std::nullopt;
    }
    if (!check_table_argument(reader, object)) return std::nullopt;
    const bool force = object.kind == "force";
    const std::string context = "k." + object.kind;
    std::vector<std::string_view> known = {"name", "builders", "properties"};
    if (force)
        known.insert(known.end(),
                     {"reason", "reason_string", "parameters", "button_name", "label"});
    lua_State* state = reader.state();
    StackGuard guard{state};
    if (!force) {  // generic: every key is accepted into options
        lua_pushnil(state);
        while (lua_next(state, object.args)) {
            if (lua_type(state, -2) == LUA_TSTRING) known.push_back(lua_tostring(state, -2));
            lua_pop(state, 1);
        }
    }
    Fields fields{reader, object.args, context, object.where, known};
    const auto errors_before = reader.error_count();
    SchedulerConfig scheduler;
    scheduler.type = object.kind;
    scheduler.where = object.where;
    scheduler.name = fields.string("name", true).value_or("");
    if (fields.has("name") && scheduler.name.empty()) fields.invalid("name", "must not be empty");
    scheduler.builders = fields.string_list("builders").value_or(std::vector<std::string>{});
    if (!fields.has("builders")) fields.missing("builders");
    fields.properties("properties", scheduler.properties, &scheduler.renderable_properties,
                      "Scheduler");
    if (force) {
        parse_force(reader, fields, scheduler);
    } else {
        OpaqueParts parts;
        lua_pushnil(state);
        while (lua_next(state, object.args)) {
            if (lua_type(state, -2) == LUA_TSTRING) {
                std::string key = lua_tostring(state, -2);
                if (key != "name" && key != "builders" && key != "properties")
                    scheduler.options[key] = reader.opaque(
                        -1, object.where, "'" + key + "' in " + context, "/" + key, parts);
            }
            lua_pop(state, 1);
        }
        scheduler.option_functions = std::move(parts.functions);
        scheduler.option_renderables = std::move(parts.renderables);
    }
    if (reader.error_count() != errors_before) return std::nullopt;
    return scheduler;
}

GenericConfig parse_generic(Reader& reader, const KilnObject& object) {
    GenericConfig config;
    config.type = object.kind;
    config.where = object.where;
    if (!check_table_argument(reader, object)) return config;
    OpaqueParts parts;
    auto options = reader.opaque(object.args, object.where, "k." + object.kind, "", parts);
    if (auto* fields = options.if_object()) config.options = std::move(*fields);
    config.option_functions = std::move(parts.functions);
    config.option_renderables = std::move(parts.renderables);
    return config;
}

}  // namespace kiln::config::detail
