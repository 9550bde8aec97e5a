// SPDX-License-Identifier: Apache-2.0
#include "process/local_files.hpp"

#include "io/subprocess.hpp"
#include "io/task_group.hpp"

#include <cerrno>
#include <cmath>
#include <memory>
#include <system_error>
#include <utility>
#include <vector>

#include <boost/asio/this_coro.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace kiln::process {

namespace fs = std::filesystem;

namespace {

std::system_error errno_error(const std::string& what) {
    return std::system_error(errno, std::generic_category(), what);
}

// A fresh file from a mkstemp template; returns its descriptor and fills `path`.
int make_temporary(const fs::path& pattern_base, fs::path& path) {
    std::string pattern = pattern_base.string() + ".XXXXXX";
    int fd = ::mkostemp(pattern.data(), O_CLOEXEC);
    if (fd < 0) throw errno_error("cannot create a temporary file " + pattern);
    path = pattern;
    return fd;
}

void write_all(int fd, std::string_view bytes, const fs::path& path) {
    while (!bytes.empty()) {
        auto written = ::write(fd, bytes.data(), bytes.size());
        if (written < 0) {
            if (errno == EINTR) continue;
            throw errno_error("cannot write " + path.string());
        }
        bytes.remove_prefix(static_cast<std::size_t>(written));
    }
}

// The part of `bytes` that fits under `max_bytes` after `written` bytes.
std::string_view within_limit(std::string_view bytes, std::uint64_t written,
                              std::optional<std::uint64_t> max_bytes) {
    if (!max_bytes) return bytes;
    if (written >= *max_bytes) return {};
    auto room = *max_bytes - written;
    if (bytes.size() > room) bytes = bytes.substr(0, static_cast<std::size_t>(room));
    return bytes;
}

struct timespec to_timespec(double seconds) {
    struct timespec time {};
    double whole = std::floor(seconds);
    time.tv_sec = static_cast<time_t>(whole);
    time.tv_nsec = static_cast<long>((seconds - whole) * 1e9);
    return time;
}

struct ToolRun {
    io::ExitStatus status;
    std::string output;
    std::string errors;
};

// Runs a tool without a shell, reading stdout and stderr at the same time.
asio::awaitable<ToolRun> run_tool(std::vector<std::string> argv, fs::path workdir) {
    auto executor = co_await asio::this_coro::executor;
    io::SpawnOptions options;
    options.argv = std::move(argv);
    options.workdir = workdir.string();
    options.environment = {"PATH=/usr/bin:/bin", "LC_ALL=C"};
    std::shared_ptr<io::Subprocess> child = io::Subprocess::spawn(executor, options);
    // Shared with the stderr reader, which may outlive this frame when it is cancelled.
    auto errors = std::make_shared<std::string>();
    io::TaskGroup readers(executor);
    readers.spawn([](std::shared_ptr<io::Subprocess> process,
                     std::shared_ptr<std::string> text) -> asio::awaitable<void> {
        while (auto chunk = co_await process->read_stderr())
            *text += *chunk;
    }(child, errors));
    ToolRun run;
    while (auto chunk = co_await child->read_stdout())
        run.output += *chunk;
    co_await readers.wait();
    run.errors = *errors;
    run.status = co_await child->wait();
    co_return run;
}

std::string describe(const ToolRun& run) {
    std::string text = run.status.signal != 0
                           ? "killed by signal " + std::to_string(run.status.signal)
                           : "exit code " + std::to_string(run.status.exit_code);
    if (!run.errors.empty()) text += ": " + run.errors.substr(0, 2000);
    return text;
}

std::vector<std::string> tar_command(const char* mode, const fs::path& archive,
                                     LocalDirectoryWriter::Compression compression) {
    std::vector<std::string> argv{"tar", mode, "-f", archive.string()};
    if (compression == LocalDirectoryWriter::Compression::gzip) argv.emplace_back("-z");
    if (compression == LocalDirectoryWriter::Compression::bzip2) argv.emplace_back("-j");
    return argv;
}

}  // namespace

bool is_contained_member_name(std::string_view name) {
    // The stock worker archives its directory under the name "" (listed as "/"): the
    // destination itself, where tar puts it after stripping the slash.
    if (name == "/") return true;
    if (name.empty() || name.front() == '/') return false;
    while (!name.empty()) {
        auto slash = name.find('/');
        auto component = name.substr(0, slash);
        if (component == "..") return false;
        if (slash == std::string_view::npos) break;
        name.remove_prefix(slash + 1);
    }
    return true;
}

// --- LocalFileWriter -------------------------------------------------------------------------

LocalFileWriter::LocalFileWriter(fs::path destination, std::optional<std::uint64_t> max_bytes)
    : destination_(std::move(destination))
    , max_bytes_(max_bytes) {
    fd_ = make_temporary(destination_.string() + ".kiln-upload", temporary_);
}

LocalFileWriter::~LocalFileWriter() {
    if (fd_ >= 0) ::close(fd_);
    if (!is_closed_) {
        std::error_code ignored;
        fs::remove(temporary_, ignored);
    }
}

