// SPDX-License-Identifier: Apache-2.0
// MasterConfig and its parts (workers, builders, steps, schedulers): master.lua parsed and
// validated into plain structs, and load_master_config() that does it. Names follow
// DESIGN.md §4: Lua keys are snake_case, otherwise Buildbot's option names.
#pragma once

#include "config/callable.hpp"
#include "config/errors.hpp"
#include "config/lua_runtime.hpp"
#include "config/renderable.hpp"
#include "config/scheduler_config.hpp"
#include "core/properties.hpp"

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

namespace kiln::config {

// One step of a builder. `type` is the constructor's name: "shell",
// "set_property_from_command", "set_property", "file_upload", "directory_upload",
// "file_download", "string_download", "master_shell", "git", "trigger".
struct StepConfig {
    std::string type;
    std::string name;  // default per type, as Buildbot's: "shell", "setproperty", "upload", ...
    bool halt_on_failure = false;
    bool flunk_on_failure = true;
    bool warn_on_failure = false;
    bool warn_on_warnings = false;
    bool flunk_on_warnings = false;
    bool always_run = false;
    // do_step_if: bool or function(props) -> truthy.
    Predicate do_step_if = Predicate::constant(true);
    // hide_step_if: bool or function(results, props), results being the step's result code.
    Predicate hide_step_if = Predicate::constant(false);
    std::optional<Renderable> description, description_done, description_suffix;
    // Type-specific arguments by Lua key, validated (constants have the right types; computed
    // values are checked when rendered). Absent keys take the step's defaults. See steps.cpp
    // (kStepSchemas) for each type's keys; the worker-protocol names map as: max_time ->
    // maxTime, sigterm_time -> sigtermTime, usepty -> usePTY, interrupt_signal ->
    // interruptSignal, log_environ -> logEnviron ("log_files" is accepted as "logfiles").
    RenderableMap args;
    // Function-valued arguments that are not renderables: set_property_from_command's
    // extract_fn(rc, stdout, stderr) -> table of properties.
    CallableMap functions;
    SourceLocation where;
};

struct WorkerConfig {
    std::string name;
    std::string password;           // never log or show it
    int max_builds = 0;             // 0 = unlimited
    core::Properties properties;    // source "Worker"
    int keepalive_interval = 3600;  // seconds
    int missing_timeout = 3600;     // seconds
    std::vector<std::string> notify_on_missing;
    SourceLocation where;
};

struct BuilderConfig {
    std::string name;
    std::vector<std::string> workers;
    std::vector<StepConfig> steps;
    core::Properties properties;          // constant ones, source "Builder"
    RenderableMap renderable_properties;  // computed at build start
    std::vector<std::string> tags;
    std::optional<std::string> description;
    // nullopt: MasterConfig::collapse_requests decides. A function is called as Buildbot's,
    // function(master, builder, request1, request2) (see MasterConfig::collapse_requests).
    std::optional<Predicate> collapse_requests;
    // function(worker_name, request) -> bool; nullopt = any worker may start.
    std::optional<Callable> can_start_build;
    RenderableMap env;
    std::string builddir;        // default: the name with unsafe characters as '_' (Buildbot)
    std::string workerbuilddir;  // default: builddir
    SourceLocation where;
};

// www.authz.roles: how a user gets roles (Buildbot's role matchers).
//   from_groups{ prefix = "kiln-" }: each group starting with prefix, prefix removed;
//   from_emails{ admins = {"a@x"}, ... } / from_domain{ admins = {"x.org"} }: role -> emails
//   or e-mail domains; from_username{ roles = {...}, usernames = {...} }; from_owner{ role =
//   "owner" }: the role, for a rule concerning a build or build request the user owns.
struct RoleMatcherConfig {
    std::string type;    // "from_groups" | "from_emails" | "from_domain" | "from_username" |
                         // "from_owner"
    std::string prefix;  // from_groups
    // from_emails / from_domain: role -> the emails or domains that have it.
    std::map<std::string, std::vector<std::string>, std::less<>> members;
    std::vector<std::string> roles;      // from_username: the roles; from_owner: one role
    std::vector<std::string> usernames;  // from_username
    SourceLocation where;
};

// www.authz.rules: one of Buildbot's endpoint matchers, tried in order (see www/authz.hpp).
// type: "force", "stop", "rebuild", "cancel", "enable_scheduler", "control_worker",
// "shutdown", "any_control", "any".
struct AllowRuleConfig {
    std::string type;
    std::string role;                    // a glob (fnmatch) over the user's roles
    std::optional<std::string> builder;  // a glob over builder names (force, stop, rebuild,
                                         // cancel, try); nullopt: any builder
    bool default_deny = true;  // a matching rule without the role denies (else: next rule)
    SourceLocation where;
};

// www.authz.view: who may see a builder (and its builds). The first entry whose builder glob
// matches decides; a builder no entry matches is visible to everyone.
struct ViewRuleConfig {
    std::string builder;             // glob
    std::vector<std::string> roles;  // globs; a user with a matching role sees the builder
    SourceLocation where;
};

struct AuthzConfig {
    std::vector<RoleMatcherConfig> roles;
    std::vector<AllowRuleConfig> rules;
    std::vector<ViewRuleConfig> view;
};

enum class AuthMethod {
    none,        // k.auth.none(): everyone is anonymous (Buildbot's NoAuth)
    users_file,  // k.auth.users_file("users.txt"): HTTP Basic, sessions and API tokens
};

// www.auth, www.authz and www.session_lifetime.
struct WwwAuthConfig {
    AuthMethod method = AuthMethod::none;
    std::filesystem::path users_file;  // absolute, or relative to master_dir
    AuthzConfig authz;
    std::int64_t session_lifetime = 7 * 24 * 3600;  // seconds a login session lasts
    SourceLocation where;                           // of k.auth.*
};

// www.change_hook.github: GitHub webhooks at /change_hook/github.
struct GitHubHookConfig {
    std::optional<std::string> secret;  // HMAC key of the signatures; never log it
    bool strict = false;                // a request must be signed (needs secret)
    std::string codebase;               // of every change
    // A push whose head commit message matches one of these (ECMAScript regexes, searched) makes
    // no change. Default: Buildbot's "[skip ci]" and "[ci skip]" patterns.
    std::vector<std::string> skips = {R"(\[ *skip *ci *\])", R"(\[ *ci *skip *\])"};
    std::string pullrequest_ref = "merge";  // pull requests build refs/pull/<n>/<this>
    // fnmatch globs over the payload's flattened keys ("github.repository.name"): matching
    // values become change properties.
    std::vector<std::string> github_property_whitelist;
    bool operator==(const GitHubHookConfig&) const = default;
};

// www.change_hook.gitlab: GitLab webhooks at /change_hook/gitlab.
struct GitLabHookConfig {
    std::optional<std::string> secret;  // must equal the X-Gitlab-Token header; never log it
    std::string codebase;               // of every change (the ?codebase= query overrides it)
    bool operator==(const GitLabHookConfig&) const = default;
};

// www.change_hook and www.change_hook_auth: the dialects /change_hook/<dialect> accepts
// (Buildbot's change_hook_dialects) and who may post to them.
struct ChangeHookConfig {
    bool base = false;  // /change_hook/base and /change_hook
    std::optional<GitHubHookConfig> github;
    std::optional<GitLabHookConfig> gitlab;
    // "user:password" pairs for HTTP Basic; empty: no authentication (as Buildbot without
    // change_hook_auth). Never log them.
    std::vector<std::pair<std::string, std::string>> auth;
    SourceLocation where;

