// SPDX-License-Identifier: Apache-2.0
// The web server's control calls (www::Control) carried out by the Master.
#pragma once

#include "master/master.hpp"
#include "www/json_rpc.hpp"

#include <memory>

namespace kiln::master {

std::unique_ptr<www::Control> make_master_control(Master& master);

}  // namespace kiln::master
