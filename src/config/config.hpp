// SPDX-License-Identifier: Apache-2.0
// The config module's public interface in one include: load_master_config() and the structs
// it fills (master_config.hpp), renderables and config functions.
#pragma once

#include "config/callable.hpp"
#include "config/errors.hpp"
#include "config/lua_runtime.hpp"
#include "config/master_config.hpp"
#include "config/renderable.hpp"
