// SPDX-License-Identifier: Apache-2.0
// The parsers of each part of master.lua, shared by master_config.cpp, steps.cpp and
// schedulers.cpp.
#pragma once

#include "config/detail/reader.hpp"
#include "config/master_config.hpp"

#include <optional>

namespace kiln::config::detail {

// A step made by k.<type>{...}; `object` is the constructor's value.
std::optional<StepConfig> parse_step(Reader& reader, const KilnObject& object,
                                     const MasterConfig& config);
// Any scheduler (schedulers.cpp).
std::optional<SchedulerConfig> parse_scheduler(Reader& reader, const KilnObject& object);
bool is_scheduler_kind(std::string_view kind);
// Options schedulers share (scheduler_options.cpp). Each reports its problems and returns
// nullopt (or the default) for an absent or bad value.
// change_filter: k.change_filter{...}, or a function(change) standing for its `fn`.
std::optional<ChangeFilterConfig> parse_change_filter(Reader& reader, const Fields& fields,
                                                      std::string_view key);
// codebases: {"a", "b"} or { a = { repository = ..., branch = ..., revision = ... } };
// absent: one codebase named "". Sorted by name.
std::vector<CodebaseConfig> parse_codebases(Reader& reader, const Fields& fields);
// minute, hour, day_of_month, month, day_of_week: a number, a list, or a cron string.
std::optional<CronField> parse_cron_field(Reader& reader, const Fields& fields,
                                          std::string_view key);
// A generic constructor (change source, reporter).
GenericConfig parse_generic(Reader& reader, const KilnObject& object);

// www.auth, www.authz and www.session_lifetime of the www table `www` (typed keys; the loader
// leaves them out of the generic www options).
void parse_www_auth(Reader& reader, const Fields& www, WwwAuthConfig& config);

// www.change_hook and www.change_hook_auth of the www table `www`; `where` and `auth_where`
// are the lines of those keys.
void parse_change_hooks(Reader& reader, const Fields& www, const SourceLocation& where,
                        const SourceLocation& auth_where, ChangeHookConfig& config);
// A change source made by k.git_poller{...}.
std::optional<GitPollerConfig> parse_git_poller(Reader& reader, const KilnObject& object);

// Checks a constructor's call shape (a table argument and nothing more); reports otherwise.
bool check_table_argument(Reader& reader, const KilnObject& object);

}  // namespace kiln::config::detail
