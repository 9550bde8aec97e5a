// SPDX-License-Identifier: Apache-2.0
// kiln: the buildmaster daemon and its admin commands.
#include "master/cli.hpp"

int main(int argc, char** argv) { return kiln::master::run_cli(argc, argv); }