    bool is_enabled() const { return base || github || gitlab; }
    bool operator==(const ChangeHookConfig& other) const {
        return base == other.base && github == other.github && gitlab == other.gitlab &&
               auth == other.auth;
    }
};

// k.git_poller{...}: a change source that polls a git repository (Buildbot's GitPoller).
struct GitPollerConfig {
    std::string name;     // default: repourl; unique among change sources
    std::string repourl;  // anything `git fetch` accepts
    // Which branches: a list (names such as "main", or full refs), all of them ("all" or
    // true), or a function(ref) -> bool given the full ref name ("refs/heads/main"). Default
    // {"master"}, as Buildbot 3.7.
    std::vector<std::string> branches = {"master"};
    bool all_branches = false;
    std::optional<Callable> branch_filter;
    bool only_tags = false;                  // poll tags (refs/tags/*) instead of branches
    std::int64_t pollinterval = 600;         // seconds
    std::string workdir = "gitpoller-work";  // relative: inside the master directory
    std::string project;
    std::string category;
    bool poll_at_launch = false;
    bool usetimestamps = true;  // when_timestamp = the commit time (else: when polled)
    std::string gitbin = "git";
    SourceLocation where;
};
bool operator==(const GitPollerConfig& a, const GitPollerConfig& b);

// www.rate_limit = { requests_per_second = 10, burst = 20 }: requests each client address
// may make (a token bucket; burst defaults to requests_per_second, at least 1).
struct WwwRateLimitConfig {
    double requests_per_second = 0;
    std::int64_t burst = 0;
    SourceLocation where;
    bool operator==(const WwwRateLimitConfig& other) const {
        return requests_per_second == other.requests_per_second && burst == other.burst;
    }
};

// A change source, reporter or the extra www options: parsed generically for now.
struct GenericConfig {
    std::string type;  // the constructor's name: "git_poller", "mail", ...; "www" for www
    // Every key, as JSON. Functions, renderables and secrets are placeholders:
    // {"$function": ptr} (in option_functions under that JSON pointer), {"$renderable": ptr}
    // (in option_renderables), {"$secret": name} (value in MasterConfig::secrets); a nested
    // k.foo{...} becomes {"$kind": "foo", "$where": "file:line", "args": {...}}.
    boost::json::object options;
    CallableMap option_functions;
    RenderableMap option_renderables;
    SourceLocation where;
};

struct MasterConfig {
    std::filesystem::path master_dir;
    std::string title = "Kiln";
    std::string title_url;
    std::string url = "http://localhost:8010/";  // Buildbot's buildbotURL
    std::string db_url = "sqlite:state.sqlite";
    int worker_port = 9989;
    int www_port = 8010;
    WwwAuthConfig www_auth;                            // www.auth, www.authz, www.session_lifetime
    ChangeHookConfig change_hook;                      // www.change_hook, www.change_hook_auth
    std::optional<WwwRateLimitConfig> www_rate_limit;  // none: no limit
    GenericConfig www;                                 // the other www keys, generically
    std::vector<WorkerConfig> workers;
    std::vector<BuilderConfig> builders;
    std::vector<SchedulerConfig> schedulers;
    std::vector<GitPollerConfig> git_pollers;   // change_sources made by k.git_poller
    std::vector<GenericConfig> change_sources;  // the other change sources, generically
    std::vector<GenericConfig> reporters;
    core::Properties properties;  // global; source "Global configuration"
    RenderableMap renderable_properties;
    // Whether two pending build requests of a builder may be served by one build: true (the
    // default rule, Buildbot's), false, or function(master, builder, request1, request2)
    // -> truthy, request1 being the newer; master = {masterid, name}, builder = {builderid,
    // name}, each request its REST entity plus `sourcestamps` and `properties`.
    Predicate collapse_requests = Predicate::constant(true);
    bool multi_master = false;
    std::string log_compression = "zstd";           // "zstd" | "none"
    std::optional<std::int64_t> log_max_size;       // bytes per log
    std::optional<std::int64_t> log_max_tail_size;  // bytes kept at the end past the limit
    // Master-side paths of upload/download steps must stay inside master_dir unless true.
    bool allow_master_paths_outside = false;
    // Secrets read through k.secret, by name. Never log them.
    std::map<std::string, std::string> secrets;
    // Keeps the config's functions alive; single-threaded (the master's executor).
    std::shared_ptr<LuaRuntime> runtime;

