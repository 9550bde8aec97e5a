// SPDX-License-Identifier: Apache-2.0
// File-transfer ends on the master's disk: LocalFileWriter (upload_file), LocalFileReader
// (download_file) and LocalDirectoryWriter (upload_directory, unpacked with the system tar).
// The caller decides which master paths are allowed; these classes only keep an unpacked
// directory from escaping its destination.
#pragma once

#include "process/remote_command.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace kiln::process {

// Writes into a temporary file beside `destination` and renames it over the destination at
// close(), so a failed upload never leaves a partial file (the temporary file is removed when
// the writer is destroyed unclosed). Data past `max_bytes` is dropped, as the stock master
// truncates at maxsize. File I/O is done in place (small blocking writes).
class LocalFileWriter final : public FileWriter {
public:
    // Throws std::system_error when the temporary file cannot be created.
    explicit LocalFileWriter(std::filesystem::path destination,
                             std::optional<std::uint64_t> max_bytes = std::nullopt);
    ~LocalFileWriter() override;
    LocalFileWriter(const LocalFileWriter&) = delete;
    LocalFileWriter& operator=(const LocalFileWriter&) = delete;

    asio::awaitable<void> write(std::string bytes) override;
    asio::awaitable<void> close() override;
    // Sets the destination's access and modification times (keepstamp).
    asio::awaitable<void> utime(double access_time, double modified_time) override;

    bool is_closed() const { return is_closed_; }
    std::uint64_t bytes_written() const { return written_; }

private:
    std::filesystem::path destination_;
    std::filesystem::path temporary_;
    std::optional<std::uint64_t> max_bytes_;
    int fd_ = -1;
    std::uint64_t written_ = 0;
    bool is_closed_ = false;
};

// Serves a file's bytes in the chunks the worker asks for.
class LocalFileReader final : public FileReader {
public:
    // Throws std::system_error when the file cannot be opened.
    explicit LocalFileReader(const std::filesystem::path& source);
    ~LocalFileReader() override;
    LocalFileReader(const LocalFileReader&) = delete;
    LocalFileReader& operator=(const LocalFileReader&) = delete;

    asio::awaitable<std::string> read(std::size_t max_bytes) override;
    asio::awaitable<void> close() override;

private:
    int fd_ = -1;
};

// Collects the worker's tar stream in a temporary file, then unpacks it into `destination`
// (created if missing) with the system tar, run without a shell. Archives with a member that
// is absolute or contains a ".." component are refused as a whole; tar itself also keeps
// symbolic links from redirecting later members outside the destination.
class LocalDirectoryWriter final : public DirectoryWriter {
public:
    enum class Compression { none, gzip, bzip2 };
    // The upload_directory `compress` argument: nil, "gz" or "bz2"; empty when unknown.
    static std::optional<Compression> compression_from(const protocol::Value& compress);

    // Throws std::system_error when the temporary file cannot be created.
    LocalDirectoryWriter(std::filesystem::path destination, Compression compression,
                         std::optional<std::uint64_t> max_bytes = std::nullopt);
    ~LocalDirectoryWriter() override;
    LocalDirectoryWriter(const LocalDirectoryWriter&) = delete;
    LocalDirectoryWriter& operator=(const LocalDirectoryWriter&) = delete;

    asio::awaitable<void> write(std::string bytes) override;
    // Throws std::runtime_error naming the problem (unsafe member, tar failure).
    asio::awaitable<void> unpack() override;

private:
    std::filesystem::path destination_;
    Compression compression_;
    std::optional<std::uint64_t> max_bytes_;
    std::filesystem::path archive_;
    int fd_ = -1;
    std::uint64_t written_ = 0;
};

// True when a tar member name stays inside the directory it is unpacked into: relative, and
// no ".." component ("/" alone, the stock worker's name for the root, is the directory itself).
bool is_contained_member_name(std::string_view name);

}  // namespace kiln::process
