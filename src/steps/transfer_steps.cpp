// SPDX-License-Identifier: Apache-2.0
#include "steps/transfer_steps.hpp"

#include "io/subprocess.hpp"
#include "process/local_files.hpp"
#include "process/log_writer.hpp"
#include "process/worker_connection.hpp"

#include <cstdlib>
#include <fstream>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>

namespace kiln::steps {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using core::Results;

namespace {

// A download source holding a string (k.string_download).
class StringReader final : public process::FileReader {
public:
    explicit StringReader(std::string text)
        : text_(std::move(text)) {}
    asio::awaitable<std::string> read(std::size_t max_bytes) override {
        auto piece = text_.substr(offset_, max_bytes);
        offset_ += piece.size();
        co_return piece;
    }
    asio::awaitable<void> close() override { co_return; }

private:
    std::string text_;
    std::size_t offset_ = 0;
};

std::string required(const StepArgs& args, std::string_view step, std::string_view name) {
    auto value = args.string(name);
    if (!value || value->empty())
        throw std::runtime_error(std::string(step) + ": '" + std::string(name) + "' is required");
    return *value;
}

process::StepOutcome outcome_of(const process::CommandResult& result, std::string summary) {
    process::StepOutcome outcome;
    outcome.summary = std::move(summary);
    if (!result.was_started || result.failure)
        outcome.results = Results::failure;
    else if (result.was_interrupted)
        outcome.results = Results::cancelled;
    else
        outcome.results = result.rc.value_or(-1) == 0 ? Results::success : Results::failure;
    return outcome;
}

// Copies one output stream of a master-side process into the stdio log.
asio::awaitable<void> pump_output(io::Subprocess& child, process::LogWriter& stdio,
                                  bool is_stdout) {
    for (;;) {
        std::optional<std::string> chunk;
        if (is_stdout)
            chunk = co_await child.read_stdout();
        else
            chunk = co_await child.read_stderr();
        if (!chunk) break;
        stdio.add(is_stdout ? 'o' : 'e', *chunk);
        co_await stdio.flush();
    }
}

}  // namespace

fs::path confine_master_path(const fs::path& master_dir, const std::string& path,
                             bool allow_outside) {
    if (path.empty()) throw std::runtime_error("empty master path");
    const auto base = fs::weakly_canonical(master_dir);
    auto resolved = fs::weakly_canonical(base / path);
    if (allow_outside) return resolved;
    auto [end, unused] = std::mismatch(base.begin(), base.end(), resolved.begin(), resolved.end());
    if (end != base.end())
        throw std::runtime_error("master path '" + path +
                                 "' is outside the master directory (set "
                                 "allow_master_paths_outside = true to allow it)");
    return resolved;
}

TransferStep::TransferStep(process::StepOptions options, Kind kind, StepArgs::Map args)
    : BuildStep(std::move(options))
    , kind_(kind)
    , args_(std::move(args)) {}

std::string TransferStep::description(const core::Properties&) const {
    switch (kind_) {
    case Kind::file_upload: return "uploading";
    case Kind::directory_upload: return "uploading";
    case Kind::file_download: return "downloading";
    case Kind::string_download: return "downloading";
    }
    return "transferring";
}

asio::awaitable<process::StepOutcome> TransferStep::run(process::StepContext& context) {
    StepArgs args(options().name, args_, context.properties());
    const auto builddir = context.worker_builddir();
    const auto workdir_arg = args.string_or("workdir", "build");
    const auto workdir = context.worker_path(builddir, workdir_arg);
    process::RemoteCommand command;
    process::CommandResult result;
    std::string summary;

    if (kind_ == Kind::file_upload || kind_ == Kind::directory_upload) {
        const auto workersrc = required(args, options().name, "workersrc");
        const auto masterdest =
            confine_master_path(context.master_dir(), required(args, options().name, "masterdest"),
                                context.allow_master_paths_outside());
        fs::create_directories(masterdest.parent_path());
        protocol::Map remote;
        remote.emplace_back("path", context.worker_path(workdir, workersrc));
        remote.emplace_back("maxsize", args.protocol_integer("maxsize", std::nullopt));
        remote.emplace_back("blocksize", args.protocol_integer("blocksize", 256 * 1024));
        remote.emplace_back("workdir", workdir_arg);
        remote.emplace_back("workersrc", workersrc);
        const auto max_bytes = args.integer("maxsize");
        std::optional<std::uint64_t> limit;
        if (max_bytes && *max_bytes >= 0) limit = static_cast<std::uint64_t>(*max_bytes);
        if (kind_ == Kind::file_upload) {
            remote.emplace_back("keepstamp", args.boolean_or("keepstamp", false));
            process::LocalFileWriter writer(masterdest, limit);
            command.name = "upload_file";
            command.args = std::move(remote);
            command.file_writer = &writer;
            result = co_await context.run_command(std::move(command));
            summary = "uploading " + fs::path(workersrc).filename().string();
            if (result.is_success() && !writer.is_closed())
                throw std::runtime_error("upload ended before the file was closed");
            if (result.is_success()) {
                if (auto mode = args.integer("mode"))
                    fs::permissions(masterdest, static_cast<fs::perms>(*mode & 07777));
            }
        } else {
            protocol::Value compress;
            if (auto kind = args.string("compress")) compress = protocol::Value(*kind);
            auto compression = process::LocalDirectoryWriter::compression_from(compress);
            if (!compression) throw std::runtime_error("compress must be nil, \"gz\" or \"bz2\"");
            remote.emplace_back("compress", compress);
            process::LocalDirectoryWriter writer(masterdest, *compression, limit);
            command.name = "upload_directory";
            command.args = std::move(remote);
            command.directory_writer = &writer;
            result = co_await context.run_command(std::move(command));
            summary = "uploading " + fs::path(workersrc).filename().string();
        }
    } else {
        const auto workerdest = required(args, options().name, "workerdest");
        protocol::Map remote;
        remote.emplace_back("path", context.worker_path(workdir, workerdest));
        remote.emplace_back("maxsize", args.protocol_integer("maxsize", std::nullopt));
        remote.emplace_back("blocksize", args.protocol_integer("blocksize", 16 * 1024));
        remote.emplace_back("mode", args.protocol_integer("mode", std::nullopt));
        remote.emplace_back("workdir", workdir_arg);
        remote.emplace_back("workerdest", workerdest);
        command.name = "download_file";
        command.args = std::move(remote);
        summary = "downloading to " + fs::path(workerdest).filename().string();
        if (kind_ == Kind::file_download) {
            const auto source = confine_master_path(context.master_dir(),
                                                    required(args, options().name, "mastersrc"),
                                                    context.allow_master_paths_outside());
            process::LocalFileReader reader(source);
            command.file_reader = &reader;
            result = co_await context.run_command(std::move(command));
        } else {
            StringReader reader(args.string_or("s", ""));
            command.file_reader = &reader;
            result = co_await context.run_command(std::move(command));
        }
    }
    co_return outcome_of(result, summary);
}

SetPropertyStep::SetPropertyStep(process::StepOptions options, StepArgs::Map args)
    : BuildStep(std::move(options))
    , args_(std::move(args)) {}

std::string SetPropertyStep::description(const core::Properties&) const { return "Setting"; }

asio::awaitable<process::StepOutcome> SetPropertyStep::run(process::StepContext& context) {
    StepArgs args(options().name, args_, context.properties());
    const auto name = required(args, options().name, "property");
    const auto* value = args.find("value");
    boost::json::value json_value = value ? *value : boost::json::value(nullptr);
    co_await context.set_property(name, std::move(json_value), options().name);
    process::StepOutcome outcome;
    outcome.summary = "Set";
    co_return outcome;
}

MasterShellStep::MasterShellStep(process::StepOptions options, StepArgs::Map args)
    : BuildStep(std::move(options))
    , args_(std::move(args)) {}

std::string MasterShellStep::description(const core::Properties& properties) const {
    return command_description(options().name, args_, properties);
}

asio::awaitable<process::StepOutcome> MasterShellStep::run(process::StepContext& context) {
    using namespace asio::experimental::awaitable_operators;
    StepArgs args(options().name, args_, context.properties());
    const auto* command = args.find("command");
    if (!command || command->is_null()) throw std::runtime_error("master_shell needs a command");
    io::SpawnOptions spawn;
    if (command->is_string()) {
        spawn.argv = {"/bin/sh", "-c", std::string(command->get_string())};
    } else if (const auto* list = command->if_array()) {
        for (const auto& element : *list) {
            if (!element.is_string())
                throw std::runtime_error("master_shell command list must hold strings");
            spawn.argv.emplace_back(element.get_string());
        }
    }
    if (spawn.argv.empty()) throw std::runtime_error("master_shell command is empty");
    spawn.workdir = confine_master_path(context.master_dir(), args.string_or("workdir", "."),
                                        context.allow_master_paths_outside())
                        .string();
    for (char** entry = environ; entry && *entry; ++entry)
        spawn.environment.emplace_back(*entry);
    if (const auto* env = args.find("env"); env && env->is_object())
        for (const auto& member : env->as_object())
            if (member.value().is_string())
                spawn.environment.push_back(std::string(member.key()) + "=" +
                                            std::string(member.value().get_string()));

    auto log = co_await context.add_log("stdio", "s");
    process::LogWriter stdio(context, log.logid, true);
    std::string header;
    for (const auto& word : spawn.argv)
        header += (header.empty() ? "" : " ") + word;
    stdio.add('h', header + "\n in dir " + spawn.workdir + "\n");
    auto child = io::Subprocess::spawn(co_await asio::this_coro::executor, spawn);
    co_await (pump_output(*child, stdio, true) && pump_output(*child, stdio, false));
    auto status = co_await child->wait();
    const int rc = status.signal ? -1 : status.exit_code;
    stdio.add('h', "program finished with exit code " + std::to_string(rc) + "\n");
    co_await stdio.finish();
    process::StepOutcome outcome;
    outcome.summary = args.text("description_done").value_or(command_summary(*command));
    outcome.results = rc == 0 ? Results::success : Results::failure;
    co_return outcome;
}

}  // namespace kiln::steps