    const BuilderConfig* find_builder(std::string_view name) const;
    const WorkerConfig* find_worker(std::string_view name) const;
    const SchedulerConfig* find_scheduler(std::string_view name) const;
};

struct LoadResult {
    std::optional<MasterConfig> config;  // set exactly when errors is empty
    std::vector<ConfigError> errors;
};

struct LoadOptions {
    LuaLimits limits;
};

// Loads master_dir/file (default master.lua). Reports every error found (syntax, runtime
// error with its location and traceback, bad keys and types, missing fields, duplicate names,
// unknown references), each at the file:line of the constructor call it concerns.
LoadResult load_master_config(const std::filesystem::path& master_dir,
                              const std::filesystem::path& file = "master.lua",
                              const LoadOptions& options = {});

// The commented sample master.lua that `kiln create-master` writes. Its worker
// "local-worker" reads its password from secrets/local-worker.
std::string_view sample_master_config();

// Resolves a master-side path of a transfer step (relative = relative to master_dir). With
// allow_outside false, a path that leaves master_dir (.., symlinks, absolute) is an error.
core::Expected<std::filesystem::path> resolve_master_path(const MasterConfig& config,
                                                          std::string_view path);

// Equality for reconfig: every field but `where` (so moving a definition is no change).
// Functions compare by Callable::fingerprint(): their source text and upvalue values.
bool operator==(const StepConfig& a, const StepConfig& b);
bool operator==(const WorkerConfig& a, const WorkerConfig& b);
bool operator==(const BuilderConfig& a, const BuilderConfig& b);
bool operator==(const GenericConfig& a, const GenericConfig& b);
bool operator==(const RoleMatcherConfig& a, const RoleMatcherConfig& b);
bool operator==(const AllowRuleConfig& a, const AllowRuleConfig& b);
bool operator==(const ViewRuleConfig& a, const ViewRuleConfig& b);
bool operator==(const AuthzConfig& a, const AuthzConfig& b);
bool operator==(const WwwAuthConfig& a, const WwwAuthConfig& b);

}  // namespace kiln::config
