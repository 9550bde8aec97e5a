// SPDX-License-Identifier: Apache-2.0
// load_master_config(): the sample, every kind of error with its file:line, renderables,
// the sandbox and its limits, require, secrets.
#include "config/config_test_support.hpp"

#include <chrono>
#include <fstream>
#include <random>

#include <boost/json/parse.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kiln::config {
namespace {

using ::testing::HasSubstr;

using testing::all_messages;
using testing::MasterDir;
using testing::messages;

// A valid config with one worker, one builder, one force scheduler; `extra` goes into the
// builder's step list.
std::string config_with_steps(std::string_view steps) {
    return R"(local k = require "kiln"
return {
  workers = { k.worker{ name = "w1", password = "pw" } },
  builders = { k.builder{ name = "b", workers = {"w1"}, steps = {
)" + std::string(steps) +
           R"(
  } } },
}
)";
}

core::Properties props(std::initializer_list<std::pair<std::string, boost::json::value>> values) {
    core::Properties properties;
    for (const auto& [name, value] : values)
        properties.set(name, value, "test");
    return properties;
}

TEST(SampleConfig, loads_without_errors) {
    MasterDir dir;
    dir.write("secrets/local-worker", "s3cret\n");
    auto result = dir.load(sample_master_config());
    ASSERT_TRUE(result.config) << all_messages(result);
    const auto& config = *result.config;
    ASSERT_EQ(config.workers.size(), 1u);
    EXPECT_EQ(config.workers[0].name, "local-worker");
    EXPECT_EQ(config.workers[0].password, "s3cret");
    const auto* builder = config.find_builder("demo");
    ASSERT_NE(builder, nullptr);
    EXPECT_EQ(builder->steps.size(), 3u);
    EXPECT_EQ(config.schedulers.at(0).type, "force");
    EXPECT_EQ(config.db_url, "sqlite:state.sqlite");
    EXPECT_EQ(config.worker_port, 9989);
    EXPECT_EQ(config.www_port, 8010);
    auto greeting = builder->steps[0].args.at("command").render(props({{"greeting", "hi"}}));
    ASSERT_TRUE(greeting);
    EXPECT_EQ(*greeting, boost::json::value("echo hi from a worker"));
}

TEST(LoadMasterConfig, fills_defaults_and_reads_every_top_level_key) {
    MasterDir dir;
    auto result = dir.load(R"(local k = require "kiln"
return {
  title = "T", title_url = "https://t/", url = "http://ci/",
  db = { url = "postgresql://u@h/db" },
  protocols = { worker = { port = 1234 } },
  www = { port = 8080, auth = k.auth.users_file("users.txt"), change_hook = { github = { secret = k.secret("hook") } } },
  properties = { answer = 42, computed = k.interpolate("x%(prop:y)s") },
  multi_master = true, log_compression = "none", log_max_size = 1000, log_max_tail_size = 100,
  allow_master_paths_outside = true,
  change_sources = { k.git_poller{ repourl = "https://g/a.git", branches = {"main"} } },
  reporters = { k.mail{ from = "ci@x", mode = {"failing"} } },
}
)");
    ASSERT_FALSE(result.config) << "the secret file is missing";
    dir.write("secrets/hook", "hooksecret");
    result = load_master_config(dir.path());
    ASSERT_TRUE(result.config) << all_messages(result);
    const auto& config = *result.config;
    EXPECT_EQ(config.title, "T");
    EXPECT_EQ(config.db_url, "postgresql://u@h/db");
    EXPECT_EQ(config.worker_port, 1234);
    EXPECT_EQ(config.www_port, 8080);
    EXPECT_TRUE(config.multi_master);
    EXPECT_EQ(config.log_compression, "none");
    EXPECT_EQ(config.log_max_size, 1000);
    EXPECT_TRUE(config.allow_master_paths_outside);
    EXPECT_EQ(config.properties.value_or_null("answer"), boost::json::value(42));
    EXPECT_EQ(config.renderable_properties.count("computed"), 1u);
    EXPECT_EQ(config.secrets.at("hook"), "hooksecret");
    ASSERT_TRUE(config.change_hook.github);
    EXPECT_EQ(config.change_hook.github->secret, "hooksecret");
    EXPECT_FALSE(config.www.options.contains("change_hook")) << "change_hook is typed";
    EXPECT_EQ(config.www_auth.method, AuthMethod::users_file);
    EXPECT_EQ(config.www_auth.users_file, "users.txt");
    EXPECT_FALSE(config.www.options.contains("auth")) << "auth is typed, not generic";
    ASSERT_EQ(config.git_pollers.size(), 1u);
    EXPECT_EQ(config.git_pollers[0].repourl, "https://g/a.git");
    EXPECT_EQ(config.git_pollers[0].branches, std::vector<std::string>{"main"});
    EXPECT_TRUE(config.change_sources.empty());
    EXPECT_EQ(config.reporters.at(0).type, "mail");
}

