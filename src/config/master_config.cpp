// SPDX-License-Identifier: Apache-2.0
// load_master_config(): runs master.lua in the sandbox, then reads the table it returns
// (top-level keys, workers, builders) and cross-checks names.
#include "config/master_config.hpp"

#include "config/detail/lua_json.hpp"
#include "config/detail/parse.hpp"
#include "config/detail/reader.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <lua.hpp>
#include <regex>
#include <set>
#include <sstream>

namespace kiln::config {
namespace detail {

bool check_table_argument(Reader& reader, const KilnObject& object) {
    lua_State* state = reader.state();
    if (object.positional || lua_type(state, object.args) != LUA_TTABLE ||
        reader.object(object.args)) {
        if (!object.positional) lua_settop(state, object.args);
        reader.error(object.where, "k." + object.kind + " takes a table: k." + object.kind +
                                       "{ name = ..., ... }");
        return false;
    }
    lua_settop(state, object.args);
    if (object.extra_arguments > 0) {
        reader.error(object.where, "k." + object.kind + " takes one table, got more arguments");
        return false;
    }
    return true;
}

}  // namespace detail

namespace {

using detail::Fields;
using detail::KilnObject;
using detail::Reader;
using detail::StackGuard;

constexpr std::string_view kTopLevelKeys[] = {
    "title",
    "title_url",
    "url",
    "db",
    "protocols",
    "www",
    "workers",
    "builders",
    "schedulers",
    "properties",
    "change_sources",
    "reporters",
    "multi_master",
    "log_compression",
    "log_max_size",
    "log_max_tail_size",
    "allow_master_paths_outside",
    "collapse_requests",
};

// "master.lua:12: message\nstack traceback:..." -> location, message and the traceback lines
// that point into config files.
ConfigError lua_failure(const std::string& text, const std::string& main_file) {
    static const std::regex located{R"(^([^\n:]+):(\d+): ([\s\S]*)$)"};
    std::string head = text;
    std::string traceback;
    if (auto split = text.find("\nstack traceback:\n"); split != std::string::npos) {
        head = text.substr(0, split);
        std::istringstream lines{text.substr(split + 18)};
        std::string line;
        int kept = 0;
        std::string frames;
        while (std::getline(lines, line)) {
            if (line.find("[C]") != std::string::npos || line.find("kiln:") != std::string::npos ||
                line.find("(...tail calls...)") != std::string::npos)
                continue;
            frames += "\n" + line;
            ++kept;
        }
        if (kept > 1) traceback = "\nstack traceback:" + frames;
    }
    std::smatch match;
    if (std::regex_match(head, match, located))
        return ConfigError{{match[1].str(), std::stoi(match[2].str())}, match[3].str() + traceback};
    return ConfigError{{main_file, 0}, head + traceback};
}

// The line where `key = ` first appears in the main file (top-level keys have no constructor
// call to point at).
int line_of_key(const std::string& text, std::string_view key) {
    std::istringstream lines{text};
    std::string line;
    const std::regex pattern{"(^|[^A-Za-z0-9_.])" + std::string(key) + R"(\s*=[^=])"};
    for (int number = 1; std::getline(lines, line); ++number)
        if (std::regex_search(line + " ", pattern)) return number;
    return 0;
}

std::string safe_translate(std::string_view name) {
    static constexpr std::string_view kBad = "\t !#$%&'()*+,./:;<=>?@[\\]^{|}~";
    std::string result(name);
    for (auto& c : result)
        if (kBad.find(c) != std::string_view::npos) c = '_';
    return result;
}

class Loader {
public:
    Loader(std::shared_ptr<LuaRuntime> runtime, std::string main_file, std::string main_text,
           std::vector<ConfigError>& errors, MasterConfig& config)
        : reader_(runtime, errors, config.secrets)
        , main_file_(std::move(main_file))
        , main_text_(std::move(main_text))
        , config_(config) {}

