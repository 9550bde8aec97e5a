// SPDX-License-Identifier: Apache-2.0
// File transfers: upload_file and upload_directory (worker -> master, stop-and-wait chunks)
// and download_file (master -> worker, pulled chunk by chunk).
#include "io/subprocess.hpp"
#include "worker/commands.hpp"

#include <cerrno>
#include <cstdio>
#include <filesystem>

#include <boost/asio/this_coro.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace kiln::worker {
namespace {

using core::ErrorKind;
using core::fail;
using protocol::Binary;
using protocol::Value;

// Request fields, built outside coroutines: GCC 12 miscompiles braced initializer lists
// inside co_await expressions ("array used as initializer").
protocol::Map id_fields(const std::string& command_id) {
    return {{"command_id", Value{command_id}}};
}
protocol::Map data_fields(const std::string& command_id, std::string data) {
    return {{"args", Value{Binary{std::move(data)}}}, {"command_id", Value{command_id}}};
}
protocol::Map utime_fields(const std::string& command_id, double access, double modified) {
    return {{"access_time", Value{access}},
            {"modified_time", Value{modified}},
            {"command_id", Value{command_id}}};
}
protocol::Map read_fields(const std::string& command_id, std::int64_t length) {
    return {{"length", Value{length}}, {"command_id", Value{command_id}}};
}

struct File {
    FILE* handle = nullptr;
    File() = default;
    File(const File&) = delete;
    File& operator=(const File&) = delete;
    ~File() {
        if (handle) std::fclose(handle);
    }
};

void check(const protocol::Response& response, std::string_view what) {
    if (!response.is_exception) return;
    auto text = response.result.as_text();
    throw CommandFailed(text ? std::string(*text)
                             : std::string(what) + " failed: " + response.result.debug_string());
}

std::optional<std::int64_t> optional_size(const protocol::Map& args, std::string_view key) {
    auto number = number_arg(args, key);
    if (!number) return std::nullopt;
    return static_cast<std::int64_t>(*number);
}

// Sends a file's bytes in blocks, waiting for each block's response (stop-and-wait).
// Returns false when maxsize cut the file short.
asio::awaitable<bool> send_blocks(Command& command, MasterLink& link, const std::string& command_id,
                                  FILE* file, std::size_t blocksize,
                                  std::optional<std::int64_t> maxsize, const std::string& op) {
    std::string block(blocksize, '\0');
    std::int64_t sent = 0;
    for (;;) {
        if (command.is_interrupted()) co_return true;
        std::size_t want = blocksize;
        if (maxsize) {
            if (sent >= *maxsize) {
                // Only a truncation if anything is left to read.
                int c = std::fgetc(file);
                co_return c == EOF;
            }
            want = static_cast<std::size_t>(
                std::min<std::int64_t>(static_cast<std::int64_t>(blocksize), *maxsize - sent));
        }
        auto n = std::fread(block.data(), 1, want, file);
        if (n == 0) co_return true;
        check(co_await link.call(op, data_fields(command_id, block.substr(0, n))), op);
        sent += static_cast<std::int64_t>(n);
    }
}

// What the three transfers share: where the data goes, in which blocks, and how they end.
class TransferCommand : public Command {
protected:
    TransferCommand(MasterLink& link, std::string command_id, std::string path,
                    std::size_t blocksize, std::optional<std::int64_t> maxsize)
        : link_(link)
        , command_id_(std::move(command_id))
        , path_(std::move(path))
        , blocksize_(blocksize)
        , maxsize_(maxsize) {}

    // rc 1 with `error` on stderr, or rc 0 (1 when interrupted) when there is no error.
    void finish(CommandOutput& output, const std::string& error) const {
        if (!error.empty()) output.add_stderr(error);
        output.add_status("rc", Value{!error.empty() || is_interrupted() ? 1 : 0});
    }
    std::string truncated_message() const {
        return "Maximum filesize reached, truncating file '" + path_ + "'";
    }

    MasterLink& link_;
    std::string command_id_;
    std::string path_;
    std::size_t blocksize_;
    std::optional<std::int64_t> maxsize_;
};

class UploadFileCommand final : public TransferCommand {
public:
    UploadFileCommand(MasterLink& link, std::string command_id, std::string path,
                      std::size_t blocksize, std::optional<std::int64_t> maxsize, bool keepstamp)
        : TransferCommand(link, std::move(command_id), std::move(path), blocksize, maxsize)
        , keepstamp_(keepstamp) {}

