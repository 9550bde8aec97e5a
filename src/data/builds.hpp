// SPDX-License-Identifier: Apache-2.0
// Builds, their properties, steps and logs: everything a running build writes.
#pragma once

#include "data/context.hpp"

#include <boost/asio/awaitable.hpp>

namespace kiln::data {

class Builds {
public:
    explicit Builds(Context& context)
        : context_(context) {}

    // Creates the build (number = the builder's highest + 1) with its initial properties
    // (buildnumber included) and announces builds/N/new and properties/update.
    boost::asio::awaitable<Build> add(Id builderid, Id buildrequestid, Id workerid, Id masterid,
                                      core::Properties properties, std::string state_string);
    boost::asio::awaitable<Build> set_state_string(Id buildid, std::string state_string);
    // Stores the given (changed) properties; announces builds/N/properties/update.
    boost::asio::awaitable<void> set_properties(Id buildid, core::Properties changed);
    boost::asio::awaitable<Build> finish(Id buildid, int results);
    // set_state_string then finish in one transaction (events "update", "finished").
    boost::asio::awaitable<Build> finish(Id buildid, std::string state_string, int results);
    boost::asio::awaitable<std::optional<Build>> get(Id buildid);
    boost::asio::awaitable<core::Properties> properties(Id buildid);
    // Durations (seconds) of the builder's last successful builds, newest first.
    boost::asio::awaitable<std::vector<std::int64_t>> recent_durations(Id builderid, int count);

    // Steps.
    // Adds a step named name (made unique in the build with _2, _3...), state "pending".
    boost::asio::awaitable<Step> add_step(Id buildid, std::string name);
    boost::asio::awaitable<Step> start_step(Id stepid);
    boost::asio::awaitable<Step> set_step_state_string(Id stepid, std::string state_string);
    boost::asio::awaitable<Step> add_step_url(Id stepid, std::string name, std::string url);
    boost::asio::awaitable<Step> finish_step(Id stepid, int results, bool hidden);
    // add_step, start_step and (when given) set_step_state_string in one transaction, with
    // their events in that order: a build's step bookkeeping is most of its transactions.
    boost::asio::awaitable<Step> add_started_step(Id buildid, std::string name,
                                                  std::optional<std::string> state_string);
    // set_step_state_string then finish_step in one transaction (events "updated", "finished").
    boost::asio::awaitable<Step> finish_step(Id stepid, std::string state_string, int results,
                                             bool hidden);
    boost::asio::awaitable<std::optional<Step>> get_step(Id stepid);
    boost::asio::awaitable<std::vector<Step>> steps(Id buildid);

    // Logs.
    // type: "s" stdio, "t" text, "h" html. The slug is made unique within the step.
    boost::asio::awaitable<Log> add_log(Id stepid, std::string name, std::string type);
    // Appends whole lines (text ends with '\n'); stored before this returns, then announced.
    // expected_first_line makes a retried append idempotent.
    boost::asio::awaitable<Log> append_log(Id logid, std::string text,
                                           std::optional<std::int64_t> expected_first_line = {});
    boost::asio::awaitable<Log> finish_log(Id logid);
    // append_log(last_lines) (when not empty) then finish_log in one transaction.
    boost::asio::awaitable<Log> finish_log(Id logid, std::string last_lines);
    boost::asio::awaitable<std::optional<Log>> get_log(Id logid);
    boost::asio::awaitable<std::vector<Log>> logs(Id stepid);
    // Lines first..last (inclusive) of a log, each ending in '\n'.
    boost::asio::awaitable<std::string> log_lines(Id logid, std::int64_t first, std::int64_t last);

private:
    Context& context_;
};

std::optional<Build> read_build(db::Connection& c, Id buildid);
std::optional<Step> read_step(db::Connection& c, Id stepid);
std::optional<Log> read_log(db::Connection& c, Id logid);

}  // namespace kiln::data
