// SPDX-License-Identifier: Apache-2.0
// SchedulerConfig and its parts: what k.force, k.single_branch, k.any_branch, k.periodic,
// k.nightly, k.triggerable, k.dependent and k.try_scheduler hold once parsed, with
// k.change_filter{...} and the codebases a scheduler builds. Option names follow Buildbot's in
// snake_case.
#pragma once

#include "config/callable.hpp"
#include "config/errors.hpp"
#include "config/renderable.hpp"
#include "core/properties.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

namespace kiln::config {

// A field of a force scheduler's form. type: "string", "text", "int", "bool", "choice".
struct ForceParameter {
    std::string type;
    std::string name;
    std::string label;                 // default: the name
    boost::json::value default_value;  // "" / 0 / false / first choice (or [] when multiple)
    bool required = false;
    std::optional<std::string> regex;  // string and text: the whole value must match
    std::vector<std::string> choices;  // choice
    bool multiple = false;             // choice
    bool strict = true;                // choice: the value must be one of choices
    SourceLocation where;
};

// k.change_filter{...}: the changes a scheduler looks at (Buildbot's ChangeFilter). A change
// passes when every criterion given holds. `change_filter = function(change) ... end` is the
// same as k.change_filter{ fn = function(change) ... end }.
struct ChangeFilterConfig {
    // Exact values: the change's field must be one of them (empty: any value).
    std::vector<std::string> project, repository, branch, category, codebase;
    // Regular expressions (ECMAScript syntax) matched at the start of the value, as Python's
    // re.match; a null value (a change without branch or category) never matches.
    std::vector<std::string> project_re, repository_re, branch_re, category_re, codebase_re;
    // function(change) -> truthy; the change as the REST API shows it.
    std::optional<Callable> fn;
    SourceLocation where;
};

// One codebase a scheduler builds, and the sourcestamp it gets when no change names it
// (Buildbot's codebases = { name = { repository = ..., branch = ..., revision = ... } }).
struct CodebaseConfig {
    std::string name;
    std::string repository;
    std::optional<std::string> branch;
    std::optional<std::string> revision;
    bool operator==(const CodebaseConfig&) const = default;
};

// One field of a nightly schedule: the values it allows, ascending. is_any: "*" (for the day
// fields it matters: day_of_month and day_of_week both restricted means either may match,
// as in cron).
struct CronField {
    std::vector<int> values;
    bool is_any = true;
    bool operator==(const CronField&) const = default;
};

// type: "force", "single_branch", "any_branch", "periodic", "nightly", "triggerable",
// "dependent", "try_scheduler" (Buildbot's Try_Userpass: jobs posted by `kiln try`; name,
// builders and properties only).
struct SchedulerConfig {
    std::string type;
    std::string name;
    std::vector<std::string> builders;
    core::Properties properties;  // source "Scheduler"
    RenderableMap renderable_properties;
    // Every scheduler but force: the codebases it builds (default: one, named "").
    std::vector<CodebaseConfig> codebases;
    int priority = 0;  // of its build requests

    // force only:
    std::vector<ForceParameter> parameters;
    std::string reason = "force build";  // the reason field's default
    std::string button_name = "Force";
    std::string label;  // default: the name
    // The buildset's reason. force: a format with %(owner)s and %(reason)s; the others: the
    // text (Buildbot's defaults, e.g. "The SingleBranchScheduler scheduler named 'main'
    // triggered this build"; a `reason` given in the config may use %(name)s and
    // %(classname)s).
    std::string reason_string = "A build was forced by '%(owner)s': %(reason)s";

    // single_branch, any_branch, periodic, nightly: which changes count.
    // single_branch: the branch it follows (or a change_filter); periodic, nightly: only
    // changes on it are recorded, and its sourcestamps name it when no change does.
    std::optional<std::string> branch;
    std::vector<std::string> branches;  // any_branch: only these (empty: every branch)
    std::optional<ChangeFilterConfig> change_filter;
    std::optional<Callable> file_is_important;  // function(change) -> truthy
    bool only_important = false;                // unimportant changes are not even recorded
    // single_branch, any_branch: seconds without a new change before building; nullopt:
    // one buildset per important change, at once.
    std::optional<std::int64_t> tree_stable_timer;
    // periodic: seconds between buildsets.
    std::int64_t period = 0;
    // nightly (local time). day_of_week: 0 = Monday ... 6 = Sunday (Buildbot's numbering).
    CronField minute{{0}, false};
    CronField hour, day_of_month, month, day_of_week;
    // periodic, nightly: skip a run when no important change came since the last one.
    bool only_if_changed = false;
    // dependent: the scheduler whose successful buildsets it follows.
    std::string upstream;

    SourceLocation where;

    // Reads changes (single_branch, any_branch, and the timed ones with only_if_changed).
    bool listens_to_changes() const;
};

// Equality for reconfig: every field but `where`.
bool operator==(const ForceParameter& a, const ForceParameter& b);
bool operator==(const ChangeFilterConfig& a, const ChangeFilterConfig& b);
bool operator==(const SchedulerConfig& a, const SchedulerConfig& b);

}  // namespace kiln::config