    asio::awaitable<void> run(CommandOutput& output) override {
        File file;
        file.handle = std::fopen(path_.c_str(), "rb");
        bool complete = true;
        if (file.handle)
            complete = co_await send_blocks(*this, link_, command_id_, file.handle, blocksize_,
                                            maxsize_, "update_upload_file_write");
        check(co_await link_.call("update_upload_file_close", id_fields(command_id_)),
              "update_upload_file_close");
        std::optional<std::string> utime_failure;
        if (file.handle && keepstamp_) {
            struct stat st {};
            if (::stat(path_.c_str(), &st) == 0) {
                auto seconds = [](const timespec& t) {
                    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
                };
                auto fields = utime_fields(command_id_, seconds(st.st_atim), seconds(st.st_mtim));
                auto response = co_await link_.call("update_upload_file_utime", std::move(fields));
                // A refused utime (every Buildbot 3.7 master refuses it) fails the command
                // after its status is reported, as the stock worker does.
                if (response.is_exception) {
                    auto text = response.result.as_text();
                    utime_failure = text ? std::string(*text) : response.result.debug_string();
                }
            }
        }
        output.add_header("sending " + path_ + "\n");
        finish(output, !file.handle ? "Cannot open file '" + path_ + "' for upload"
                       : !complete  ? truncated_message()
                                    : std::string());
        if (utime_failure) throw CommandFailed(*utime_failure);
    }

private:
    bool keepstamp_;
};

class UploadDirectoryCommand final : public TransferCommand {
public:
    UploadDirectoryCommand(WorkerEnvironment environment, MasterLink& link, std::string command_id,
                           std::string path, std::size_t blocksize,
                           std::optional<std::int64_t> maxsize, std::string compress)
        : TransferCommand(link, std::move(command_id), std::move(path), blocksize, maxsize)
        , environment_(std::move(environment))
        , compress_(std::move(compress)) {}

    asio::awaitable<void> run(CommandOutput& output) override {
        // The archive goes to a temporary file first, as the stock worker does.
        char name[] = "/tmp/kiln-upload-XXXXXX";
        int fd = ::mkstemp(name);
        if (fd < 0)
            throw CommandFailed(std::string("cannot create a temporary file: ") +
                                std::strerror(errno));
        ::close(fd);
        std::string archive = name;
        struct Remove {
            std::string path;
            ~Remove() { ::unlink(path.c_str()); }
        } remove{archive};

        io::SpawnOptions tar;
        tar.argv = {"tar", "-c", "-f", archive, "-C", path_, "."};
        if (compress_ == "gz") tar.argv.insert(tar.argv.begin() + 1, "-z");
        if (compress_ == "bz2") tar.argv.insert(tar.argv.begin() + 1, "-j");
        for (const auto& [key, value] : environment_.environ)
            tar.environment.push_back(key + "=" + value);
        tar.workdir = environment_.basedir;
        int tar_rc = 1;
        std::string tar_errors;
        try {
            auto process = io::Subprocess::spawn(co_await asio::this_coro::executor, tar);
            while (auto chunk = co_await process->read_stderr())
                tar_errors += *chunk;
            while (co_await process->read_stdout()) {
            }
            auto status = co_await process->wait();
            tar_rc = status.signal ? -1 : status.exit_code;
        } catch (const std::system_error& error) {
            tar_errors = error.what();
        }
        if (tar_rc != 0) {
            finish(output, tar_errors.empty() ? "cannot archive '" + path_ + "'\n" : tar_errors);
            co_return;
        }
        File file;
        file.handle = std::fopen(archive.c_str(), "rb");
        bool complete =
            file.handle && co_await send_blocks(*this, link_, command_id_, file.handle, blocksize_,
                                                maxsize_, "update_upload_directory_write");
        auto unpacked =
            co_await link_.call("update_upload_directory_unpack", id_fields(command_id_));
        output.add_header("sending " + path_ + "\n");
        std::string error;
        if (unpacked.is_exception) {
            auto text = unpacked.result.as_text();
            error = "unpack failed: " + std::string(text ? *text : "") + "\n";
        } else if (!complete) {
            error = truncated_message();
        }
        finish(output, error);
    }

private:
    WorkerEnvironment environment_;
    std::string compress_;
};

class DownloadFileCommand final : public TransferCommand {
public:
    DownloadFileCommand(MasterLink& link, std::string command_id, std::string path,
                        std::size_t blocksize, std::optional<std::int64_t> maxsize,
                        std::optional<int> mode)
        : TransferCommand(link, std::move(command_id), std::move(path), blocksize, maxsize)
        , mode_(mode) {}

