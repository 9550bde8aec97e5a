// SPDX-License-Identifier: Apache-2.0
// Schedulers: k.force{...} with its parameters, k.single_branch, k.any_branch, k.periodic,
// k.nightly, k.triggerable, k.dependent with their typed options; and the generic
// constructors used by change sources and reporters.
#include "config/detail/parse.hpp"

#include <algorithm>
#include <array>
#include <lua.hpp>
#include <regex>

#include <boost/json/array.hpp>

namespace kiln::config::detail {
namespace {

constexpr std::array<std::string_view, 8> kSchedulerKinds = {
    "force",   "single_branch", "any_branch", "periodic",
    "nightly", "triggerable",   "dependent",  "try_scheduler"};

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

// Buildbot's class names, which its default reasons and %(classname)s use.
std::string_view class_name(std::string_view kind) {
    if (kind == "single_branch") return "SingleBranchScheduler";
    if (kind == "any_branch") return "AnyBranchScheduler";
    if (kind == "periodic") return "Periodic";
    if (kind == "nightly") return "Nightly";
    if (kind == "triggerable") return "Triggerable";
    if (kind == "dependent") return "Dependent";
    if (kind == "try_scheduler") return "Try_Userpass";
    return "ForceScheduler";
}

std::vector<std::string_view> known_keys(std::string_view kind) {
    std::vector<std::string_view> keys = {"name", "builders", "properties"};
    if (kind == "force") {
        keys.insert(keys.end(), {"reason", "reason_string", "parameters", "button_name", "label"});
        return keys;
    }
    if (kind == "try_scheduler") return keys;
    keys.insert(keys.end(), {"codebases", "priority", "reason"});
    const bool basic = kind == "single_branch" || kind == "any_branch";
    const bool timed = kind == "periodic" || kind == "nightly";
    if (basic || timed)
        keys.insert(keys.end(), {"change_filter", "file_is_important", "only_important"});
    if (basic) keys.push_back("tree_stable_timer");
    if (kind == "single_branch" || timed) keys.push_back("branch");
    if (kind == "any_branch") keys.push_back("branches");
    if (timed) keys.push_back("only_if_changed");
    if (kind == "periodic") keys.push_back("period");
    if (kind == "nightly")
        keys.insert(keys.end(), {"minute", "hour", "day_of_month", "month", "day_of_week"});
    if (kind == "dependent") keys.push_back("upstream");
    return keys;
}

// The days each month may have, for checking a nightly schedule can ever fire.
constexpr int kMaxDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

void parse_nightly(Reader& reader, Fields& fields, SchedulerConfig& scheduler) {
    if (auto field = parse_cron_field(reader, fields, "minute")) scheduler.minute = *field;
    if (auto field = parse_cron_field(reader, fields, "hour")) scheduler.hour = *field;
    if (auto field = parse_cron_field(reader, fields, "day_of_month"))
        scheduler.day_of_month = *field;
    if (auto field = parse_cron_field(reader, fields, "month")) scheduler.month = *field;
    if (auto field = parse_cron_field(reader, fields, "day_of_week"))
        scheduler.day_of_week = *field;
    // With day_of_week "*", day_of_month alone picks the days: some month must have one.
    if (scheduler.day_of_week.is_any && !scheduler.day_of_month.is_any) {
        bool possible = false;
        for (int month = 1; month <= 12; ++month) {
            const auto& months = scheduler.month.values;
            if (!scheduler.month.is_any &&
                std::find(months.begin(), months.end(), month) == months.end())
                continue;
            for (int day : scheduler.day_of_month.values)
                possible = possible || day <= kMaxDays[month - 1];
        }
        if (!possible) fields.invalid("day_of_month", "never falls in the months given");
    }
}

void parse_typed(Reader& reader, Fields& fields, SchedulerConfig& scheduler) {
    const auto& kind = scheduler.type;
    scheduler.codebases = parse_codebases(reader, fields);
    scheduler.priority =
        static_cast<int>(fields.integer("priority", -1'000'000, 1'000'000).value_or(0));
    std::string reason = "The %(classname)s scheduler named '%(name)s' triggered this build";
    if (kind == "dependent") reason = "downstream";
    reason = fields.string("reason").value_or(reason);
    auto replace = [&](std::string_view key, std::string_view value) {
        for (auto at = reason.find(key); at != std::string::npos;
             at = reason.find(key, at + value.size()))
            reason.replace(at, key.size(), value);
    };
    replace("%(classname)s", class_name(kind));
    replace("%(name)s", scheduler.name);
    scheduler.reason_string = reason;
    scheduler.reason.clear();

    const bool basic = kind == "single_branch" || kind == "any_branch";
    const bool timed = kind == "periodic" || kind == "nightly";
    if (basic || timed) {
        scheduler.change_filter = parse_change_filter(reader, fields, "change_filter");
        scheduler.file_is_important = fields.function("file_is_important");
        scheduler.only_important = fields.boolean("only_important").value_or(false);
        scheduler.branch = fields.string("branch");
    }
    if (kind == "single_branch") {
        if (!scheduler.branch && !fields.has("change_filter"))
            fields.invalid("branch", "is required unless a change_filter is given");
        if (scheduler.branch && scheduler.change_filter)
            fields.invalid("change_filter",
                           "cannot be given with 'branch' (put the branch into the filter)");
    }
    if (kind == "any_branch")
        scheduler.branches = fields.string_list("branches").value_or(std::vector<std::string>{});
    if (basic) scheduler.tree_stable_timer = fields.integer("tree_stable_timer", 0, 366 * 86'400);
    if (timed) scheduler.only_if_changed = fields.boolean("only_if_changed").value_or(false);
    if (kind == "periodic") {
        scheduler.period = fields.integer("period", 1, 366 * 86'400).value_or(0);
        if (!fields.has("period")) fields.missing("period");
    }
    if (kind == "nightly") parse_nightly(reader, fields, scheduler);
    if (kind == "dependent") {
        scheduler.upstream = fields.string("upstream", true).value_or("");
        if (scheduler.upstream == scheduler.name && !scheduler.name.empty())
            fields.invalid("upstream", "cannot name the scheduler itself");
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
    const std::string context = "k." + object.kind;
    Fields fields{reader, object.args, context, object.where, known_keys(object.kind)};
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
    if (object.kind == "force") {
        parse_force(reader, fields, scheduler);
    } else if (object.kind == "try_scheduler") {
        // Jobs come from `kiln try` (POST /api/v2/tryschedulers/<name>); the buildset's
        // reason is Buildbot's "'try' job" (with " by user <who>" added per job).
        scheduler.reason_string = "'try' job";
        scheduler.reason.clear();
    } else
        parse_typed(reader, fields, scheduler);
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
