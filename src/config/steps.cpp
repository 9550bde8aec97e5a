// SPDX-License-Identifier: Apache-2.0
// The step constructors: k.shell, k.set_property_from_command, k.set_property, k.file_upload,
// k.directory_upload, k.file_download, k.string_download, k.master_shell, k.git, k.trigger.
#include "config/detail/parse.hpp"
#include "core/results.hpp"

#include <algorithm>
#include <array>
#include <lua.hpp>
#include <span>

namespace kiln::config::detail {
namespace {

enum class Arg {
    string,   // a string
    command,  // a string, or a non-empty list of strings
    env,      // name -> string | list of strings
    number,   // seconds (>= 0), or false for "no limit"
    integer,  // >= 0
    boolean,
    logfiles,     // name -> filename | { filename = , follow = }
    decode_rc,    // { [rc] = "success" | "warnings" | ... }
    signal,       // "KILL", "TERM", ...
    compress,     // "gz" | "bz2"
    master_path,  // a path on the master (confined to the master directory)
    names,        // a non-empty list of strings
    strings,      // a list of strings
    table,        // a table of name = value
    any,
};

struct ArgSpec {
    std::string_view key;
    Arg kind;
};

struct StepSchema {
    std::string_view type;
    std::string_view default_name;
    std::span<const ArgSpec> args;
    std::span<const std::string_view> required;
    std::span<const ArgSpec> extra_args = {};