    asio::awaitable<void> run(CommandOutput& output) override {
        std::error_code ec;
        auto parent = std::filesystem::path(path_).parent_path();
        if (!parent.empty()) std::filesystem::create_directories(parent, ec);
        File file;
        file.handle = std::fopen(path_.c_str(), "wb");
        if (file.handle && mode_) ::fchmod(::fileno(file.handle), static_cast<mode_t>(*mode_));
        bool truncated = false;
        std::int64_t received = 0;
        while (file.handle && !is_interrupted()) {
            auto length = static_cast<std::int64_t>(blocksize_);
            if (maxsize_) {
                if (received >= *maxsize_) {
                    truncated = true;
                    break;
                }
                length = std::min(length, *maxsize_ - received);
            }
            auto response =
                co_await link_.call("update_read_file", read_fields(command_id_, length));
            check(response, "update_read_file");
            auto data = response.result.as_text();  // bin (str tolerated); nil or empty = EOF
            if (!data || data->empty()) break;
            if (std::fwrite(data->data(), 1, data->size(), file.handle) != data->size())
                throw CommandFailed("cannot write '" + path_ + "': " + std::strerror(errno));
            received += static_cast<std::int64_t>(data->size());
        }
        check(co_await link_.call("update_read_file_close", id_fields(command_id_)),
              "update_read_file_close");
        finish(output, !file.handle ? "Cannot open file '" + path_ + "' for download"
                       : truncated  ? truncated_message()
                                    : std::string());
    }

private:
    std::optional<int> mode_;
};

std::optional<core::Error> check_blocksize(const protocol::Map& args, std::size_t& blocksize) {
    auto value = number_arg(args, "blocksize");
    if (!value || *value < 1 || *value > 64 * 1024 * 1024)
        return fail(ErrorKind::bad_input, "'blocksize' must be between 1 and 64 MiB");
    blocksize = static_cast<std::size_t>(*value);
    return std::nullopt;
}

}  // namespace

CommandResult make_upload_file_command(const WorkerEnvironment&, MasterLink& link,
                                       const std::string& command_id, const protocol::Map& args) {
    if (auto missing = missing_args("WorkerFileUploadCommand", args, {"path", "blocksize"}))
        return *missing;
    std::size_t blocksize = 0;
    if (auto error = check_blocksize(args, blocksize)) return *error;
    auto path = text_arg(args, "path");
    if (!path) return fail(ErrorKind::bad_input, "'path' must be a string");
    return std::unique_ptr<Command>(new UploadFileCommand(link, command_id, *path, blocksize,
                                                          optional_size(args, "maxsize"),
                                                          bool_arg(args, "keepstamp", false)));
}

CommandResult make_upload_directory_command(const WorkerEnvironment& environment, MasterLink& link,
                                            const std::string& command_id,
                                            const protocol::Map& args) {
    if (auto missing =
            missing_args("WorkerDirectoryUploadCommand", args, {"path", "blocksize", "compress"}))
        return *missing;
    std::size_t blocksize = 0;
    if (auto error = check_blocksize(args, blocksize)) return *error;
    auto path = text_arg(args, "path");
    if (!path) return fail(ErrorKind::bad_input, "'path' must be a string");
    auto compress = text_arg(args, "compress").value_or("");
    if (!compress.empty() && compress != "gz" && compress != "bz2")
        return fail(ErrorKind::bad_input, "'compress' must be nil, \"gz\" or \"bz2\"");
    return std::unique_ptr<Command>(new UploadDirectoryCommand(
        environment, link, command_id, *path, blocksize, optional_size(args, "maxsize"), compress));
}

CommandResult make_download_file_command(MasterLink& link, const std::string& command_id,
                                         const protocol::Map& args) {
    if (auto missing = missing_args("WorkerFileDownloadCommand", args, {"path", "blocksize"}))
        return *missing;
    std::size_t blocksize = 0;
    if (auto error = check_blocksize(args, blocksize)) return *error;
    auto path = text_arg(args, "path");
    if (!path) return fail(ErrorKind::bad_input, "'path' must be a string");
    std::optional<int> mode;
    if (auto m = number_arg(args, "mode")) mode = static_cast<int>(*m);
    return std::unique_ptr<Command>(new DownloadFileCommand(link, command_id, *path, blocksize,
                                                            optional_size(args, "maxsize"), mode));
}

}  // namespace kiln::worker
