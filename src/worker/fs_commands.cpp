// SPDX-License-Identifier: Apache-2.0
// The file-system remote commands: mkdir, rmdir, cpdir, stat, glob, listdir, rmfile.
#include "worker/commands.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include <dirent.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

namespace kiln::worker {
namespace {

using core::ErrorKind;
using core::fail;
using protocol::Array;
using protocol::Value;

void report_errno(CommandOutput& output, std::string_view header, int error,
                  const std::string& path) {
    output.add_header(std::string(header) + ": " + std::strerror(error) + ": " + path);
    output.add_status("rc", Value{error});
}

std::vector<std::string> paths_arg(const protocol::Map& args) {
    std::vector<std::string> paths;
    const auto* value = arg(args, "paths");
    if (auto single = value ? value->as_text() : std::nullopt) {
        paths.emplace_back(*single);
    } else if (const auto* list = value ? value->if_array() : nullptr) {
        for (const auto& item : *list)
            if (auto text = item.as_text()) paths.emplace_back(*text);
    }
    return paths;
}

// A command that finishes at once with the result of `body`.
class ImmediateCommand final : public Command {
public:
    using Body = std::function<void(CommandOutput&)>;
    explicit ImmediateCommand(Body body)
        : body_(std::move(body)) {}
    asio::awaitable<void> run(CommandOutput& output) override {
        body_(output);
        co_return;
    }

private:
    Body body_;
};

CommandResult immediate(ImmediateCommand::Body body) {
    return std::unique_ptr<Command>(new ImmediateCommand(std::move(body)));
}

bool has_magic(std::string_view component) {
    return component.find_first_of("*?[") != std::string_view::npos;
}

std::vector<std::string> list_names(const std::string& directory) {
    std::vector<std::string> names;
    DIR* dir = ::opendir(directory.empty() ? "." : directory.c_str());
    if (!dir) return names;
    while (const dirent* entry = ::readdir(dir)) {
        std::string_view name = entry->d_name;
        if (name != "." && name != "..") names.emplace_back(name);
    }
    ::closedir(dir);
    return names;
}

bool is_directory(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool exists(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0;
}

std::string join(const std::string& base, const std::string& name) {
    if (base.empty()) return name;
    if (base.back() == '/') return base + name;
    return base + "/" + name;
}

// Every directory below `base` (not hidden), depth first, base included.
void walk_directories(const std::string& base, std::vector<std::string>& out) {
    out.push_back(base);
    for (const auto& name : list_names(base)) {
        if (name.starts_with('.')) continue;
        auto path = join(base, name);
        struct stat st {};
        if (::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) walk_directories(path, out);
    }
}

// Python's glob(recursive=True): '*', '?', '[...]' per component, '**' for any depth; names
// starting with '.' only match a pattern that starts with '.'.
void glob_expand(const std::string& base, const std::vector<std::string>& parts, std::size_t index,
                 std::vector<std::string>& matches) {
    if (index == parts.size()) {
        matches.push_back(base);
        return;
    }
    const auto& part = parts[index];
    bool last = index + 1 == parts.size();
    if (part == "**") {
        std::vector<std::string> directories;
        walk_directories(base.empty() ? "." : base, directories);
        for (auto& directory : directories) {
            std::string prefix = base.empty() && directory.starts_with("./") ? directory.substr(2)
                                 : base.empty() && directory == "."          ? std::string()
                                                                             : directory;
            if (last) {
                // "a/**" matches a/ itself and everything below it.
                if (!prefix.empty() && prefix != base) matches.push_back(prefix);
                for (const auto& name : list_names(directory))
                    if (!name.starts_with('.') && !is_directory(join(directory, name)))
                        matches.push_back(join(prefix, name));
            } else {
                glob_expand(prefix, parts, index + 1, matches);
            }
        }
        return;
    }
    if (!has_magic(part)) {
        auto path = join(base, part);
        if (last ? exists(path) : is_directory(path)) glob_expand(path, parts, index + 1, matches);
        return;
    }
    for (const auto& name : list_names(base)) {
        if (name.starts_with('.') && !part.starts_with('.')) continue;
        if (::fnmatch(part.c_str(), name.c_str(), 0) != 0) continue;
        auto path = join(base, name);
        if (!last && !is_directory(path)) continue;
        glob_expand(path, parts, index + 1, matches);
    }
}

std::vector<std::string> glob(const std::string& pattern) {
    std::vector<std::string> parts;
    std::string base = pattern.starts_with('/') ? "/" : "";
    std::size_t start = 0;
    while (start < pattern.size()) {
        auto end = pattern.find('/', start);
        if (end == std::string::npos) end = pattern.size();
        if (end > start) parts.push_back(pattern.substr(start, end - start));
        start = end + 1;
    }
    std::vector<std::string> matches;
    glob_expand(base, parts, 0, matches);
    std::sort(matches.begin(), matches.end());
    matches.erase(std::unique(matches.begin(), matches.end()), matches.end());
    return matches;
}

// rmdir and cpdir run `rm`/`cp` as helper processes (streamed like `shell`).
class ProcessSequenceCommand final : public Command {
public:
    ProcessSequenceCommand(WorkerEnvironment environment, protocol::Map args,
                           std::vector<std::vector<std::string>> commands, bool is_rmdir)
        : environment_(std::move(environment))
        , args_(std::move(args))
        , commands_(std::move(commands))
        , is_rmdir_(is_rmdir) {}

    void interrupt(const std::string& why) override {
        interrupted_ = true;
        if (current_) current_->interrupt(why);
    }

    asio::awaitable<void> run(CommandOutput& output) override {
        int final_rc = 0;
        for (const auto& argv : commands_) {
            if (interrupted_) break;
            int rc = co_await run_one(output, argv);
            if (rc != 0 && is_rmdir_ && !interrupted_) {
                // A tree with read-only parts: make it writable and try once more.
                const auto& path = argv.back();
                int chmod_rc = co_await run_one(output, chmod_argv(path));
                (void)chmod_rc;
                rc = co_await run_one(output, argv);
            }
            if (rc != 0) final_rc = rc;
        }
        output.add_status("rc", Value{final_rc});
    }

private:
    static std::vector<std::string> chmod_argv(const std::string& path) {
        return {"chmod", "-Rf", "u+rwx", path};
    }

    protocol::Map shell_args(std::vector<std::string> argv) const {
        protocol::Map args = {{"workdir", Value{environment_.basedir}},
                              {"logEnviron", Value{bool_arg(args_, "logEnviron", true)}}};
        Array command;
        for (auto& word : argv)
            command.emplace_back(std::move(word));
        args.emplace_back("command", Value{std::move(command)});
        auto timeout = number_arg(args_, "timeout");
        args.emplace_back("timeout", timeout ? Value{*timeout} : Value{120});
        if (auto max_time = number_arg(args_, "maxTime"))
            args.emplace_back("maxTime", Value{*max_time});
        return args;
    }

    asio::awaitable<int> run_one(CommandOutput& output, std::vector<std::string> argv) {
        auto invocation = prepare_shell_invocation(environment_, shell_args(std::move(argv)));
        if (!invocation) throw CommandFailed(invocation.error().message);
        int rc = -1;
        current_ = make_helper_process(environment_, std::move(*invocation), &rc);
        co_await current_->run(output);
        current_.reset();
        co_return rc;
    }

    WorkerEnvironment environment_;
    protocol::Map args_;
    std::vector<std::vector<std::string>> commands_;
    bool is_rmdir_;
    std::unique_ptr<Command> current_;
};

}  // namespace

CommandResult make_mkdir_command(const protocol::Map& args) {
    if (auto missing = missing_args("MakeDirectory", args, {"paths"})) return *missing;
    auto paths = paths_arg(args);
    return immediate([paths](CommandOutput& output) {
        for (const auto& path : paths) {
            if (is_directory(path)) continue;
            std::error_code ec;
            std::filesystem::create_directories(path, ec);
            if (ec) {
                report_errno(output, "mkdir", ec.value(), path);
                return;
            }
        }
        output.add_status("rc", Value{0});
    });
}

CommandResult make_rmdir_command(const WorkerEnvironment& environment, const protocol::Map& args) {
    if (auto missing = missing_args("RemoveDirectory", args, {"paths"})) return *missing;
    std::vector<std::vector<std::string>> commands;
    for (const auto& path : paths_arg(args))
        commands.push_back({"rm", "-rf", path});
    return std::unique_ptr<Command>(
        new ProcessSequenceCommand(environment, args, std::move(commands), true));
}

CommandResult make_cpdir_command(const WorkerEnvironment& environment, const protocol::Map& args) {
    if (auto missing = missing_args("CopyDirectory", args, {"from_path", "to_path"}))
        return *missing;
    auto from = text_arg(args, "from_path");
    auto to = text_arg(args, "to_path");
    if (!from || !to) return fail(ErrorKind::bad_input, "cpdir: paths must be strings");
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(*to).parent_path(), ec);
    return std::unique_ptr<Command>(new ProcessSequenceCommand(
        environment, args, {{"cp", "-R", "-P", "-p", "-v", *from, *to}}, false));
}

CommandResult make_stat_command(const protocol::Map& args) {
    if (auto missing = missing_args("StatFile", args, {"path"})) return *missing;
    auto path = text_arg(args, "path").value_or("");
    return immediate([path](CommandOutput& output) {
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0) {
            report_errno(output, "stat", errno, path);
            return;
        }
        Array fields{Value{static_cast<long long>(st.st_mode)},
                     Value{static_cast<long long>(st.st_ino)},
                     Value{static_cast<long long>(st.st_dev)},
                     Value{static_cast<long long>(st.st_nlink)},
                     Value{static_cast<long long>(st.st_uid)},
                     Value{static_cast<long long>(st.st_gid)},
                     Value{static_cast<long long>(st.st_size)},
                     Value{static_cast<long long>(st.st_atim.tv_sec)},
                     Value{static_cast<long long>(st.st_mtim.tv_sec)},
                     Value{static_cast<long long>(st.st_ctim.tv_sec)}};
        output.add_status("stat", Value{std::move(fields)});
        output.add_status("rc", Value{0});
    });
}