    std::vector<ArgSpec> all_args() const {
        std::vector<ArgSpec> all(args.begin(), args.end());
        all.insert(all.end(), extra_args.begin(), extra_args.end());
        return all;
    }
};

constexpr ArgSpec kCommandArgs[] = {
    {"command", Arg::command},
    {"workdir", Arg::string},
    {"env", Arg::env},
    {"timeout", Arg::number},
    {"max_time", Arg::number},
    {"sigterm_time", Arg::number},
    {"want_stdout", Arg::boolean},
    {"want_stderr", Arg::boolean},
    {"usepty", Arg::boolean},
    {"logfiles", Arg::logfiles},
    {"log_files", Arg::logfiles},
    {"lazylogfiles", Arg::boolean},
    {"interrupt_signal", Arg::signal},
    {"initial_stdin", Arg::string},
    {"decode_rc", Arg::decode_rc},
    {"log_environ", Arg::boolean},
};
// set_property_from_command takes every shell argument and these.
constexpr ArgSpec kPropertyFromCommandArgs[] = {{"property", Arg::string}, {"strip", Arg::boolean}};
constexpr ArgSpec kSetPropertyArgs[] = {{"property", Arg::string}, {"value", Arg::any}};
constexpr ArgSpec kFileUploadArgs[] = {
    {"workersrc", Arg::string}, {"masterdest", Arg::master_path}, {"mode", Arg::integer},
    {"maxsize", Arg::integer},  {"blocksize", Arg::integer},      {"keepstamp", Arg::boolean},
    {"workdir", Arg::string},
};
constexpr ArgSpec kDirectoryUploadArgs[] = {
    {"workersrc", Arg::string}, {"masterdest", Arg::master_path}, {"compress", Arg::compress},
    {"maxsize", Arg::integer},  {"blocksize", Arg::integer},      {"workdir", Arg::string},
};
constexpr ArgSpec kFileDownloadArgs[] = {
    {"mastersrc", Arg::master_path}, {"workerdest", Arg::string}, {"mode", Arg::integer},
    {"maxsize", Arg::integer},       {"blocksize", Arg::integer}, {"workdir", Arg::string},
};
constexpr ArgSpec kStringDownloadArgs[] = {
    {"s", Arg::string},          {"workerdest", Arg::string}, {"mode", Arg::integer},
    {"blocksize", Arg::integer}, {"workdir", Arg::string},
};
constexpr ArgSpec kMasterShellArgs[] = {
    {"command", Arg::command},     {"workdir", Arg::string},          {"env", Arg::env},
    {"log_environ", Arg::boolean}, {"interrupt_signal", Arg::signal},
};

constexpr ArgSpec kGitArgs[] = {
    {"repourl", Arg::string},  {"branch", Arg::string}, {"mode", Arg::string},
    {"method", Arg::string},   {"shallow", Arg::any},   {"submodules", Arg::boolean},
    {"mirror", Arg::string},   {"retry", Arg::any},     {"workdir", Arg::string},
    {"timeout", Arg::integer}, {"env", Arg::env},
};

constexpr ArgSpec kTriggerArgs[] = {
    {"scheduler_names", Arg::names},      {"wait_for_finish", Arg::boolean},
    {"always_use_latest", Arg::boolean},  {"set_properties", Arg::table},
    {"copy_properties", Arg::strings},    {"update_source_stamp", Arg::boolean},
    {"parent_relationship", Arg::string},
};

constexpr std::string_view kNeedsCommand[] = {"command"};
constexpr std::string_view kNeedsRepourl[] = {"repourl"};
constexpr std::string_view kNeedsProperty[] = {"property", "value"};
constexpr std::string_view kNeedsUpload[] = {"workersrc", "masterdest"};
constexpr std::string_view kNeedsDownload[] = {"mastersrc", "workerdest"};
constexpr std::string_view kNeedsString[] = {"s", "workerdest"};
constexpr std::string_view kNeedsSchedulerNames[] = {"scheduler_names"};

constexpr StepSchema kStepSchemas[] = {
    {"shell", "shell", kCommandArgs, kNeedsCommand},
    {"set_property_from_command", "setproperty", kCommandArgs, kNeedsCommand,
     kPropertyFromCommandArgs},
    {"set_property", "SetProperty", kSetPropertyArgs, kNeedsProperty},
    {"file_upload", "upload", kFileUploadArgs, kNeedsUpload},
    {"directory_upload", "upload", kDirectoryUploadArgs, kNeedsUpload},
    {"file_download", "download", kFileDownloadArgs, kNeedsDownload},
    {"string_download", "string_download", kStringDownloadArgs, kNeedsString},
    {"master_shell", "MasterShellCommand", kMasterShellArgs, kNeedsCommand},
    {"git", "git", kGitArgs, kNeedsRepourl},
    {"trigger", "trigger", kTriggerArgs, kNeedsSchedulerNames},
};

constexpr std::string_view kCommonKeys[] = {
    "name",
    "description",
    "description_done",
    "description_suffix",
    "halt_on_failure",
    "flunk_on_failure",
    "warn_on_failure",
    "warn_on_warnings",
    "flunk_on_warnings",
    "always_run",
    "do_step_if",
    "hide_step_if",
};

bool is_string_list(const boost::json::value& value, bool allow_empty) {
    const auto* array = value.if_array();
    if (!array || (!allow_empty && array->empty())) return false;
    return std::all_of(array->begin(), array->end(), [](const auto& e) { return e.is_string(); });
}

// Checks a constant value against its kind; returns what is wrong, or nothing.
std::optional<std::string> check_constant(Arg kind, boost::json::value& value) {
    auto empty_table_as_array = [&] {
        if (value.is_object() && value.get_object().empty()) value = boost::json::array{};
    };
    auto empty_table_as_object = [&] {
        if (value.is_array() && value.get_array().empty()) value = boost::json::object{};
    };
    switch (kind) {
    case Arg::string:
        if (!value.is_string()) return "must be a string";
        return std::nullopt;
    case Arg::command:
        empty_table_as_array();
        if (value.is_string() && !value.get_string().empty()) return std::nullopt;
        if (is_string_list(value, false)) return std::nullopt;
        return "must be a non-empty string or a non-empty list of strings";
    case Arg::env:
        empty_table_as_object();
        if (!value.is_object()) return "must be a table of NAME = value";
        for (auto& [name, entry] : value.get_object()) {
            if (entry.is_object() && entry.get_object().empty()) entry = boost::json::array{};
            if (!entry.is_string() && !is_string_list(entry, true))
                return "must map names to strings or lists of strings ('" + std::string(name) +
                       "' does not)";
        }
        return std::nullopt;
    case Arg::number:
        if (value.is_bool() && !value.get_bool()) {
            value = nullptr;  // false: no limit
            return std::nullopt;
        }
        if (!value.is_number() || value.to_number<double>() < 0)
            return "must be a number of seconds (>= 0), or false for no limit";
        return std::nullopt;
    case Arg::integer:
        if (!value.is_int64() || value.get_int64() < 0) return "must be an integer >= 0";
        return std::nullopt;
    case Arg::boolean:
        if (!value.is_bool()) return "must be a boolean";
        return std::nullopt;
    case Arg::logfiles:
        empty_table_as_object();
        if (!value.is_object()) return "must be a table of name = filename";
        for (const auto& [name, entry] : value.get_object()) {
            if (entry.is_string()) continue;
            const auto* fields = entry.if_object();
            bool ok = fields && fields->contains("filename") && fields->at("filename").is_string();
            if (ok)
                for (const auto& [field, field_value] : *fields)
                    ok =
                        ok && (field == "filename" || (field == "follow" && field_value.is_bool()));
            if (!ok)
                return "must map names to a filename or { filename = ..., follow = bool } ('" +
                       std::string(name) + "' does not)";
        }
        return std::nullopt;
    case Arg::decode_rc:
        empty_table_as_object();
        if (value.is_array()) {  // { [1] = "failure", [2] = ... } reads as a list
            boost::json::object object;
            std::size_t position = 1;
            for (auto& entry : value.get_array())
                object[std::to_string(position++)] = entry;
            value = std::move(object);
        }
        if (!value.is_object()) return "must be a table of [exit code] = result name";
        for (const auto& [code, result] : value.get_object()) {
            const bool numeric = !code.empty() && std::all_of(code.begin(), code.end(), [](char c) {
                return (c >= '0' && c <= '9') || c == '-';
            });
            if (!numeric)
                return "must have integer exit codes as keys ('" + std::string(code) + "')";
            if (!result.is_string() || !core::results_from_string(result.get_string()))
                return "must map exit codes to result names (success, warnings, failure, "
                       "skipped, exception, retry, cancelled)";
        }
        return std::nullopt;
    case Arg::signal: {
        static constexpr std::array<std::string_view, 8> kSignals = {
            "KILL", "TERM", "INT", "HUP", "QUIT", "USR1", "USR2", "ABRT"};
        if (!value.is_string() || std::find(kSignals.begin(), kSignals.end(),
                                            std::string_view(value.get_string())) == kSignals.end())
            return "must be a signal name without SIG (KILL, TERM, INT, HUP, QUIT, USR1, USR2, "
                   "ABRT)";
        return std::nullopt;
    }
    case Arg::compress:
        if (!value.is_string() || (value.get_string() != "gz" && value.get_string() != "bz2"))
            return "must be \"gz\" or \"bz2\" (or absent for none)";
        return std::nullopt;
    case Arg::master_path:
        if (!value.is_string() || value.get_string().empty()) return "must be a non-empty path";
        return std::nullopt;
    case Arg::names:
        empty_table_as_array();
        if (!is_string_list(value, false)) return "must be a non-empty list of strings";
        return std::nullopt;
    case Arg::strings:
        empty_table_as_array();
        if (!is_string_list(value, true)) return "must be a list of strings";
        return std::nullopt;
    case Arg::table:
        empty_table_as_object();
        if (!value.is_object()) return "must be a table of name = value";
        return std::nullopt;
    case Arg::any: return std::nullopt;
    }
    return std::nullopt;
}

const StepSchema* find_schema(std::string_view type) {
    for (const auto& schema : kStepSchemas)
        if (schema.type == type) return &schema;
    return nullptr;
}

}  // namespace

std::optional<StepConfig> parse_step(Reader& reader, const KilnObject& object,
                                     const MasterConfig& config) {
    const auto* schema = find_schema(object.kind);
    if (!schema) {
        std::vector<std::string_view> types;
        for (const auto& known : kStepSchemas)
            types.push_back(known.type);
        std::string message = "k." + object.kind + "{...} is not a step";
        if (auto close = suggest(object.kind, types))
            message += " (did you mean k." + std::string(*close) + "?)";
        reader.error(object.where, std::move(message));
        return std::nullopt;
    }
    if (!check_table_argument(reader, object)) return std::nullopt;
    std::vector<std::string_view> known(std::begin(kCommonKeys), std::end(kCommonKeys));
    const auto args = schema->all_args();
    for (const auto& arg : args)
        known.push_back(arg.key);
    if (schema->type == "set_property_from_command") known.push_back("extract_fn");
    const std::string context = "k." + std::string(schema->type);
    Fields fields{reader, object.args, context, object.where, known};
    const auto errors_before = reader.error_count();

    StepConfig step;
    step.type = std::string(schema->type);
    step.where = object.where;
    step.name = fields.string("name").value_or(std::string(schema->default_name));
    if (step.name.empty()) fields.invalid("name", "must not be empty");
    step.halt_on_failure = fields.boolean("halt_on_failure").value_or(false);
    step.flunk_on_failure = fields.boolean("flunk_on_failure").value_or(true);
    step.warn_on_failure = fields.boolean("warn_on_failure").value_or(false);
    step.warn_on_warnings = fields.boolean("warn_on_warnings").value_or(false);
    step.flunk_on_warnings = fields.boolean("flunk_on_warnings").value_or(false);
    step.always_run = fields.boolean("always_run").value_or(false);
    if (auto predicate = fields.predicate("do_step_if")) step.do_step_if = std::move(*predicate);
    if (auto predicate = fields.predicate("hide_step_if"))
        step.hide_step_if = std::move(*predicate);
    step.description = fields.renderable("description");
    step.description_done = fields.renderable("description_done");
    step.description_suffix = fields.renderable("description_suffix");

    for (const auto& arg : args) {
        auto value = fields.renderable(arg.key);
        if (!value) continue;
        std::string key(arg.key == "log_files" ? "logfiles" : arg.key);
        if (const auto* constant = value->constant_value()) {
            boost::json::value checked = *constant;
            if (auto problem = check_constant(arg.kind, checked)) {
                fields.invalid(arg.key, *problem);
                continue;
            }
            if (arg.kind == Arg::master_path) {
                std::string_view path = checked.get_string();
                if (!config.allow_master_paths_outside && !resolve_master_path(config, path))
                    fields.invalid(arg.key, "leaves the master directory (set "
                                            "allow_master_paths_outside = true to allow it)");
            }
            value = Renderable::constant(std::move(checked));
        }
        if (step.args.contains(key)) fields.invalid(arg.key, "is given twice (as logfiles too)");
        step.args.insert_or_assign(std::move(key), std::move(*value));
    }
    if (schema->type == "set_property_from_command") {
        if (auto extract = fields.function("extract_fn"))
            step.functions.emplace("extract_fn", *extract);
        const bool has_property = step.args.contains("property");
        const bool has_extract = step.functions.contains("extract_fn");
        if (has_property == has_extract && reader.error_count() == errors_before)
            reader.error(object.where,
                         context + ": give exactly one of 'property' and 'extract_fn'");
        if (!fields.has("command")) fields.missing("command");
    } else {
        for (auto key : schema->required)
            if (!fields.has(key)) fields.missing(key);
    }
    // Buildbot's Trigger: the latest sources are not the build's, updated or not.
    if (schema->type == "trigger" && fields.has("always_use_latest") &&
        fields.has("update_source_stamp"))
        reader.error(object.where, context + ": give at most one of 'always_use_latest' and "
                                             "'update_source_stamp'");
    if (reader.error_count() != errors_before) return std::nullopt;
    return step;
}

}  // namespace kiln::config::detail
