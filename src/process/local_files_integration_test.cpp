// SPDX-License-Identifier: Apache-2.0
// LocalFileWriter, LocalFileReader and LocalDirectoryWriter on real files, with the system
// tar: archives whose members would land outside the destination are refused.
#include "io/subprocess.hpp"
#include "process/local_files.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"  // GCC bug 109224
#endif

namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using kiln::process::LocalDirectoryWriter;
using kiln::process::LocalFileReader;
using kiln::process::LocalFileWriter;

struct TempDir {
    fs::path path;
    TempDir() {
        char name[] = "/tmp/kiln-local-files-test-XXXXXX";
        path = ::mkdtemp(name);
    }
    ~TempDir() { fs::remove_all(path); }
};

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

void write_file(const fs::path& path, const std::string& bytes) {
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << bytes;
}

// Runs a coroutine to completion on a fresh context; rethrows its exception.
template <typename T>
T run(asio::awaitable<T> task) {
    asio::io_context context;
    std::exception_ptr failure;
    std::optional<T> value;
    asio::co_spawn(context, std::move(task), [&](std::exception_ptr error, T result) {
        failure = error;
        if (!error) value = std::move(result);
    });
    context.run_for(std::chrono::seconds(20));
    if (failure) std::rethrow_exception(failure);
    return std::move(*value);
}

// Creates an archive with tar's own options (no shell).
void make_archive(const fs::path& workdir, std::vector<std::string> arguments) {
    asio::io_context context;
    kiln::io::SpawnOptions options;
    options.argv = {"tar"};
    options.argv.insert(options.argv.end(), arguments.begin(), arguments.end());
    options.workdir = workdir.string();
    options.environment = {"PATH=/usr/bin:/bin"};
    auto tar = kiln::io::Subprocess::spawn(context.get_executor(), options);
    int code = -1;
    asio::co_spawn(
        context,
        [&]() -> asio::awaitable<void> {
            while (co_await tar->read_stdout()) {
            }
            while (co_await tar->read_stderr()) {
            }
            auto status = co_await tar->wait();
            code = status.exit_code;
        },
        asio::detached);
    context.run_for(std::chrono::seconds(20));
    ASSERT_EQ(code, 0) << "tar failed";
}

// Feeds an archive file to a LocalDirectoryWriter and unpacks it; returns the error text.
std::string unpack(const fs::path& archive, const fs::path& destination,
                   LocalDirectoryWriter::Compression compression) {
    LocalDirectoryWriter writer(destination, compression);
    auto bytes = read_file(archive);
    try {
        run([&]() -> asio::awaitable<int> {
            co_await writer.write(bytes.substr(0, 1000));
            co_await writer.write(bytes.substr(std::min<std::size_t>(1000, bytes.size())));
            co_await writer.unpack();
            co_return 0;
        }());
    } catch (const std::exception& error) {
        return error.what();
    }
    return {};
}

TEST(LocalFiles, member_names_must_stay_inside_the_destination) {
    using kiln::process::is_contained_member_name;
    EXPECT_TRUE(is_contained_member_name("a/b.txt"));
    EXPECT_TRUE(is_contained_member_name("./a"));
    EXPECT_TRUE(is_contained_member_name("a..b/c"));
    EXPECT_FALSE(is_contained_member_name("/etc/passwd"));
    EXPECT_FALSE(is_contained_member_name("../x"));
    EXPECT_FALSE(is_contained_member_name("a/../../x"));
    EXPECT_FALSE(is_contained_member_name("a/.."));
    EXPECT_FALSE(is_contained_member_name(""));
    EXPECT_TRUE(is_contained_member_name("/"));  // the stock worker's root entry
    EXPECT_FALSE(is_contained_member_name("//etc"));
}

TEST(LocalFiles, file_writer_renames_into_place_at_close_and_sets_times) {
    TempDir dir;
    auto destination = dir.path / "out.bin";
    {
        LocalFileWriter writer(destination, 5);  // maxsize 5: the rest is dropped
        run([&]() -> asio::awaitable<int> {
            co_await writer.write("abc");
            EXPECT_FALSE(fs::exists(destination));
            co_await writer.write("defgh");
            co_await writer.close();
            co_await writer.utime(1000000000.0, 1200000000.5);
            co_return 0;
        }());
    }
    struct stat info {};
    ASSERT_EQ(::stat(destination.c_str(), &info), 0);  // before reading, which sets atime
    EXPECT_EQ(info.st_mtime, 1200000000);
    EXPECT_EQ(info.st_atime, 1000000000);
    EXPECT_EQ(read_file(destination), "abcde");
    EXPECT_EQ(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()), 1);
}