CommandResult make_glob_command(const protocol::Map& args) {
    if (auto missing = missing_args("GlobPath", args, {"path"})) return *missing;
    auto pattern = text_arg(args, "path").value_or("");
    return immediate([pattern](CommandOutput& output) {
        Array files;
        for (auto& match : glob(pattern))
            files.emplace_back(std::move(match));
        output.add_status("files", Value{std::move(files)});
        output.add_status("rc", Value{0});
    });
}

CommandResult make_listdir_command(const protocol::Map& args) {
    if (auto missing = missing_args("ListDir", args, {"path"})) return *missing;
    auto path = text_arg(args, "path").value_or("");
    return immediate([path](CommandOutput& output) {
        DIR* dir = ::opendir(path.c_str());
        if (!dir) {
            report_errno(output, "listdir", errno, path);
            return;
        }
        ::closedir(dir);
        Array files;
        for (auto& name : list_names(path))
            files.emplace_back(std::move(name));
        output.add_status("files", Value{std::move(files)});
        output.add_status("rc", Value{0});
    });
}

CommandResult make_rmfile_command(const protocol::Map& args) {
    if (auto missing = missing_args("RemoveFile", args, {"path"})) return *missing;
    auto path = text_arg(args, "path").value_or("");
    return immediate([path](CommandOutput& output) {
        if (::unlink(path.c_str()) != 0) {
            report_errno(output, "rmfile", errno, path);
            return;
        }
        output.add_status("rc", Value{0});
    });
}

}  // namespace kiln::worker
