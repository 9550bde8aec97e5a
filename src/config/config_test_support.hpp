// SPDX-License-Identifier: Apache-2.0
// Test support for the config module's unit tests: MasterDir, a master directory (with an
// empty secrets/) in the temp dir, removed at the end, into which a test writes master.lua
// (and other files) and loads it; and the load errors as text.
#pragma once

#include "config/config.hpp"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

namespace kiln::config::testing {

class MasterDir {
public:
    MasterDir() {
        static std::atomic<int> counter{0};
        path_ =
            std::filesystem::temp_directory_path() /
            ("kiln-config-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        std::filesystem::remove_all(path_);
        std::filesystem::create_directories(path_ / "secrets");
    }
    ~MasterDir() { std::filesystem::remove_all(path_); }
    MasterDir(const MasterDir&) = delete;
    MasterDir& operator=(const MasterDir&) = delete;

    void write(const std::filesystem::path& relative, std::string_view text) const {
        std::filesystem::create_directories((path_ / relative).parent_path());
        std::ofstream{path_ / relative, std::ios::binary} << text;
    }
    void secret(const std::string& name, std::string_view value) const {
        write(std::filesystem::path("secrets") / name, value);
    }
    // Writes master.lua and loads the directory's config.
    LoadResult load(std::string_view master_lua, const LoadOptions& options = {}) const {
        write("master.lua", master_lua);
        return load_master_config(path_, "master.lua", options);
    }
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

// Each load error as "file:line: message".
inline std::vector<std::string> messages(const LoadResult& result) {
    std::vector<std::string> out;
    for (const auto& error : result.errors)
        out.push_back(error.to_string());
    return out;
}

// Every load error, one a line.
inline std::string all_messages(const LoadResult& result) {
    std::string out;
    for (const auto& message : messages(result))
        out += message + "\n";
    return out;
}

}  // namespace kiln::config::testing
