// SPDX-License-Identifier: Apache-2.0
// The typed options schedulers share: change_filter (k.change_filter{...} or a function),
// codebases, and the nightly schedule's cron fields; and SchedulerConfig's equality.
#include "config/detail/parse.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <lua.hpp>
#include <regex>
#include <set>
#include <span>

namespace kiln::config {

namespace detail {
namespace {

// A string or a list of strings (Buildbot's filter values).
std::optional<std::vector<std::string>> string_or_list(Reader& reader, const Fields& fields,
                                                       std::string_view key) {
    lua_State* state = reader.state();
    StackGuard guard{state};
    fields.push(key);
    if (lua_isnil(state, -1)) return std::nullopt;
    if (lua_type(state, -1) == LUA_TSTRING)
        return std::vector<std::string>{std::string(lua_tostring(state, -1))};
    return fields.string_list(key);
}

std::optional<ChangeFilterConfig> parse_filter_object(Reader& reader, const KilnObject& object) {
    if (object.kind != "change_filter") {
        reader.error(object.where, "k." + object.kind +
                                       "{...} is not a change filter (use k.change_filter{...} "
                                       "or a function(change))");
        return std::nullopt;
    }
    if (!check_table_argument(reader, object)) return std::nullopt;
    Fields fields{reader,
                  object.args,
                  "k.change_filter",
                  object.where,
                  {"project", "repository", "branch", "category", "codebase", "project_re",
                   "repository_re", "branch_re", "category_re", "codebase_re", "fn"}};
    const auto errors_before = reader.error_count();
    ChangeFilterConfig filter;
    filter.where = object.where;
    auto exact = [&](std::string_view key, std::vector<std::string>& into) {
        if (auto values = string_or_list(reader, fields, key)) into = std::move(*values);
    };
    auto regexes = [&](std::string_view key, std::vector<std::string>& into) {
        auto values = string_or_list(reader, fields, key);
        if (!values) return;
        for (auto& value : *values) {
            try {
                std::regex compiled{value};
            } catch (const std::regex_error& problem) {
                fields.invalid(key, "holds '" + value +
                                        "', not a valid regular expression: " + problem.what());
                continue;
            }
            into.push_back(std::move(value));
        }
    };
    exact("project", filter.project);
    exact("repository", filter.repository);
    exact("branch", filter.branch);
    exact("category", filter.category);
    exact("codebase", filter.codebase);
    regexes("project_re", filter.project_re);
    regexes("repository_re", filter.repository_re);
    regexes("branch_re", filter.branch_re);
    regexes("category_re", filter.category_re);
    regexes("codebase_re", filter.codebase_re);
    filter.fn = fields.function("fn");
    if (reader.error_count() != errors_before) return std::nullopt;
    return filter;
}

struct CronRange {
    int minimum;
    int maximum;
    std::span<const std::string_view> names;  // names[i] stands for minimum + i
};

constexpr std::array<std::string_view, 12> kMonthNames = {"jan", "feb", "mar", "apr", "may", "jun",
                                                          "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<std::string_view, 7> kDayNames = {"mon", "tue", "wed", "thu",
                                                       "fri", "sat", "sun"};

std::optional<int> cron_number(std::string_view text, const CronRange& range) {
    int value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error == std::errc() && end == text.data() + text.size()) return value;
    std::string lower(text);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    for (std::size_t i = 0; i < range.names.size(); ++i)
        if (range.names[i] == lower) return range.minimum + static_cast<int>(i);
    return std::nullopt;
}

// One comma-separated item of a cron string: "*", "*/n", "a", "a-b", "a-b/n" (names allowed
// for months and days). A step keeps the values divisible by it, as Buildbot's croniter does
// ("*/15" on minutes: 0, 15, 30, 45).
std::optional<std::string> add_cron_item(std::string_view item, const CronRange& range,
                                         std::set<int>& values, bool& is_any) {
    int step = 1;
    if (auto slash = item.find('/'); slash != std::string_view::npos) {
        auto parsed = cron_number(item.substr(slash + 1), CronRange{1, 1000, {}});
        if (!parsed || *parsed < 1) return "has a bad step in '" + std::string(item) + "'";
        step = *parsed;
        item = item.substr(0, slash);
    }
    int low = range.minimum;
    int high = range.maximum;
    if (item == "*") {
        if (step == 1) {
            is_any = true;
            return std::nullopt;
        }
    } else if (auto dash = item.find('-'); dash != std::string_view::npos && dash > 0) {
        auto first = cron_number(item.substr(0, dash), range);
        auto last = cron_number(item.substr(dash + 1), range);
        if (!first || !last) return "has a bad range '" + std::string(item) + "'";
        low = *first;
        high = *last;
    } else {
        auto single = cron_number(item, range);
        if (!single) return "has '" + std::string(item) + "', not a number";
        low = high = *single;
    }
    if (low < range.minimum || high > range.maximum || low > high)
        return "has '" + std::string(item) + "' outside " + std::to_string(range.minimum) + ".." +
               std::to_string(range.maximum);
    for (int value = low; value <= high; ++value)
        if (low == high || value % step == 0) values.insert(value);
    return std::nullopt;
}

}  // namespace

std::optional<ChangeFilterConfig> parse_change_filter(Reader& reader, const Fields& fields,
                                                      std::string_view key) {
    lua_State* state = reader.state();
    StackGuard guard{state};
    fields.push(key);
    if (lua_isnil(state, -1)) return std::nullopt;
    if (lua_type(state, -1) == LUA_TFUNCTION) {
        ChangeFilterConfig filter;
        filter.where = fields.where();
        filter.fn = reader.callable(-1);
        return filter;
    }
    auto object = reader.object(-1);
    if (!object) {
        fields.wrong_type(key, "k.change_filter{...} or a function(change)", -1);
        return std::nullopt;
    }
    return parse_filter_object(reader, *object);
}

std::vector<CodebaseConfig> parse_codebases(Reader& reader, const Fields& fields) {
    std::vector<CodebaseConfig> codebases;
    lua_State* state = reader.state();
    StackGuard guard{state};
    fields.push("codebases");
    if (lua_isnil(state, -1)) return {CodebaseConfig{}};
    const int table = lua_gettop(state);
    const std::string expected =
        "a list of codebase names or a table of name = { repository = ..., branch = ..., "
        "revision = ... }";
    if (lua_type(state, table) != LUA_TTABLE || reader.object(table)) {
        fields.wrong_type("codebases", expected, table);
        return {CodebaseConfig{}};
    }
    lua_settop(state, table);
    lua_pushnil(state);
    while (lua_next(state, table)) {
        CodebaseConfig codebase;
        const int value = lua_gettop(state);
        bool ok = true;
        if (lua_type(state, -2) == LUA_TNUMBER && lua_type(state, value) == LUA_TSTRING) {
            codebase.name = lua_tostring(state, value);
        } else if (lua_type(state, -2) == LUA_TSTRING && lua_type(state, value) == LUA_TTABLE) {
            codebase.name = lua_tostring(state, -2);
            Fields attributes{reader,
                              value,
                              "codebase '" + codebase.name + "'",
                              fields.where(),
                              {"repository", "branch", "revision"}};
            codebase.repository = attributes.string("repository").value_or("");
            codebase.branch = attributes.string("branch");
            codebase.revision = attributes.string("revision");
        } else {
            ok = false;
        }
        lua_settop(state, value - 1);
        if (!ok) {
            fields.invalid("codebases", "must be " + expected);
            continue;
        }
        if (std::any_of(codebases.begin(), codebases.end(),
                        [&](const auto& other) { return other.name == codebase.name; }))
            fields.invalid("codebases", "names codebase '" + codebase.name + "' twice");
        else
            codebases.push_back(std::move(codebase));
    }
    if (codebases.empty()) {
        fields.invalid("codebases", "must name at least one codebase");
        return {CodebaseConfig{}};
    }
    std::sort(codebases.begin(), codebases.end(),
              [](const auto& a, const auto& b) { return a.name < b.name; });
    return codebases;
}

std::optional<CronField> parse_cron_field(Reader& reader, const Fields& fields,
                                          std::string_view key) {
    CronRange range{0, 59, {}};
    if (key == "hour") range = {0, 23, {}};
    if (key == "day_of_month") range = {1, 31, {}};
    if (key == "month") range = {1, 12, kMonthNames};
    if (key == "day_of_week") range = {0, 6, kDayNames};
    lua_State* state = reader.state();
    StackGuard guard{state};
    fields.push(key);
    if (lua_isnil(state, -1)) return std::nullopt;
    const std::string expected = "a number, a list of numbers or a cron string such as \"*\", "
                                 "\"*/15\", \"1-5\" or \"1,15\"";
    CronField field;
    field.is_any = false;
    std::set<int> values;
    std::vector<std::string> items;
    if (lua_type(state, -1) == LUA_TSTRING) {
        std::string text = lua_tostring(state, -1);
        std::string item;
        for (char c : text + ",") {
            if (c == ',') {
                items.push_back(item);
                item.clear();
            } else if (c != ' ') {
                item += c;
            }
        }
    } else if (lua_isinteger(state, -1)) {
        items.push_back(std::to_string(lua_tointeger(state, -1)));
    } else if (lua_type(state, -1) == LUA_TTABLE) {
        const int table = lua_gettop(state);
        if (reader.object(table)) {
            fields.wrong_type(key, expected, table);
            return std::nullopt;
        }
        lua_settop(state, table);
        const auto count = static_cast<lua_Integer>(lua_rawlen(state, table));
        for (lua_Integer position = 1; position <= count; ++position) {
            lua_rawgeti(state, table, position);
            if (lua_isinteger(state, -1))
                items.push_back(std::to_string(lua_tointeger(state, -1)));
            else if (lua_type(state, -1) == LUA_TSTRING)
                items.emplace_back(lua_tostring(state, -1));
            else
                items.emplace_back("?");
            lua_pop(state, 1);
        }
        if (items.empty()) {
            fields.invalid(key, "must not be an empty list");
            return std::nullopt;
        }
    } else {
        fields.wrong_type(key, expected, -1);
        return std::nullopt;
    }
    for (const auto& item : items) {
        if (item.find('*') != std::string::npos && item.find('/') == std::string::npos &&
            item != "*") {
            fields.invalid(key, "has '" + item + "'; expected " + expected);
            return std::nullopt;
        }
        if (auto problem = add_cron_item(item, range, values, field.is_any)) {
            fields.invalid(key, *problem);
            return std::nullopt;
        }
    }
    if (field.is_any) return CronField{};
    field.values.assign(values.begin(), values.end());
    return field;
}

}  // namespace detail

