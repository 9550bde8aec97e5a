// SPDX-License-Identifier: Apache-2.0
// Which changes a scheduler takes, as Buildbot's _changeCallback decides: the change filter
// (k.change_filter{...}, the scheduler's branch or branches), the codebases it builds, then
// file_is_important / only_important. Changes are the REST API's change entities.
#pragma once

#include "config/scheduler_config.hpp"
#include "core/expected.hpp"

#include <optional>

#include <boost/json/object.hpp>

namespace kiln::schedulers {

// Whether the change passes the filter. An error from its fn comes back as an Error.
core::Expected<bool> passes(const config::ChangeFilterConfig& filter,
                            const boost::json::object& change);

enum class Classification { ignored, unimportant, important };

// What the scheduler makes of a change. Errors (a Lua function that raised) come back as an
// Error; Buildbot logs them and ignores the change.
core::Expected<Classification> classify(const config::SchedulerConfig& scheduler,
                                        const boost::json::object& change);

}  // namespace kiln::schedulers
