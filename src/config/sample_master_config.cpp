// SPDX-License-Identifier: Apache-2.0
// The sample master.lua written by `kiln create-master`.
#include "config/master_config.hpp"

namespace kiln::config {

std::string_view sample_master_config() {
    return R"lua(-- master.lua: the configuration of this Kiln master (Lua 5.4).
--
-- `kiln checkconfig DIR` reports every error in this file at once; `kiln reconfig DIR`
-- applies changes without interrupting running builds. Names follow Buildbot's, in
-- snake_case: halt_on_failure, collapse_requests, tree_stable_timer, ...

local k = require "kiln"

return {
  title = "Kiln",
  title_url = "https://example.org/",
  url = "http://localhost:8010/",          -- where the web UI is reached

  db = { url = "sqlite:state.sqlite" },      -- or "postgresql://user@host/dbname"
  protocols = { worker = { port = 9989 } },  -- workers connect here
  www = {
    port = 8010,
    -- Logins: uncomment to check users against users.txt in this directory (create users
    -- with `kiln user add . alice --group kiln-admins`, script tokens with `kiln user token`).
    -- Without it everyone is anonymous and, with no authz rules, may do everything.
    -- auth = k.auth.users_file("users.txt"),
    -- authz = {
    --   roles = { k.roles.from_groups{ prefix = "kiln-" }, k.roles.from_owner{ role = "owner" } },
    --   -- Tried in order; the first rule matching an action decides (Buildbot's allowRules).
    --   rules = {
    --     k.allow.stop{ role = "owner", default_deny = false },  -- owners may stop their builds
    --     k.allow.force{ builder = "release-*", role = "admins" },
    --     k.allow.any_control{ role = "admins" },               -- any other action: admins
    --   },
    --   view = { { builder = "secret-*", roles = { "admins" } } },  -- who sees which builders
    -- },
    -- session_lifetime = 7 * 24 * 3600,  -- seconds a browser login lasts
    -- Requests per client address (over it: 429 with Retry-After). /metrics (Prometheus)
    -- is authorized as a read: k.allow.any{ role = ... } rules apply to it.
    -- rate_limit = { requests_per_second = 20, burst = 100 },
    -- Webhooks at /change_hook/<dialect> (not behind the login above). `kiln sendchange`
    -- posts to base; GitHub and GitLab sign with the secret in secrets/<name>.
    -- change_hook = {
    --   base = true,
    --   github = { secret = k.secret("github-hook"), strict = true },
    --   gitlab = { secret = k.secret("gitlab-hook") },
    -- },
    -- change_hook_auth = { k.secret("change-hook-user") },  -- "user:password": HTTP Basic
  },

  -- Where changes come from besides webhooks: poll a git repository.
  -- change_sources = {
  --   k.git_poller{ repourl = "https://git.example.org/app.git", branches = { "main" },
  --                 pollinterval = 60 },
  -- },

  -- Workers run the builds. The password is read from secrets/local-worker in this
  -- directory (kiln create-master wrote it); start a worker with the same password:
  --   kiln-worker create WORKERDIR --master localhost:9989 --name local-worker --password ...
  workers = {
    k.worker{ name = "local-worker", password = k.secret("local-worker"), max_builds = 2 },
  },

  builders = {
    k.builder{
      name = "demo",
      workers = { "local-worker" },
      properties = { greeting = "hello" },
      steps = {
        -- A string runs through /bin/sh -c; a list runs the program directly.
        k.shell{ name = "greet", command = k.interpolate("echo %(prop:greeting)s from %(prop:workername:-a worker)s") },
        k.shell{ name = "environment", command = { "uname", "-a" }, timeout = 60 },
        -- A function computes a value from the build's properties when the step starts.
        k.shell{
          name = "reason",
          command = function(props) return "echo 'forced with reason: " .. tostring(props.reason or "none") .. "'" end,
          do_step_if = function(props) return props.skip_reason ~= true end,
        },
      },
    },
  },

  schedulers = {
    -- A "Force" button (and `kiln force`) for the demo builder, with one extra field.
    k.force{
      name = "force",
      builders = { "demo" },
      parameters = {
        k.bool_parameter{ name = "skip_reason", label = "Skip the reason step", default = false },
      },
    },
    -- Every night at 03:00 (local time); `enable` in the web UI or API turns it off.
    -- k.nightly{ name = "nightly", builders = { "demo" }, hour = 3, minute = 0 },
    -- With a change source: a build once main has been quiet for 60 s.
    -- k.single_branch{ name = "main", builders = { "demo" }, branch = "main", tree_stable_timer = 60 },
  },
}
)lua";
}

}  // namespace kiln::config
