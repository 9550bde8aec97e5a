// SPDX-License-Identifier: Apache-2.0
// The `kiln` command line: create-master, start, stop, restart, checkconfig, reconfig,
// upgrade-master, force, worker, status, user (add/remove/list/token), sendchange. Each verb
// has --help; errors name the bad flag or file.
#pragma once

namespace kiln::master {

// Runs the command line; returns the process exit code.
int run_cli(int argc, char** argv);

}  // namespace kiln::master