TEST(LoadMasterConfig, reports_a_syntax_error_at_its_line) {
    MasterDir dir;
    auto result = dir.load("local k = require \"kiln\"\nreturn {\n  title = = 1,\n}\n");
    ASSERT_EQ(result.errors.size(), 1u);
    EXPECT_EQ(result.errors[0].where, (SourceLocation{"master.lua", 3}));
    EXPECT_THAT(result.errors[0].to_string(), HasSubstr("master.lua:3: "));
}

TEST(LoadMasterConfig, reports_a_runtime_error_at_its_line_with_a_traceback) {
    MasterDir dir;
    auto result = dir.load(R"(local k = require "kiln"
local function helper()
  return nil + 1
end
local x = helper()
return {}
)");
    ASSERT_EQ(result.errors.size(), 1u);
    EXPECT_EQ(result.errors[0].where, (SourceLocation{"master.lua", 3}));
    EXPECT_THAT(result.errors[0].message, HasSubstr("arithmetic"));
    EXPECT_THAT(result.errors[0].message, HasSubstr("master.lua:5"));
}

TEST(LoadMasterConfig, reports_an_unknown_key_with_a_suggestion_at_the_constructor_line) {
    MasterDir dir;
    auto result = dir.load(config_with_steps(R"(    k.shell{ comand = "make" },)"));
    EXPECT_THAT(messages(result),
                ::testing::Contains("master.lua:5: unknown key 'comand' in k.shell (did you mean "
                                    "'command'?)"));
    EXPECT_THAT(all_messages(result), HasSubstr("master.lua:5: k.shell: 'command' is required"));
}

TEST(LoadMasterConfig, reports_a_wrong_type) {
    MasterDir dir;
    auto result =
        dir.load(config_with_steps(R"(    k.shell{ command = "make", timeout = "soon" },)"));
    EXPECT_THAT(messages(result),
                ::testing::ElementsAre(HasSubstr("master.lua:5: 'timeout' in k.shell must be a "
                                                 "number")));
}

TEST(LoadMasterConfig, reads_the_www_rate_limit_with_burst_defaulting_to_the_rate) {
    MasterDir dir;
    auto result = dir.load(R"(return {
  www = { rate_limit = { requests_per_second = 2.5, burst = 7 } },
}
)");
    ASSERT_TRUE(result.config) << all_messages(result);
    ASSERT_TRUE(result.config->www_rate_limit);
    EXPECT_EQ(result.config->www_rate_limit->requests_per_second, 2.5);
    EXPECT_EQ(result.config->www_rate_limit->burst, 7);
    EXPECT_FALSE(result.config->www.options.contains("rate_limit")) << "typed, not generic";

    result = dir.load("return { www = { rate_limit = { requests_per_second = 2.5 } } }\n");
    ASSERT_TRUE(result.config) << all_messages(result);
    EXPECT_EQ(result.config->www_rate_limit->burst, 3);
    result = dir.load("return { www = { port = 8011 } }\n");
    ASSERT_TRUE(result.config) << all_messages(result);
    EXPECT_FALSE(result.config->www_rate_limit);
}

