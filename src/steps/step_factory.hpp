// SPDX-License-Identifier: Apache-2.0
// Makes runnable steps from a builder's step configs (the step library's one entry point).
#pragma once

#include "config/master_config.hpp"
#include "process/build_step.hpp"

#include <memory>
#include <vector>

namespace kiln::steps {

// Throws std::invalid_argument for a step type the library does not know (the config loader
// rejects those first).
std::unique_ptr<process::BuildStep> make_step(const config::StepConfig& step);
std::vector<std::unique_ptr<process::BuildStep>>
make_steps(const std::vector<config::StepConfig>& steps);

}  // namespace kiln::steps