    void load(int table);

private:
    SourceLocation key_location(std::string_view key) const {
        return {main_file_, line_of_key(main_text_, key)};
    }
    // Calls `each` with every kiln object in the list at key; reports anything else.
    template <typename Each>
    void for_each_object(Fields& fields, std::string_view key, Each each);
    void load_port(Fields& fields, std::string_view key, std::string_view inner, int& port);
    void load_www(Fields& fields);
    void load_rate_limit(const Fields& www);
    std::optional<WorkerConfig> load_worker(const KilnObject& object);
    std::optional<BuilderConfig> load_builder(const KilnObject& object);
    void cross_check();

    Reader reader_;
    std::string main_file_;
    std::string main_text_;
    MasterConfig& config_;
};

template <typename Each>
void Loader::for_each_object(Fields& fields, std::string_view key, Each each) {
    lua_State* state = reader_.state();
    StackGuard guard{state};
    fields.push(key);
    if (lua_isnil(state, -1)) return;
    const int list = lua_gettop(state);
    const auto where = key_location(key);
    if (lua_type(state, list) != LUA_TTABLE || reader_.object(list)) {
        reader_.error(where,
                      "'" + std::string(key) + "' must be a list, got " + reader_.type_name(list));
        return;
    }
    lua_settop(state, list);
    const auto count = static_cast<lua_Integer>(lua_rawlen(state, list));
    for (lua_Integer position = 1; position <= count; ++position) {
        StackGuard element_guard{state};
        lua_rawgeti(state, list, position);
        auto object = reader_.object(-1);
        if (!object) {
            reader_.error(where,
                          "element " + std::to_string(position) + " of '" + std::string(key) +
                              "' must be made by a k.* constructor, got " + reader_.type_name(-1));
            continue;
        }
        each(*object);
    }
}

void Loader::load_port(Fields& fields, std::string_view key, std::string_view inner, int& port) {
    lua_State* state = reader_.state();
    StackGuard guard{state};
    fields.push(key);
    if (lua_isnil(state, -1)) return;
    if (lua_type(state, -1) != LUA_TTABLE) {
        fields.wrong_type(key, "a table", -1);
        return;
    }
    std::vector<std::string_view> known{inner};
    Fields section{reader_, -1, "'" + std::string(key) + "'", key_location(key), known};
    lua_State* s = state;
    StackGuard inner_guard{s};
    section.push(inner);
    if (lua_isnil(s, -1)) return;
    if (lua_type(s, -1) != LUA_TTABLE) {
        section.wrong_type(inner, "a table such as { port = 9989 }", -1);
        return;
    }
    Fields settings{reader_,
                    -1,
                    "'" + std::string(key) + "." + std::string(inner) + "'",
                    key_location(key),
                    {"port"}};
    if (auto value = settings.integer("port", 1, 65535)) port = static_cast<int>(*value);
}

void Loader::load_www(Fields& fields) {
    lua_State* state = reader_.state();
    StackGuard guard{state};
    fields.push("www");
    if (lua_isnil(state, -1)) return;
    const int table = lua_gettop(state);
    if (lua_type(state, table) != LUA_TTABLE || reader_.object(table)) {
        fields.wrong_type("www", "a table such as { port = 8010 }", table);
        return;
    }
    lua_settop(state, table);
    std::vector<std::string_view> keys;
    lua_pushnil(state);
    while (lua_next(state, table)) {
        if (lua_type(state, -2) == LUA_TSTRING) keys.push_back(lua_tostring(state, -2));
        lua_pop(state, 1);
    }
    const auto where = key_location("www");
    Fields www{reader_, table, "'www'", where, keys};
    if (auto port = www.integer("port", 1, 65535)) config_.www_port = static_cast<int>(*port);
    detail::parse_www_auth(reader_, www, config_.www_auth);
    {
        auto hooks_where = key_location("change_hook");
        if (hooks_where.line == 0) hooks_where = where;
        auto auth_where = key_location("change_hook_auth");
        if (auth_where.line == 0) auth_where = where;
        detail::parse_change_hooks(reader_, www, hooks_where, auth_where, config_.change_hook);
    }
    load_rate_limit(www);
    config_.www.type = "www";
    config_.www.where = where;
    detail::OpaqueParts parts;
    auto is_typed = [](std::string_view key) {
        return key == "port" || key == "auth" || key == "authz" || key == "session_lifetime" ||
               key == "change_hook" || key == "change_hook_auth" || key == "rate_limit";
    };
    lua_pushnil(state);
    while (lua_next(state, table)) {
        if (lua_type(state, -2) == LUA_TSTRING && !is_typed(lua_tostring(state, -2))) {
            std::string key = lua_tostring(state, -2);
            config_.www.options[key] =
                reader_.opaque(-1, where, "'www." + key + "'", "/" + key, parts);
        }
        lua_pop(state, 1);
    }
    config_.www.option_functions = std::move(parts.functions);
    config_.www.option_renderables = std::move(parts.renderables);
}

void Loader::load_rate_limit(const Fields& www) {
    lua_State* state = reader_.state();
    StackGuard guard{state};
    www.push("rate_limit");
    if (lua_isnil(state, -1)) return;
    const int table = lua_gettop(state);
    if (lua_type(state, table) != LUA_TTABLE || reader_.object(table)) {
        www.wrong_type("rate_limit", "a table such as { requests_per_second = 10, burst = 20 }",
                       table);
        return;
    }
    lua_settop(state, table);
    const auto where = key_location("rate_limit");
    Fields settings{reader_, table, "'www.rate_limit'", where, {"requests_per_second", "burst"}};
    const auto errors_before = reader_.error_count();
    auto rate = settings.number("requests_per_second", 0);
    if (!settings.has("requests_per_second"))
        settings.missing("requests_per_second");
    else if (rate && *rate <= 0)
        settings.invalid("requests_per_second", "must be more than 0");
    auto burst = settings.integer("burst", 1, 1'000'000);
    if (reader_.error_count() != errors_before || !rate) return;
    WwwRateLimitConfig limit;
    limit.requests_per_second = *rate;
    limit.burst =
        burst.value_or(std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(*rate))));
    limit.where = where;
    config_.www_rate_limit = limit;
}

