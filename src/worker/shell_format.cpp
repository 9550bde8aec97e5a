// SPDX-License-Identifier: Apache-2.0
#include "worker/shell_format.hpp"

#include "worker/commands.hpp"

#include <cstdio>
#include <cstdlib>
#include <filesystem>

namespace kiln::worker {
namespace {

using core::ErrorKind;
using core::fail;
using protocol::Value;

bool is_name_char(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

std::string expand_variables(std::string_view text,
                             const std::map<std::string, std::string>& worker_environment) {
    std::string out;
    std::size_t i = 0;
    while (i < text.size()) {
        if (text[i] == '$' && i + 1 < text.size() && text[i + 1] == '{') {
            std::size_t j = i + 2;
            while (j < text.size() && is_name_char(text[j]))
                ++j;
            if (j < text.size() && text[j] == '}') {
                auto it = worker_environment.find(std::string(text.substr(i + 2, j - i - 2)));
                if (it != worker_environment.end()) out += it->second;
                i = j + 1;
                continue;
            }
        }
        out += text[i++];
    }
    return out;
}

std::string python_dict_repr(const std::map<std::string, std::pair<std::string, bool>>& logfiles,
                             const protocol::Value* raw) {
    if (logfiles.empty()) return "{}";
    std::string out = "{";
    bool first = true;
    const auto* map = raw ? raw->if_map() : nullptr;
    for (const auto& [name, spec] : logfiles) {
        if (!first) out += ", ";
        first = false;
        out += "'" + name + "': ";
        const auto* original = map ? protocol::find(*map, name) : nullptr;
        if (original && original->is_map())
            out += "{'filename': '" + spec.first +
                   "', 'follow': " + (spec.second ? "True" : "False") + "}";
        else
            out += "'" + spec.first + "'";
    }
    return out + "}";
}

}  // namespace

std::string format_number(double value) {
    char buffer[64];
    if (value == static_cast<double>(static_cast<long long>(value)))
        std::snprintf(buffer, sizeof buffer, "%lld", static_cast<long long>(value));
    else
        std::snprintf(buffer, sizeof buffer, "%.17g", value);
    std::string text = buffer;
    if (text.find('.') != std::string::npos && text.find('e') == std::string::npos) {
        // Shortest form that reads back the same, like Python's repr.
        for (int precision = 1; precision <= 17; ++precision) {
            std::snprintf(buffer, sizeof buffer, "%.*g", precision, value);
            if (std::strtod(buffer, nullptr) == value) return buffer;
        }
    }
    return text;
}

std::string format_elapsed(double seconds) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "elapsedTime=%0.6f\n", seconds);
    return buffer;
}

std::string shell_quote(std::string_view word) {
    if (word.empty()) return "''";
    bool safe = true;
    for (char c : word)
        if (!(is_name_char(c) || c == '@' || c == '%' || c == '+' || c == '=' || c == ':' ||
              c == ',' || c == '.' || c == '/' || c == '-' ||
              static_cast<unsigned char>(c) >= 0x80))
            safe = false;
    if (safe) return std::string(word);
    std::string out = "'";
    for (char c : word) {
        if (c == '\'')
            out += "'\"'\"'";
        else
            out += c;
    }
    return out + "'";
}

std::string python_bytes_repr(std::string_view bytes) {
    bool has_single = bytes.find('\'') != std::string_view::npos;
    bool has_double = bytes.find('"') != std::string_view::npos;
    char quote = has_single && !has_double ? '"' : '\'';
    std::string out = "b";
    out += quote;
    for (char ch : bytes) {
        auto c = static_cast<unsigned char>(ch);
        if (ch == quote || ch == '\\') {
            out += '\\';
            out += ch;
        } else if (ch == '\t') {
            out += "\\t";
        } else if (ch == '\n') {
            out += "\\n";
        } else if (ch == '\r') {
            out += "\\r";
        } else if (c < 0x20 || c >= 0x7f) {
            char buffer[8];
            std::snprintf(buffer, sizeof buffer, "\\x%02x", c);
            out += buffer;
        } else {
            out += ch;
        }
    }
    out += quote;
    return out;
}