bool SchedulerConfig::listens_to_changes() const {
    if (type == "single_branch" || type == "any_branch") return true;
    return (type == "periodic" || type == "nightly") && only_if_changed;
}

bool operator==(const ForceParameter& a, const ForceParameter& b) {
    return a.type == b.type && a.name == b.name && a.label == b.label &&
           a.default_value == b.default_value && a.required == b.required && a.regex == b.regex &&
           a.choices == b.choices && a.multiple == b.multiple && a.strict == b.strict;
}

bool operator==(const ChangeFilterConfig& a, const ChangeFilterConfig& b) {
    return a.project == b.project && a.repository == b.repository && a.branch == b.branch &&
           a.category == b.category && a.codebase == b.codebase && a.project_re == b.project_re &&
           a.repository_re == b.repository_re && a.branch_re == b.branch_re &&
           a.category_re == b.category_re && a.codebase_re == b.codebase_re && a.fn == b.fn;
}

bool operator==(const SchedulerConfig& a, const SchedulerConfig& b) {
    return a.type == b.type && a.name == b.name && a.builders == b.builders &&
           a.properties == b.properties && a.renderable_properties == b.renderable_properties &&
           a.codebases == b.codebases && a.priority == b.priority && a.parameters == b.parameters &&
           a.reason == b.reason && a.button_name == b.button_name && a.label == b.label &&
           a.reason_string == b.reason_string && a.branch == b.branch && a.branches == b.branches &&
           a.change_filter == b.change_filter && a.file_is_important == b.file_is_important &&
           a.only_important == b.only_important && a.tree_stable_timer == b.tree_stable_timer &&
           a.period == b.period && a.minute == b.minute && a.hour == b.hour &&
           a.day_of_month == b.day_of_month && a.month == b.month &&
           a.day_of_week == b.day_of_week && a.only_if_changed == b.only_if_changed &&
           a.upstream == b.upstream;
}

}  // namespace kiln::config
