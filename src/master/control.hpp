// SPDX-License-Identifier: Apache-2.0
// The control socket: `kiln force|reconfig|stop|status DIR` talk to a running master through
// a Unix socket in its directory (kiln.sock, mode 0600: only the master's user may use it).
// One JSON object per line each way.
#pragma once

#include "core/expected.hpp"
#include "master/master.hpp"

#include <filesystem>
#include <memory>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

namespace kiln::master {

inline constexpr const char* kControlSocketName = "kiln.sock";

class ControlServer {
public:
    // Binds master_dir/kiln.sock (replacing a stale one). Throws on failure.
    ControlServer(boost::asio::any_io_executor executor, const std::filesystem::path& master_dir,
                  Master& master);
    ~ControlServer();
    boost::asio::awaitable<void> run();
    void stop();

private:
    struct State;
    std::shared_ptr<State> state_;
};

// Sends one request to the master in master_dir and returns its reply; an error when no
// master listens there. Blocking: for the CLI.
core::Expected<boost::json::object> control_request(const std::filesystem::path& master_dir,
                                                    const boost::json::object& request,
                                                    std::chrono::seconds timeout);

}  // namespace kiln::master