core::Expected<std::map<std::string, std::string>>
merge_environment(const std::map<std::string, std::string>& worker_environment,
                  const protocol::Value* overrides, const std::string& workdir) {
    auto environment = worker_environment;
    const auto* map = overrides ? overrides->if_map() : nullptr;
    if (map && !map->empty()) {
        std::map<std::string, std::optional<std::string>> values;
        for (const auto& [key, value] : *map) {
            if (value.is_nil()) {
                values[key] = std::nullopt;
            } else if (const auto* list = value.if_array()) {
                std::string joined;
                for (std::size_t i = 0; i < list->size(); ++i) {
                    auto part = (*list)[i].as_text();
                    if (!part)
                        return fail(ErrorKind::bad_input,
                                    "'env' values must be strings or lists; key '" + key +
                                        "' is incorrect");
                    if (i) joined += ':';
                    joined += *part;
                }
                values[key] = joined;
            } else if (auto text = value.as_text()) {
                values[key] = std::string(*text);
            } else {
                return fail(ErrorKind::bad_input, "'env' values must be strings or lists; key '" +
                                                      key + "' is incorrect");
            }
        }
        if (auto it = values.find("PYTHONPATH"); it != values.end() && it->second)
            *it->second += ":${PYTHONPATH}";
        for (const auto& [key, value] : values) {
            if (!value)
                environment.erase(key);
            else
                environment[key] = expand_variables(*value, worker_environment);
        }
    }
    environment["PWD"] = std::filesystem::absolute(workdir).lexically_normal().string();
    return environment;
}

