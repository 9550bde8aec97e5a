// SPDX-License-Identifier: Apache-2.0
// k.git_poller{...} parsed into GitPollerConfig, with Buildbot's GitPoller options and
// defaults (3.7), and its equality for reconfig.
#include "config/detail/parse.hpp"

#include <lua.hpp>

namespace kiln::config {
namespace detail {

std::optional<GitPollerConfig> parse_git_poller(Reader& reader, const KilnObject& object) {
    if (!check_table_argument(reader, object)) return std::nullopt;
    Fields fields{reader,
                  object.args,
                  "k.git_poller",
                  object.where,
                  {"name", "repourl", "branches", "branch", "only_tags", "pollinterval", "workdir",
                   "project", "category", "poll_at_launch", "usetimestamps", "gitbin"}};
    const auto errors_before = reader.error_count();
    GitPollerConfig poller;
    poller.where = object.where;
    poller.repourl = fields.string("repourl", true).value_or("");
    if (fields.has("repourl") && poller.repourl.empty())
        fields.invalid("repourl", "must not be empty");
    if (!poller.repourl.empty() && poller.repourl.front() == '-')
        fields.invalid("repourl", "must not start with '-'");
    poller.name = fields.string("name").value_or(poller.repourl);
    poller.only_tags = fields.boolean("only_tags").value_or(false);
    poller.pollinterval = fields.integer("pollinterval", 1, 7 * 24 * 3600).value_or(600);
    poller.workdir = fields.string("workdir").value_or("gitpoller-work");
    if (poller.workdir.empty()) fields.invalid("workdir", "must not be empty");
    poller.project = fields.string("project").value_or("");
    poller.category = fields.string("category").value_or("");
    poller.poll_at_launch = fields.boolean("poll_at_launch").value_or(false);
    poller.usetimestamps = fields.boolean("usetimestamps").value_or(true);
    poller.gitbin = fields.string("gitbin").value_or("git");
    if (poller.gitbin.empty()) fields.invalid("gitbin", "must not be empty");

    auto branch = fields.string("branch");
    lua_State* state = reader.state();
    {
        StackGuard guard{state};
        fields.push("branches");
        const int index = lua_gettop(state);
        const std::string expected =
            "a list of branch names, \"all\", true, or a function(ref) -> boolean";
        if (lua_isnil(state, index)) {
            if (branch) poller.branches = {*branch};
        } else if (branch) {
            fields.invalid("branch", "and 'branches' cannot both be given");
        } else if (lua_type(state, index) == LUA_TBOOLEAN) {
            if (lua_toboolean(state, index))
                poller.all_branches = true;
            else
                fields.wrong_type("branches", expected, index);
        } else if (lua_type(state, index) == LUA_TSTRING) {
            if (std::string_view(lua_tostring(state, index)) == "all")
                poller.all_branches = true;
            else
                fields.invalid("branches", "must be " + expected +
                                               " (a single branch is written {\"" +
                                               lua_tostring(state, index) + "\"})");
        } else if (lua_type(state, index) == LUA_TFUNCTION) {
            poller.branch_filter = reader.callable(index);
        } else if (auto list = fields.string_list("branches")) {
            if (list->empty()) fields.invalid("branches", "must not be an empty list");
            poller.branches = std::move(*list);
        }
    }
    if (poller.only_tags && (fields.has("branches") || branch))
        fields.invalid("only_tags", "and 'branches' cannot both be given");
    if (reader.error_count() != errors_before) return std::nullopt;
    return poller;
}

}  // namespace detail

bool operator==(const GitPollerConfig& a, const GitPollerConfig& b) {
    return a.name == b.name && a.repourl == b.repourl && a.branches == b.branches &&
           a.all_branches == b.all_branches && a.branch_filter == b.branch_filter &&
           a.only_tags == b.only_tags && a.pollinterval == b.pollinterval &&
           a.workdir == b.workdir && a.project == b.project && a.category == b.category &&
           a.poll_at_launch == b.poll_at_launch && a.usetimestamps == b.usetimestamps &&
           a.gitbin == b.gitbin;
}

}  // namespace kiln::config