TEST(LocalFiles, file_writer_leaves_nothing_behind_when_never_closed) {
    TempDir dir;
    {
        LocalFileWriter writer(dir.path / "partial.bin");
        run([&]() -> asio::awaitable<int> {
            co_await writer.write("half");
            co_return 0;
        }());
    }
    EXPECT_TRUE(fs::is_empty(dir.path));
}

TEST(LocalFiles, file_reader_serves_chunks_then_end_of_file) {
    TempDir dir;
    write_file(dir.path / "in.txt", "0123456789");
    LocalFileReader reader(dir.path / "in.txt");
    auto chunks = run([&]() -> asio::awaitable<std::vector<std::string>> {
        std::vector<std::string> parts;
        for (;;) {
            auto part = co_await reader.read(4);
            if (part.empty()) break;
            parts.push_back(std::move(part));
        }
        co_await reader.close();
        co_return parts;
    }());
    EXPECT_EQ(chunks, (std::vector<std::string>{"0123", "4567", "89"}));
    EXPECT_THROW(LocalFileReader(dir.path / "missing"), std::system_error);
}

TEST(LocalFiles, directory_writer_unpacks_a_compressed_tree) {
    TempDir dir;
    write_file(dir.path / "src" / "a.txt", "alpha");
    write_file(dir.path / "src" / "sub" / "b.txt", "beta");
    make_archive(dir.path / "src", {"-czf", (dir.path / "tree.tgz").string(), "."});
    auto error =
        unpack(dir.path / "tree.tgz", dir.path / "dest", LocalDirectoryWriter::Compression::gzip);
    EXPECT_EQ(error, "");
    EXPECT_EQ(read_file(dir.path / "dest" / "a.txt"), "alpha");
    EXPECT_EQ(read_file(dir.path / "dest" / "sub" / "b.txt"), "beta");
}

TEST(LocalFiles, directory_writer_refuses_members_with_dot_dot) {
    TempDir dir;
    write_file(dir.path / "src" / "evil.txt", "evil");
    make_archive(dir.path / "src", {"-cf", (dir.path / "evil.tar").string(), "--transform",
                                    "s,^,../../,", "evil.txt"});
    auto error = unpack(dir.path / "evil.tar", dir.path / "a" / "b" / "dest",
                        LocalDirectoryWriter::Compression::none);
    EXPECT_NE(error.find("escapes the destination"), std::string::npos) << error;
    EXPECT_FALSE(fs::exists(dir.path / "a" / "evil.txt"));
    EXPECT_FALSE(fs::exists(dir.path / "evil.txt"));
}

TEST(LocalFiles, directory_writer_refuses_absolute_members) {
    TempDir dir;
    write_file(dir.path / "src" / "abs.txt", "absolute");
    make_archive(dir.path, {"-cPf", (dir.path / "abs.tar").string(),
                            (dir.path / "src" / "abs.txt").string()});
    fs::remove(dir.path / "src" / "abs.txt");
    auto error =
        unpack(dir.path / "abs.tar", dir.path / "dest", LocalDirectoryWriter::Compression::none);
    EXPECT_NE(error.find("escapes the destination"), std::string::npos) << error;
    EXPECT_FALSE(fs::exists(dir.path / "src" / "abs.txt"));
}

TEST(LocalFiles, directory_writer_keeps_symbolic_links_from_redirecting_members) {
    TempDir dir;
    auto outside = dir.path / "outside";
    fs::create_directories(outside);
    fs::create_directories(dir.path / "src" / "d");
    fs::create_symlink(outside, dir.path / "src" / "link");
    write_file(dir.path / "src" / "d" / "planted.txt", "planted");
    make_archive(dir.path / "src", {"-cf", (dir.path / "sym.tar").string(), "link"});
    make_archive(dir.path / "src", {"-rf", (dir.path / "sym.tar").string(), "--transform",
                                    "s,^d,link,", "d/planted.txt"});
    auto error =
        unpack(dir.path / "sym.tar", dir.path / "dest", LocalDirectoryWriter::Compression::none);
    EXPECT_FALSE(fs::exists(outside / "planted.txt"));
    EXPECT_NE(error, "");
}

}  // namespace