core::Expected<ShellInvocation> prepare_shell_invocation(const WorkerEnvironment& environment,
                                                         const protocol::Map& args) {
    if (auto missing = missing_args("WorkerShellCommand", args, {"command", "workdir"}))
        return *missing;
    ShellInvocation inv;
    auto workdir = text_arg(args, "workdir");
    if (!workdir) return fail(ErrorKind::bad_input, "'workdir' must be a string");
    inv.workdir = std::filesystem::path(*workdir).is_absolute()
                      ? *workdir
                      : (std::filesystem::path(environment.basedir) / *workdir).string();

    std::string display;
    const auto* command = arg(args, "command");
    if (auto text = command->as_text()) {
        inv.spawn.argv = {"/bin/sh", "-c", std::string(*text)};
        display = std::string(*text);
        inv.fake_command = python_bytes_repr(*text);
    } else if (const auto* list = command->if_array()) {
        std::vector<std::string> fake;
        for (const auto& item : *list) {
            if (auto word = item.as_text()) {
                inv.spawn.argv.emplace_back(*word);
                fake.emplace_back(*word);
            } else if (const auto* triple = item.if_array();
                       triple && triple->size() == 3 && (*triple)[0].as_text() == "obfuscated" &&
                       (*triple)[1].as_text() && (*triple)[2].as_text()) {
                // ["obfuscated", real, shown]: run the real word, show the other.
                inv.spawn.argv.emplace_back(*(*triple)[1].as_text());
                fake.emplace_back(*(*triple)[2].as_text());
            } else if (item.is_number()) {
                inv.spawn.argv.push_back(format_number(*item.as_number()));
                fake.push_back(inv.spawn.argv.back());
            } else {
                return fail(ErrorKind::bad_input, "'command' list items must be strings");
            }
        }
        if (inv.spawn.argv.empty()) return fail(ErrorKind::bad_input, "'command' is empty");
        for (std::size_t i = 0; i < fake.size(); ++i) {
            if (i) display += ' ';
            display += shell_quote(fake[i]);
        }
        inv.fake_command = "[";
        for (std::size_t i = 0; i < fake.size(); ++i) {
            if (i) inv.fake_command += ", ";
            inv.fake_command += python_bytes_repr(fake[i]);
        }
        inv.fake_command += "]";
    } else {
        return fail(ErrorKind::bad_input, "'command' must be a string or a list of strings");
    }

    auto merged = merge_environment(environment.environ, arg(args, "env"), inv.workdir);
    if (!merged) return merged.error();
    for (const auto& [key, value] : *merged)
        inv.spawn.environment.push_back(key + "=" + value);
    inv.spawn.workdir = inv.workdir;

    inv.want_stdout = bool_arg(args, "want_stdout", true);
    inv.want_stderr = bool_arg(args, "want_stderr", true);
    inv.timeout = number_arg(args, "timeout");
    if (inv.timeout && *inv.timeout <= 0) inv.timeout.reset();
    inv.max_time = number_arg(args, "maxTime");
    if (inv.max_time && *inv.max_time <= 0) inv.max_time.reset();
    inv.sigterm_time = number_arg(args, "sigtermTime");
    if (auto name = text_arg(args, "interruptSignal")) {
        auto signal = io::signal_from_name(*name);
        if (!signal) return fail(ErrorKind::bad_input, "unknown interruptSignal '" + *name + "'");
        inv.interrupt_signal = *signal;
        inv.interrupt_signal_name = name->starts_with("SIG") ? name->substr(3) : *name;
    }
    if (const auto* stdin_value = arg(args, "initial_stdin");
        stdin_value && !stdin_value->is_nil()) {
        auto text = stdin_value->as_text();
        if (!text) return fail(ErrorKind::bad_input, "'initial_stdin' must be a string");
        inv.initial_stdin = std::string(*text);
        inv.spawn.has_stdin = true;
    }
    const auto* logfiles = arg(args, "logfiles");
    if (logfiles && logfiles->is_map()) {
        for (const auto& [name, spec] : *logfiles->if_map()) {
            if (auto file = spec.as_text()) {
                inv.logfiles[name] = {std::string(*file), false};
            } else if (const auto* filename = spec.find("filename");
                       filename && filename->as_text()) {
                bool follow = false;
                if (const auto* f = spec.find("follow"); f && f->if_bool()) follow = *f->if_bool();
                inv.logfiles[name] = {std::string(*filename->as_text()), follow};
            } else {
                return fail(ErrorKind::bad_input, "logfile '" + name + "' needs a filename");
            }
        }
    }

    bool use_pty = bool_arg(args, "usePTY", false);
    if (use_pty && inv.initial_stdin) {
        inv.header_lines.push_back("WARNING: disabling usePTY for this command\n");
        use_pty = false;
    }
    inv.spawn.use_pty = use_pty;

    inv.header_lines.push_back(display + "\n");
    std::string in_dir = " in dir " + inv.workdir;
    if (inv.timeout)
        in_dir +=
            " (timeout " + format_number(*inv.timeout) + (*inv.timeout == 1 ? " sec)" : " secs)");
    if (inv.max_time)
        in_dir +=
            " (maxTime " + format_number(*inv.max_time) + (*inv.max_time == 1 ? " sec)" : " secs)");
    inv.header_lines.push_back(in_dir + "\n");
    inv.header_lines.push_back(" watching logfiles " + python_dict_repr(inv.logfiles, logfiles) +
                               "\n");
    inv.header_lines.push_back(" argv: " + inv.fake_command + "\n");
    if (bool_arg(args, "logEnviron", true)) {
        std::string listing = " environment:\n";
        for (const auto& [key, value] : *merged)
            listing += "  " + key + "=" + value + "\n";
        inv.header_lines.push_back(listing);
    }
    if (inv.initial_stdin)
        inv.header_lines.push_back(" writing " + std::to_string(inv.initial_stdin->size()) +
                                   " bytes to stdin\n");
    inv.header_lines.push_back(std::string(" using PTY: ") + (use_pty ? "True" : "False") + "\n");
    return inv;
}

}  // namespace kiln::worker
