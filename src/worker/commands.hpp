// SPDX-License-Identifier: Apache-2.0
// Factories of the individual remote commands (used by make_command).
#pragma once

#include "worker/command.hpp"
#include "worker/shell_format.hpp"

#include <memory>

namespace kiln::worker {

using CommandResult = core::Expected<std::unique_ptr<Command>>;

CommandResult make_shell_command(const WorkerEnvironment& environment, const protocol::Map& args);

CommandResult make_mkdir_command(const protocol::Map& args);
CommandResult make_rmdir_command(const WorkerEnvironment& environment, const protocol::Map& args);
CommandResult make_cpdir_command(const WorkerEnvironment& environment, const protocol::Map& args);
CommandResult make_stat_command(const protocol::Map& args);
CommandResult make_glob_command(const protocol::Map& args);
CommandResult make_listdir_command(const protocol::Map& args);
CommandResult make_rmfile_command(const protocol::Map& args);

CommandResult make_upload_file_command(const WorkerEnvironment& environment, MasterLink& link,
                                       const std::string& command_id, const protocol::Map& args);
CommandResult make_upload_directory_command(const WorkerEnvironment& environment, MasterLink& link,
                                            const std::string& command_id,
                                            const protocol::Map& args);
CommandResult make_download_file_command(MasterLink& link, const std::string& command_id,
                                         const protocol::Map& args);

struct ShellInvocation;
// A process run for a composite command (rmdir's rm, cpdir's cp): output streamed like
// `shell`, but its rc stored in *rc_out instead of sent.
std::unique_ptr<Command> make_helper_process(const WorkerEnvironment& environment,
                                             ShellInvocation invocation, int* rc_out);

// "Name is missing args: a, b" when any of `keys` is absent from args.
std::optional<core::Error> missing_args(std::string_view class_name, const protocol::Map& args,
                                        std::initializer_list<std::string_view> keys);

}  // namespace kiln::worker