TEST(LoadMasterConfig, reports_every_www_rate_limit_mistake_at_its_line) {
    MasterDir dir;
    auto result = dir.load(R"(return {
  www = {
    rate_limit = { requests_per_second = 0, burst = 0, bursts = 3 },
  },
}
)");
    EXPECT_THAT(messages(result),
                ::testing::UnorderedElementsAre(
                    "master.lua:3: unknown key 'bursts' in 'www.rate_limit' (did you mean "
                    "'burst'?)",
                    "master.lua:3: 'requests_per_second' in 'www.rate_limit' must be more than 0",
                    "master.lua:3: 'burst' in 'www.rate_limit' must be between 1 and 1000000, "
                    "got 0"));
    result = dir.load("return {\n  www = { rate_limit = 5 },\n}\n");
    EXPECT_THAT(messages(result),
                ::testing::ElementsAre(HasSubstr("master.lua:2: 'rate_limit' in 'www' must be a "
                                                 "table such as { requests_per_second = 10")));
    result = dir.load("return {\n  www = { rate_limit = { burst = 5 } },\n}\n");
    EXPECT_THAT(messages(result),
                ::testing::ElementsAre("master.lua:2: 'www.rate_limit': 'requests_per_second' is "
                                       "required"));
}

TEST(LoadMasterConfig, reports_a_missing_required_name) {
    MasterDir dir;
    auto result = dir.load(R"(local k = require "kiln"
return {
  workers = { k.worker{ password = "pw" } },
}
)");
    EXPECT_THAT(messages(result),
                ::testing::ElementsAre("master.lua:3: k.worker: 'name' is required"));
}

TEST(LoadMasterConfig, reports_a_duplicate_builder_at_the_second_definition) {
    MasterDir dir;
    auto result = dir.load(R"(local k = require "kiln"
return {
  workers = { k.worker{ name = "w1", password = "pw" } },
  builders = {
    k.builder{ name = "b", workers = {"w1"} },
    k.builder{ name = "b", workers = {"w1"} },
  },
}
)");
    EXPECT_THAT(messages(result),
                ::testing::ElementsAre("master.lua:6: duplicate builder name 'b' (first defined "
                                       "at master.lua:5)"));
}

TEST(LoadMasterConfig, reports_a_builder_naming_an_unknown_worker) {
    MasterDir dir;
    auto result = dir.load(R"(local k = require "kiln"
return {
  workers = { k.worker{ name = "w1", password = "pw" } },
  builders = { k.builder{ name = "b", workers = {"w2"} } },
}
)");
    EXPECT_THAT(messages(result),
                ::testing::ElementsAre("master.lua:4: builder 'b' names unknown worker 'w2'"));
}

TEST(LoadMasterConfig, reports_a_bad_worker_name) {
    MasterDir dir;
    auto result = dir.load(R"(local k = require "kiln"
return {
  workers = {
    k.worker{ name = "1bad name", password = "pw" },
    k.worker{ name = "ünïcode-ok_1", password = "pw" },
    k.worker{ name = string.rep("x", 51), password = "pw" },
  },
}
)");
    ASSERT_EQ(result.errors.size(), 2u) << all_messages(result);
    EXPECT_THAT(result.errors[0].to_string(),
                HasSubstr("master.lua:4: 'name' in k.worker must be an identifier"));
    EXPECT_EQ(result.errors[1].where.line, 6);
}

TEST(LoadMasterConfig, reports_a_missing_secret_file_by_name) {
    MasterDir dir;
    auto result = dir.load(R"(local k = require "kiln"
return {
  workers = { k.worker{ name = "w1", password = k.secret("w1-password") } },
}
)");
    EXPECT_THAT(messages(result),
                ::testing::ElementsAre(HasSubstr("master.lua:3: k.secret('w1-password'): cannot "
                                                 "read secrets/w1-password")));
}

TEST(LoadMasterConfig, reports_several_errors_in_one_file_at_once) {
    MasterDir dir;
    auto result = dir.load(R"(local k = require "kiln"
return {
  titel = "x",
  workers = {
    k.worker{ name = "w1", password = "pw", max_bilds = 2 },
    k.worker{ password = "pw" },
  },
  builders = {
    k.builder{ name = "b", workers = {"nope"}, steps = {
      k.shell{ command = 5 },
      k.shel{ command = "x" },
    } },
  },
  schedulers = { k.force{ name = "f", builders = {"missing"} } },
}
)");
    auto found = all_messages(result);
    EXPECT_THAT(
        found,
        HasSubstr("master.lua:3: unknown key 'titel' in the config (did you mean 'title'?)"));
    EXPECT_THAT(
        found,
        HasSubstr(
            "master.lua:5: unknown key 'max_bilds' in k.worker (did you mean 'max_builds'?)"));
    EXPECT_THAT(found, HasSubstr("master.lua:6: k.worker: 'name' is required"));
    EXPECT_THAT(found, HasSubstr("master.lua:10: 'command' in k.shell must be a non-empty string"));
    EXPECT_THAT(found,
                HasSubstr("master.lua:11: k.shel{...} is not a step (did you mean k.shell?)"));
    EXPECT_THAT(found, HasSubstr("master.lua:14: scheduler 'f' names unknown builder 'missing'"));
    EXPECT_GE(result.errors.size(), 6u);
    EXPECT_FALSE(result.config);
}

