// SPDX-License-Identifier: Apache-2.0
// The forcescheduler resource: a force scheduler of the configuration described as
// Buildbot's web UI expects it (name, button_name, label, builder_names, enabled and the
// all_fields form: the username/reason group, the codebase group, then the configured
// parameters; specs/rest-api.md §7).
#pragma once

#include "config/master_config.hpp"

#include <boost/json/object.hpp>

namespace kiln::www {

boost::json::object force_scheduler_json(const config::SchedulerConfig& scheduler);

}  // namespace kiln::www