std::optional<WorkerConfig> Loader::load_worker(const KilnObject& object) {
    if (object.kind != "worker") {
        reader_.error(object.where, "k." + object.kind + "{...} is not a worker (use k.worker)");
        return std::nullopt;
    }
    if (!detail::check_table_argument(reader_, object)) return std::nullopt;
    Fields fields{reader_,
                  object.args,
                  "k.worker",
                  object.where,
                  {"name", "password", "max_builds", "properties", "keepalive_interval",
                   "missing_timeout", "notify_on_missing"}};
    const auto errors_before = reader_.error_count();
    WorkerConfig worker;
    worker.where = object.where;
    worker.name = fields.string("name", true).value_or("");
    if (fields.has("name") && !worker.name.empty() && !detail::is_identifier(worker.name))
        fields.invalid("name", "must be an identifier: at most 50 characters, letters, digits, "
                               "'_' and '-', not starting with a digit (got '" +
                                   worker.name + "')");
    {
        lua_State* state = reader_.state();
        StackGuard guard{state};
        fields.push("password");
        if (lua_isnil(state, -1))
            fields.missing("password");
        else if (auto password =
                     reader_.string_or_secret(-1, object.where, "'password' in k.worker"))
            worker.password = std::move(*password);
    }
    worker.max_builds = static_cast<int>(fields.integer("max_builds", 0, 1'000'000).value_or(0));
    worker.keepalive_interval =
        static_cast<int>(fields.integer("keepalive_interval", 1, 86'400 * 7).value_or(3600));
    worker.missing_timeout =
        static_cast<int>(fields.integer("missing_timeout", 0, 86'400 * 30).value_or(3600));
    worker.notify_on_missing =
        fields.string_list("notify_on_missing").value_or(std::vector<std::string>{});
    fields.properties("properties", worker.properties, nullptr, "Worker");
    if (reader_.error_count() != errors_before) return std::nullopt;
    return worker;
}

std::optional<BuilderConfig> Loader::load_builder(const KilnObject& object) {
    if (object.kind != "builder") {
        reader_.error(object.where, "k." + object.kind + "{...} is not a builder (use k.builder)");
        return std::nullopt;
    }
    if (!detail::check_table_argument(reader_, object)) return std::nullopt;
    Fields fields{reader_,
                  object.args,
                  "k.builder",
                  object.where,
                  {"name", "workers", "steps", "properties", "tags", "description",
                   "collapse_requests", "can_start_build", "env", "builddir", "workerbuilddir"}};
    const auto errors_before = reader_.error_count();
    BuilderConfig builder;
    builder.where = object.where;
    builder.name = fields.string("name", true).value_or("");
    if (fields.has("name") && builder.name.empty()) fields.invalid("name", "must not be empty");
    if (builder.name.starts_with("_"))
        fields.invalid("name", "must not start with '_' (reserved, as in Buildbot)");
    builder.workers = fields.string_list("workers").value_or(std::vector<std::string>{});
    if (!fields.has("workers")) fields.missing("workers");
    builder.tags = fields.string_list("tags").value_or(std::vector<std::string>{});
    builder.description = fields.string("description");
    builder.collapse_requests = fields.predicate("collapse_requests");
    builder.can_start_build = fields.function("can_start_build");
    builder.builddir = fields.string("builddir").value_or(safe_translate(builder.name));
    builder.workerbuilddir = fields.string("workerbuilddir").value_or(builder.builddir);
    fields.properties("properties", builder.properties, &builder.renderable_properties, "Builder");

    lua_State* state = reader_.state();
    {
        StackGuard guard{state};
        fields.push("env");
        if (!lua_isnil(state, -1)) {
            const int table = lua_gettop(state);
            if (lua_type(state, table) != LUA_TTABLE || reader_.object(table)) {
                fields.wrong_type("env", "a table of NAME = value", table);
            } else {
                lua_settop(state, table);
                lua_pushnil(state);
                while (lua_next(state, table)) {
                    if (lua_type(state, -2) != LUA_TSTRING) {
                        fields.invalid("env", "must have names as keys");
                    } else {
                        std::string name = lua_tostring(state, -2);
                        auto value =
                            reader_.renderable(-1, object.where, "'env." + name + "' in k.builder");
                        const auto* constant = value ? value->constant_value() : nullptr;
                        if (constant && !constant->is_string() && !constant->is_array())
                            fields.invalid("env", "must map names to strings or lists of strings");
                        else if (value)
                            builder.env.emplace(std::move(name), std::move(*value));
                    }
                    lua_pop(state, 1);
                }
            }
        }
    }
    {
        StackGuard guard{state};
        fields.push("steps");
        if (!lua_isnil(state, -1)) {
            const int list = lua_gettop(state);
            if (lua_type(state, list) != LUA_TTABLE || reader_.object(list)) {
                fields.wrong_type("steps", "a list of steps", list);
            } else {
                lua_settop(state, list);
                const auto count = static_cast<lua_Integer>(lua_rawlen(state, list));
                for (lua_Integer position = 1; position <= count; ++position) {
                    StackGuard element_guard{state};
                    lua_rawgeti(state, list, position);
                    auto step_object = reader_.object(-1);
                    if (!step_object) {
                        fields.invalid("steps", "must hold steps such as k.shell{...}; element " +
                                                    std::to_string(position) + " is a " +
                                                    reader_.type_name(-1));
                        continue;
                    }
                    if (auto step = detail::parse_step(reader_, *step_object, config_))
                        builder.steps.push_back(std::move(*step));
                }
            }
        }
    }
    if (reader_.error_count() != errors_before) return std::nullopt;
    return builder;
}

void Loader::load(int table) {
    std::vector<std::string_view> known(std::begin(kTopLevelKeys), std::end(kTopLevelKeys));
    lua_State* state = reader_.state();
    // Unknown top-level keys, each at its own line.
    {
        StackGuard guard{state};
        lua_pushnil(state);
        while (lua_next(state, table)) {
            if (lua_type(state, -2) == LUA_TSTRING) {
                std::string_view key = lua_tostring(state, -2);
                if (std::find(known.begin(), known.end(), key) == known.end()) {
                    std::string message = "unknown key '" + std::string(key) + "' in the config";
                    if (auto close = detail::suggest(key, known))
                        message += " (did you mean '" + std::string(*close) + "'?)";
                    reader_.error(key_location(key), std::move(message));
                }
                known.push_back(key);  // reported once, here
            }
            lua_pop(state, 1);
        }
    }
    Fields fields{reader_, table, "the config", {main_file_, 0}, known};
    auto located = [&](std::string_view key) {
        return Fields{reader_, table, "the config", key_location(key), known};
    };
    config_.title = located("title").string("title").value_or(config_.title);
    config_.title_url = located("title_url").string("title_url").value_or("");
    config_.url = located("url").string("url").value_or(config_.url);
    config_.multi_master = located("multi_master").boolean("multi_master").value_or(false);
    config_.allow_master_paths_outside =
        located("allow_master_paths_outside").boolean("allow_master_paths_outside").value_or(false);
    if (auto compression = located("log_compression").string("log_compression")) {
        if (*compression != "zstd" && *compression != "none")
            located("log_compression").invalid("log_compression", "must be \"zstd\" or \"none\"");
        else
            config_.log_compression = *compression;
    }
    constexpr std::int64_t kMaxBytes = std::int64_t{1} << 50;
    config_.log_max_size = located("log_max_size").integer("log_max_size", 1, kMaxBytes);
    config_.log_max_tail_size =
        located("log_max_tail_size").integer("log_max_tail_size", 0, kMaxBytes);
    if (auto collapse = located("collapse_requests").predicate("collapse_requests"))
        config_.collapse_requests = std::move(*collapse);
    located("properties")
        .properties("properties", config_.properties, &config_.renderable_properties,
                    "Global configuration");
    {
        StackGuard guard{state};
        fields.push("db");
        if (!lua_isnil(state, -1)) {
            if (lua_type(state, -1) != LUA_TTABLE) {
                located("db").wrong_type("db", "a table such as { url = \"sqlite:state.sqlite\" }",
                                         -1);
            } else {
                Fields db{reader_, -1, "'db'", key_location("db"), {"url"}};
                if (auto url = db.string("url")) {
                    if (!url->starts_with("sqlite:") && !url->starts_with("postgresql:") &&
                        !url->starts_with("postgres:"))
                        db.invalid("url", "must start with sqlite: or postgresql://");
                    else
                        config_.db_url = *url;
                }
            }
        }
    }
    load_port(fields, "protocols", "worker", config_.worker_port);
    load_www(fields);

    for_each_object(fields, "workers", [&](const KilnObject& object) {
        if (auto worker = load_worker(object)) config_.workers.push_back(std::move(*worker));
    });
    for_each_object(fields, "builders", [&](const KilnObject& object) {
        if (auto builder = load_builder(object)) config_.builders.push_back(std::move(*builder));
    });
    for_each_object(fields, "schedulers", [&](const KilnObject& object) {
        if (auto scheduler = detail::parse_scheduler(reader_, object))
            config_.schedulers.push_back(std::move(*scheduler));
    });
    for_each_object(fields, "change_sources", [&](const KilnObject& object) {
        if (object.kind == "git_poller") {
            if (auto poller = detail::parse_git_poller(reader_, object))
                config_.git_pollers.push_back(std::move(*poller));
            return;
        }
        config_.change_sources.push_back(detail::parse_generic(reader_, object));
    });
    for_each_object(fields, "reporters", [&](const KilnObject& object) {
        config_.reporters.push_back(detail::parse_generic(reader_, object));
    });
    cross_check();
}

void Loader::cross_check() {
    auto check_unique = [&](const auto& items, std::string_view what) {
        std::map<std::string, SourceLocation, std::less<>> seen;
        for (const auto& item : items) {
            auto [found, inserted] = seen.emplace(item.name, item.where);
            if (!inserted)
                reader_.error(item.where, "duplicate " + std::string(what) + " name '" + item.name +
                                              "' (first defined at " + found->second.to_string() +
                                              ")");
        }
    };
    check_unique(config_.workers, "worker");
    check_unique(config_.builders, "builder");
    check_unique(config_.schedulers, "scheduler");
    check_unique(config_.git_pollers, "change source");
    for (const auto& builder : config_.builders) {
        if (builder.workers.empty())
            reader_.error(builder.where, "builder '" + builder.name + "' has no workers");
        for (const auto& worker : builder.workers)
            if (!config_.find_worker(worker))
                reader_.error(builder.where, "builder '" + builder.name +
                                                 "' names unknown worker '" + worker + "'");
    }
    for (const auto& scheduler : config_.schedulers) {
        for (const auto& builder : scheduler.builders)
            if (!config_.find_builder(builder))
                reader_.error(scheduler.where, "scheduler '" + scheduler.name +
                                                   "' names unknown builder '" + builder + "'");
        if (scheduler.type == "dependent" && !scheduler.upstream.empty() &&
            !config_.find_scheduler(scheduler.upstream))
            reader_.error(scheduler.where, "scheduler '" + scheduler.name + "': upstream '" +
                                               scheduler.upstream + "' is not a scheduler");
    }
    // A trigger step names triggerable schedulers (when the names are constants).
    for (const auto& builder : config_.builders) {
        for (const auto& step : builder.steps) {
            auto names = step.args.find("scheduler_names");
            if (step.type != "trigger" || names == step.args.end()) continue;
            const auto* list = names->second.constant_value();
            if (!list || !list->is_array()) continue;
            for (const auto& name : list->get_array()) {
                if (!name.is_string()) continue;
                const auto* target = config_.find_scheduler(name.get_string());
                if (!target || target->type != "triggerable")
                    reader_.error(step.where, "k.trigger: scheduler '" +
                                                  std::string(name.get_string()) +
                                                  "' is not a k.triggerable scheduler");
            }
        }
    }
}

}  // namespace

const BuilderConfig* MasterConfig::find_builder(std::string_view name) const {
    auto found = std::find_if(builders.begin(), builders.end(),
                              [&](const auto& builder) { return builder.name == name; });
    return found == builders.end() ? nullptr : &*found;
}

const WorkerConfig* MasterConfig::find_worker(std::string_view name) const {
    auto found = std::find_if(workers.begin(), workers.end(),
                              [&](const auto& worker) { return worker.name == name; });
    return found == workers.end() ? nullptr : &*found;
}

const SchedulerConfig* MasterConfig::find_scheduler(std::string_view name) const {
    auto found = std::find_if(schedulers.begin(), schedulers.end(),
                              [&](const auto& scheduler) { return scheduler.name == name; });
    return found == schedulers.end() ? nullptr : &*found;
}

LoadResult load_master_config(const std::filesystem::path& master_dir,
                              const std::filesystem::path& file, const LoadOptions& options) {
    LoadResult result;
    const std::string display = file.generic_string();
    const auto path = file.is_absolute() ? file : master_dir / file;
    std::ifstream input{path, std::ios::binary};
    if (!input) {
        result.errors.push_back({{display, 0}, "cannot read " + path.string()});
        return result;
    }
    std::ostringstream text;
    text << input.rdbuf();

    auto runtime = LuaRuntime::create(master_dir, options.limits);
    lua_State* state = runtime->state();
    if (auto failure = runtime->load_chunk(text.str(), display)) {
        result.errors.push_back(lua_failure(*failure, display));
        return result;
    }
    if (auto failure = runtime->protected_call(0, 1, options.limits.load_instructions)) {
        result.errors.push_back(lua_failure(*failure, display));
        return result;
    }
    const int table = lua_gettop(state);
    if (lua_type(state, table) != LUA_TTABLE || detail::is_kiln_object(state, table)) {
        result.errors.push_back({{display, 0},
                                 std::string("the config must return a table, got ") +
                                     detail::describe_type(state, table)});
        return result;
    }
    MasterConfig config;
    config.master_dir = master_dir;
    config.runtime = runtime;
    {
        Loader loader{runtime, display, text.str(), result.errors, config};
        loader.load(table);
    }
    lua_settop(state, 0);
    if (result.errors.empty()) result.config = std::move(config);
    return result;
}

core::Expected<std::filesystem::path> resolve_master_path(const MasterConfig& config,
                                                          std::string_view path) {
    std::filesystem::path given{path};
    auto full = given.is_absolute() ? given : config.master_dir / given;
    full = full.lexically_normal();
    if (config.allow_master_paths_outside) return full;
    std::error_code error;
    auto root = std::filesystem::weakly_canonical(config.master_dir, error);
    auto resolved = std::filesystem::weakly_canonical(full, error);
    auto inside = resolved.lexically_relative(root);
    if (error || inside.empty() || *inside.begin() == "..")
        return core::fail(core::ErrorKind::bad_input,
                          "master path '" + std::string(path) +
                              "' leaves the master directory (allow_master_paths_outside is "
                              "false)");
    return resolved;
}

bool operator==(const StepConfig& a, const StepConfig& b) {
    return a.type == b.type && a.name == b.name && a.halt_on_failure == b.halt_on_failure &&
           a.flunk_on_failure == b.flunk_on_failure && a.warn_on_failure == b.warn_on_failure &&
           a.warn_on_warnings == b.warn_on_warnings && a.flunk_on_warnings == b.flunk_on_warnings &&
           a.always_run == b.always_run && a.do_step_if == b.do_step_if &&
           a.hide_step_if == b.hide_step_if && a.description == b.description &&
           a.description_done == b.description_done &&
           a.description_suffix == b.description_suffix && a.args == b.args &&
           a.functions == b.functions;
}

bool operator==(const WorkerConfig& a, const WorkerConfig& b) {
    return a.name == b.name && a.password == b.password && a.max_builds == b.max_builds &&
           a.properties == b.properties && a.keepalive_interval == b.keepalive_interval &&
           a.missing_timeout == b.missing_timeout && a.notify_on_missing == b.notify_on_missing;
}

bool operator==(const BuilderConfig& a, const BuilderConfig& b) {
    return a.name == b.name && a.workers == b.workers && a.steps == b.steps &&
           a.properties == b.properties && a.renderable_properties == b.renderable_properties &&
           a.tags == b.tags && a.description == b.description &&
           a.collapse_requests == b.collapse_requests && a.can_start_build == b.can_start_build &&
           a.env == b.env && a.builddir == b.builddir && a.workerbuilddir == b.workerbuilddir;
}

bool operator==(const GenericConfig& a, const GenericConfig& b) {
    return a.type == b.type && a.options == b.options && a.option_functions == b.option_functions &&
           a.option_renderables == b.option_renderables;
}

}  // namespace kiln::config
