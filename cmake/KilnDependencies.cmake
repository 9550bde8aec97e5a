# Third-party dependencies, all from Debian packages (tools/setup-deps.sh installs them).
# Configuring downloads nothing.
find_package(Threads REQUIRED)
find_package(Boost 1.81 CONFIG REQUIRED COMPONENTS json url)
find_package(spdlog CONFIG REQUIRED)
find_package(fmt CONFIG REQUIRED)
find_package(CLI11 CONFIG QUIET)
find_package(GTest CONFIG REQUIRED)

# msgpack-cxx is header-only. Debian's package depends on Boost 1.74, which conflicts with
# Boost 1.81, so tools/setup-deps.sh unpacks it into .deps/msgpack (see
# docs/decisions/0002-msgpack-unpacked.md). A system-wide install is used when present.
find_path(KILN_MSGPACK_INCLUDE_DIR msgpack.hpp
    HINTS "${PROJECT_SOURCE_DIR}/.deps/msgpack/usr/include"
    REQUIRED)
add_library(kiln_msgpack INTERFACE)
target_include_directories(kiln_msgpack SYSTEM INTERFACE "${KILN_MSGPACK_INCLUDE_DIR}")
target_compile_definitions(kiln_msgpack INTERFACE MSGPACK_NO_BOOST MSGPACK_DEFAULT_API_VERSION=3)

# Asio and Beast are compiled once, in kiln_io's impl translation unit.
add_library(kiln_asio INTERFACE)
target_link_libraries(kiln_asio INTERFACE Boost::headers Threads::Threads)
target_compile_definitions(kiln_asio INTERFACE
    BOOST_ASIO_SEPARATE_COMPILATION BOOST_BEAST_SEPARATE_COMPILATION
    BOOST_ASIO_NO_DEPRECATED)

find_package(OpenSSL REQUIRED)

# Master-side libraries: Lua 5.4 (configuration), SQLite (embedded database), libpq
# (PostgreSQL backend), zstd (log chunks), libsodium (password hashes).
find_package(PkgConfig REQUIRED)
pkg_check_modules(KILN_LUA REQUIRED IMPORTED_TARGET lua5.4)
pkg_check_modules(KILN_SQLITE REQUIRED IMPORTED_TARGET sqlite3)
pkg_check_modules(KILN_ZSTD REQUIRED IMPORTED_TARGET libzstd)
pkg_check_modules(KILN_SODIUM REQUIRED IMPORTED_TARGET libsodium)
pkg_check_modules(KILN_PQ IMPORTED_TARGET libpq)