asio::awaitable<void> LocalFileWriter::write(std::string bytes) {
    if (is_closed_) throw std::runtime_error("write after close");
    auto kept = within_limit(bytes, written_, max_bytes_);
    write_all(fd_, kept, temporary_);
    written_ += kept.size();
    co_return;
}

asio::awaitable<void> LocalFileWriter::close() {
    if (is_closed_) co_return;
    // The stock master creates the file with the default mode (0666 minus umask).
    auto mask = ::umask(0);
    ::umask(mask);
    ::fchmod(fd_, static_cast<mode_t>(0666 & ~mask));
    int fd = std::exchange(fd_, -1);
    if (::close(fd) != 0) throw errno_error("cannot close " + temporary_.string());
    fs::rename(temporary_, destination_);
    is_closed_ = true;
    co_return;
}

asio::awaitable<void> LocalFileWriter::utime(double access_time, double modified_time) {
    struct timespec times[2] = {to_timespec(access_time), to_timespec(modified_time)};
    const auto& path = is_closed_ ? destination_ : temporary_;
    if (::utimensat(AT_FDCWD, path.c_str(), times, 0) != 0)
        throw errno_error("cannot set the times of " + path.string());
    co_return;
}

// --- LocalFileReader -------------------------------------------------------------------------

LocalFileReader::LocalFileReader(const fs::path& source) {
    fd_ = ::open(source.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw errno_error("cannot open " + source.string());
}

LocalFileReader::~LocalFileReader() {
    if (fd_ >= 0) ::close(fd_);
}

asio::awaitable<std::string> LocalFileReader::read(std::size_t max_bytes) {
    if (fd_ < 0) throw std::runtime_error("read after close");
    std::string data(max_bytes, '\0');
    std::size_t filled = 0;
    while (filled < max_bytes) {
        auto got = ::read(fd_, data.data() + filled, max_bytes - filled);
        if (got < 0) {
            if (errno == EINTR) continue;
            throw errno_error("cannot read the file to download");
        }
        if (got == 0) break;
        filled += static_cast<std::size_t>(got);
    }
    data.resize(filled);
    co_return data;
}

asio::awaitable<void> LocalFileReader::close() {
    if (fd_ >= 0) ::close(std::exchange(fd_, -1));
    co_return;
}

// --- LocalDirectoryWriter --------------------------------------------------------------------

std::optional<LocalDirectoryWriter::Compression>
LocalDirectoryWriter::compression_from(const protocol::Value& compress) {
    if (compress.is_nil()) return Compression::none;
    auto text = compress.as_text();
    if (!text) return std::nullopt;
    if (*text == "gz") return Compression::gzip;
    if (*text == "bz2") return Compression::bzip2;
    return std::nullopt;
}

LocalDirectoryWriter::LocalDirectoryWriter(fs::path destination, Compression compression,
                                           std::optional<std::uint64_t> max_bytes)
    : destination_(std::move(destination))
    , compression_(compression)
    , max_bytes_(max_bytes) {
    fd_ = make_temporary(fs::temp_directory_path() / "kiln-upload-directory", archive_);
}

LocalDirectoryWriter::~LocalDirectoryWriter() {
    if (fd_ >= 0) ::close(fd_);
    std::error_code ignored;
    fs::remove(archive_, ignored);
}

asio::awaitable<void> LocalDirectoryWriter::write(std::string bytes) {
    if (fd_ < 0) throw std::runtime_error("write after unpack");
    auto kept = within_limit(bytes, written_, max_bytes_);
    write_all(fd_, kept, archive_);
    written_ += kept.size();
    co_return;
}

asio::awaitable<void> LocalDirectoryWriter::unpack() {
    if (fd_ < 0) throw std::runtime_error("unpack called twice");
    if (::close(std::exchange(fd_, -1)) != 0) throw errno_error("cannot close the archive");
    fs::create_directories(destination_);

    // GNU tar lists member names with escapes (a newline in a name reads "\n"), so every
    // line is one member.
    auto listing = co_await run_tool(tar_command("-t", archive_, compression_), destination_);
    if (listing.status.exit_code != 0 || listing.status.signal != 0)
        throw std::runtime_error("cannot read the uploaded archive: " + describe(listing));
    std::string_view names = listing.output;
    while (!names.empty()) {
        auto end = names.find('\n');
        auto name = names.substr(0, end);
        if (!is_contained_member_name(name))
            throw std::runtime_error("refusing the uploaded archive: member '" + std::string(name) +
                                     "' escapes the destination");
        if (end == std::string_view::npos) break;
        names.remove_prefix(end + 1);
    }

    auto extract = tar_command("-x", archive_, compression_);
    extract.insert(extract.end(), {"-C", destination_.string(), "--no-same-owner",
                                   "--no-same-permissions", "--no-overwrite-dir"});
    auto unpacked = co_await run_tool(std::move(extract), destination_);
    if (unpacked.status.exit_code != 0 || unpacked.status.signal != 0)
        throw std::runtime_error("cannot unpack the uploaded archive: " + describe(unpacked));
    std::error_code ignored;
    fs::remove(archive_, ignored);
}

}  // namespace kiln::process