TEST(LoadMasterConfig, reads_step_fields_and_common_flags) {
    MasterDir dir;
    auto result = dir.load(config_with_steps(R"(
    k.shell{ name = "build", command = {"make", "-j4"}, env = { PATH = {"/opt/bin", "${PATH}"} },
             timeout = 1200, max_time = false, usepty = true, decode_rc = { [0] = "success", [3] = "warnings" },
             log_files = { test = "test.log" }, halt_on_failure = true, flunk_on_failure = false,
             do_step_if = function(props) return props.run == "yes" end,
             hide_step_if = function(results, props) return results == 0 end },
    k.set_property_from_command{ command = "git rev-parse HEAD", property = "revision" },
    k.set_property_from_command{ command = "env", extract_fn = function(rc, stdout, stderr) return { rc = rc } end },
    k.set_property{ property = "p", value = k.property("q", "dflt") },
    k.file_upload{ workersrc = "out.txt", masterdest = "uploads/out.txt", mode = 420 },
    k.directory_upload{ workersrc = "dir", masterdest = "uploads/dir", compress = "gz" },
    k.file_download{ mastersrc = "files/in.txt", workerdest = "in.txt" },
    k.string_download{ s = "text", workerdest = "s.txt" },
    k.master_shell{ command = "echo hi" },)"));
    ASSERT_TRUE(result.config) << all_messages(result);
    const auto& steps = result.config->builders.at(0).steps;
    ASSERT_EQ(steps.size(), 9u);
    const auto& shell = steps[0];
    EXPECT_EQ(shell.name, "build");
    EXPECT_TRUE(shell.halt_on_failure);
    EXPECT_FALSE(shell.flunk_on_failure);
    EXPECT_EQ(*shell.args.at("command").constant_value(), boost::json::parse(R"(["make","-j4"])"));
    EXPECT_EQ(*shell.args.at("decode_rc").constant_value(),
              boost::json::parse(R"({"0":"success","3":"warnings"})"));
    EXPECT_EQ(*shell.args.at("logfiles").constant_value(),
              boost::json::parse(R"({"test":"test.log"})"));
    EXPECT_TRUE(shell.args.at("max_time").constant_value()->is_null());
    auto run = props({{"run", "yes"}});
    EXPECT_EQ(shell.do_step_if.evaluate({}, &run).value(), true);
    auto skip = props({{"run", "no"}});
    EXPECT_EQ(shell.do_step_if.evaluate({}, &skip).value(), false);
    boost::json::value success(0);
    EXPECT_EQ(shell.hide_step_if.evaluate({&success, 1}, &run).value(), true);
    EXPECT_EQ(steps[1].name, "setproperty");
    EXPECT_EQ(steps[2].functions.count("extract_fn"), 1u);
    boost::json::value extract_args[] = {boost::json::value(3), boost::json::value("out"),
                                         boost::json::value("")};
    EXPECT_EQ(steps[2].functions.at("extract_fn").call(extract_args).value(),
              boost::json::parse(R"({"rc":3})"));
    EXPECT_EQ(steps[4].type, "file_upload");
    EXPECT_EQ(steps[8].name, "MasterShellCommand");
}

TEST(LoadMasterConfig, confines_master_paths_to_the_master_directory) {
    MasterDir dir;
    auto result = dir.load(config_with_steps(
        R"(    k.file_upload{ workersrc = "a", masterdest = "../outside.txt" },)"));
    EXPECT_THAT(
        all_messages(result),
        HasSubstr("master.lua:5: 'masterdest' in k.file_upload leaves the master directory"));
}

TEST(Renderables, interpolate_supports_buildbot_forms) {
    struct Case {
        const char* format;
        const char* expected;
    };
    const Case cases[] = {
        {"%(prop:x)s", "ex"},
        {"%(prop:missing)s", ""},
        {"%(prop:missing:-dflt)s", "dflt"},
        {"%(prop:x:-dflt)s", "ex"},
        {"%(prop:empty:-dflt)s", ""},
        {"%(prop:empty:~dflt)s", "dflt"},
        {"%(prop:x:+repl)s", "repl"},
        {"%(prop:missing:+repl)s", ""},
        {"%(prop:x:?|yes|no)s", "yes"},
        {"%(prop:missing:?|yes|no)s", "no"},
        {"%(prop:empty:#?|yes|no)s", "no"},
        {"%(prop:flag)s-%(prop:n)s", "True-3"},
        {"100%% %(prop:missing:-%(prop:x)s)s", "100% ex"},
    };
    auto properties = props({{"x", "ex"}, {"empty", ""}, {"flag", true}, {"n", 3}});
    for (const auto& c : cases) {
        auto renderable = Renderable::interpolate(c.format, {"master.lua", 1});
        ASSERT_TRUE(renderable) << c.format << ": " << renderable.error().message;
        auto rendered = renderable->render(properties);
        ASSERT_TRUE(rendered) << c.format;
        EXPECT_EQ(*rendered, boost::json::value(c.expected)) << c.format;
    }
}

TEST(Renderables, reject_unsupported_interpolations_at_load_time) {
    MasterDir dir;
    auto result =
        dir.load(config_with_steps(R"(    k.shell{ command = k.interpolate("%(src::branch)s") },
    k.shell{ command = k.interpolate("50% done") },)"));
    auto found = all_messages(result);
    EXPECT_THAT(found, HasSubstr("master.lua:5: k.interpolate: '%(src::branch)s': only the 'prop:' "
                                 "namespace is supported"));
    EXPECT_THAT(found, HasSubstr("master.lua:6: k.interpolate: a '%' must start"));
}

TEST(Renderables, property_and_functions_and_lists_render_against_properties) {
    MasterDir dir;
    auto result = dir.load(config_with_steps(R"(
    k.shell{ command = { "make", k.interpolate("-j%(prop:jobs:-1)s"), k.property("target", "all") } },
    k.shell{ command = function(props) return "echo " .. props.branch end },)"));
    ASSERT_TRUE(result.config) << all_messages(result);
    const auto& steps = result.config->builders.at(0).steps;
    EXPECT_FALSE(steps[0].args.at("command").is_constant());
    auto rendered = steps[0].args.at("command").render(props({{"jobs", 8}}));
    ASSERT_TRUE(rendered);
    EXPECT_EQ(*rendered, boost::json::parse(R"(["make","-j8","all"])"));
    auto from_function = steps[1].args.at("command").render(props({{"branch", "main"}}));
    ASSERT_TRUE(from_function) << from_function.error().message;
    EXPECT_EQ(*from_function, boost::json::value("echo main"));
}

TEST(Renderables, a_raising_function_gives_an_error_naming_its_location) {
    MasterDir dir;
    auto result = dir.load(config_with_steps(R"(
    k.shell{ command = function(props)
      error("no branch")
    end },)"));
    ASSERT_TRUE(result.config) << all_messages(result);
    auto rendered = result.config->builders.at(0).steps.at(0).args.at("command").render({});
    ASSERT_FALSE(rendered);
    EXPECT_THAT(rendered.error().message, HasSubstr("function defined at master.lua:6 failed"));
    EXPECT_THAT(rendered.error().message, HasSubstr("master.lua:7: no branch"));
}

TEST(Renderables, a_runaway_function_is_stopped_at_render_time) {
    MasterDir dir;
    LoadOptions options;
    options.limits.call_instructions = 1'000'000;
    auto result = dir.load(config_with_steps(R"(
    k.shell{ command = function(props) while true do end end },)"),
                           options);
    ASSERT_TRUE(result.config) << all_messages(result);
    auto rendered = result.config->builders.at(0).steps.at(0).args.at("command").render({});
    ASSERT_FALSE(rendered);
    EXPECT_THAT(rendered.error().message, HasSubstr("instruction limit exceeded"));
}

TEST(Sandbox, has_no_io_nor_os_execute_nor_dofile) {
    MasterDir dir;
    auto result = dir.load(R"(
assert(io == nil, "io")
assert(os.execute == nil, "os.execute")
assert(os.remove == nil, "os.remove")
assert(dofile == nil and loadfile == nil, "dofile")
assert(debug == nil, "debug")
assert(string.dump == nil, "dump")
assert(type(os.getenv) == "function" and type(os.time) == "function", "os.getenv")
assert(load(string.char(27) .. "Lua") == nil, "binary chunks")
return {}
)");
    EXPECT_TRUE(result.config) << all_messages(result);
}

TEST(Sandbox, an_infinite_loop_fails_instead_of_hanging) {
    MasterDir dir;
    LoadOptions options;
    options.limits.load_instructions = 5'000'000;
    const auto start = std::chrono::steady_clock::now();
    auto result = dir.load("local x = 0\nwhile true do\n  x = x + 1\nend\n", options);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
    ASSERT_EQ(result.errors.size(), 1u);
    EXPECT_THAT(result.errors[0].to_string(), HasSubstr("instruction limit exceeded"));
    EXPECT_EQ(result.errors[0].where.file, "master.lua");
}

TEST(Sandbox, a_loop_catching_the_limit_with_pcall_still_fails) {
    MasterDir dir;
    LoadOptions options;
    options.limits.load_instructions = 2'000'000;
    auto result = dir.load("while true do pcall(function() while true do end end) end\n", options);
    ASSERT_EQ(result.errors.size(), 1u);
    EXPECT_THAT(result.errors[0].message, HasSubstr("instruction limit exceeded"));
}

TEST(Sandbox, memory_is_capped) {
    MasterDir dir;
    LoadOptions options;
    options.limits.memory_bytes = std::size_t{32} << 20;
    auto result =
        dir.load("local t = {}\nfor i = 1, 1e9 do t[i] = string.rep('x', 100) .. i end\n", options);
    ASSERT_EQ(result.errors.size(), 1u);
    EXPECT_THAT(result.errors[0].message, HasSubstr("memory limit of 32 MiB exceeded"));
}

TEST(Sandbox, requires_helper_files_from_the_master_directory) {
    MasterDir dir;
    dir.write("lib/helpers.lua", R"(local k = require "kiln"
local M = {}
function M.make(target)
  return k.shell{ name = target, command = { "make", target } }
end
function M.broken()
  return k.shell{ comand = "x" }
end
return M
)");
    auto result = dir.load(config_with_steps(R"(    require("lib.helpers").make("all"),
    require("lib.helpers").broken(),)"));
    // M.broken's `return k.shell{...}` is a tail call: its line is still the one reported.
    EXPECT_THAT(messages(result),
                ::testing::ElementsAre(
                    "lib/helpers.lua:7: unknown key 'comand' in k.shell (did you mean 'command'?)",
                    "lib/helpers.lua:7: k.shell: 'command' is required"));
    dir.write("lib/helpers.lua", "return {}\n");
    auto fixed = dir.load(
        config_with_steps(R"(    k.shell{ command = require("lib.helpers") and "make" },)"));
    EXPECT_TRUE(fixed.config) << all_messages(fixed);
}

TEST(Sandbox, refuses_require_outside_the_master_directory) {
    MasterDir dir;
    dir.write("../kiln-outside-module.lua", "return {}");
    for (const char* name : {"../kiln-outside-module", "/etc/passwd", "os", "io"}) {
        auto result = dir.load(std::string("local m = require '") + name + "'\nreturn {}\n");
        ASSERT_EQ(result.errors.size(), 1u) << name;
        EXPECT_EQ(result.errors[0].where, (SourceLocation{"master.lua", 1})) << name;
    }
    std::filesystem::remove(dir.path() / "../kiln-outside-module.lua");
    std::filesystem::create_symlink("/etc", dir.path() / "etc");
    auto result = dir.load("local m = require 'etc.passwd'\nreturn {}\n");
    ASSERT_EQ(result.errors.size(), 1u);
    EXPECT_THAT(result.errors[0].message, HasSubstr("outside the master directory"));
}

TEST(Secrets, passwords_never_appear_in_error_messages) {
    MasterDir dir;
    dir.write("secrets/w", "topsecret\n");
    auto result = dir.load(R"(local k = require "kiln"
return {
  workers = {
    k.worker{ name = "bad name!", password = k.secret("w"), max_builds = "hunter2" },
    k.worker{ name = "w2", password = { "hunter2" } },
    k.worker{ name = "w3", password = k.secret("w"), propertys = {} },
  },
  builders = { k.builder{ name = "b", workers = { "w9" }, steps = { k.shell{ command = k.secret("w") } } } },
}
)");
    ASSERT_FALSE(result.errors.empty());
    auto found = all_messages(result);
    EXPECT_THAT(found, ::testing::Not(HasSubstr("topsecret")));
    EXPECT_THAT(found, ::testing::Not(HasSubstr("hunter2")));
    EXPECT_THAT(
        found,
        HasSubstr("'password' in k.worker must be a string or k.secret(\"name\"), got table"));
    EXPECT_THAT(found, HasSubstr("cannot be a k.secret"));
}

TEST(Schedulers, force_parameters_and_other_kinds_load) {
    MasterDir dir;
    auto result = dir.load(R"(local k = require "kiln"
return {
  workers = { k.worker{ name = "w1", password = "pw" } },
  builders = { k.builder{ name = "b", workers = {"w1"} } },
  schedulers = {
    k.force{ name = "f", builders = {"b"}, reason = "because", properties = { p = 1 },
      parameters = {
        k.string_parameter{ name = "s", label = "S", default = "x", regex = "^[a-z]+$", required = true },
        k.int_parameter{ name = "n", default = 3 },
        k.choice_parameter{ name = "c", choices = {"a", "b"}, default = "b" },
        k.choice_parameter{ name = "bad", choices = {"a"}, default = "z" },
      } },
    k.single_branch{ name = "main", branch = "main", tree_stable_timer = 5, builders = {"b"},
                     file_is_important = function(change) return true end },
    k.nightly{ name = "n", builders = {"b"}, hour = 3 },
    k.dependent{ name = "d", upstream = "main", builders = {"b"} },
    k.triggerable{ name = "t", builders = {"b"} },
  },
}
)");
    ASSERT_EQ(result.errors.size(), 1u) << all_messages(result);
    EXPECT_THAT(
        result.errors[0].to_string(),
        HasSubstr("master.lua:11: 'default' in k.choice_parameter must be one of the choices"));
    dir.write("master.lua", "");  // keep the file; fix the bad parameter
    auto fixed = dir.load(R"(local k = require "kiln"
return {
  workers = { k.worker{ name = "w1", password = "pw" } },
  builders = { k.builder{ name = "b", workers = {"w1"} } },
  schedulers = {
    k.force{ name = "f", builders = {"b"}, reason = "because",
      parameters = { k.choice_parameter{ name = "c", choices = {"a", "b"}, default = "b" } } },
    k.single_branch{ name = "main", builders = {"b"},
                     change_filter = function(change) return true end },
  },
}
)");
    ASSERT_TRUE(fixed.config) << all_messages(fixed);
    const auto* force = fixed.config->find_scheduler("f");
    ASSERT_NE(force, nullptr);
    EXPECT_EQ(force->reason, "because");
    EXPECT_EQ(force->parameters.at(0).default_value, boost::json::value("b"));
    const auto* branch = fixed.config->find_scheduler("main");
    EXPECT_FALSE(branch->branch.has_value());
    ASSERT_TRUE(branch->change_filter.has_value());
    EXPECT_TRUE(branch->change_filter->fn.has_value());
}

TEST(Reconfig, identical_files_give_equal_configs_and_a_changed_function_differs) {
    MasterDir dir;
    const std::string base = config_with_steps(R"(
    k.shell{ command = function(props) return "echo " .. suffix end },)");
    auto with = [&](std::string_view prefix) { return std::string(prefix) + base; };
    auto first = dir.load(with("local suffix = 'a'\n"));
    auto second = dir.load(with("local suffix = 'a'\n"));
    auto moved = dir.load(with("\n\nlocal suffix = 'a'\n"));
    auto changed = dir.load(with("local suffix = 'b'\n"));
    ASSERT_TRUE(first.config && second.config && moved.config && changed.config)
        << all_messages(first);
    EXPECT_TRUE(first.config->builders[0] == second.config->builders[0]);
    EXPECT_TRUE(first.config->builders[0] == moved.config->builders[0]);
    EXPECT_FALSE(first.config->builders[0] == changed.config->builders[0]);
    EXPECT_TRUE(first.config->workers[0] == changed.config->workers[0]);
}

}  // namespace
}  // namespace kiln::config
