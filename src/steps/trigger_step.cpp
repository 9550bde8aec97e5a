// SPDX-License-Identifier: Apache-2.0
#include "steps/trigger_step.hpp"

#include "process/trigger_services.hpp"

#include <array>

#include <spdlog/spdlog.h>

namespace kiln::steps {

namespace asio = boost::asio;
using core::Results;

namespace {

constexpr std::string_view kInterrupted = "parent build was interrupted";

std::vector<std::string> strings(const boost::json::value* value) {
    std::vector<std::string> list;
    if (const auto* array = value ? value->if_array() : nullptr)
        for (const auto& element : *array)
            if (element.is_string()) list.emplace_back(element.get_string());
    return list;
}

std::string join(const std::vector<std::string>& names) {
    std::string text;
    for (const auto& name : names)
        text += (text.empty() ? "" : ", ") + name;
    return text;
}

// Buildbot's statusToString with a count: "1 success", "2 successes".
std::string counted(Results result, std::size_t count) {
    static constexpr std::array<std::string_view, 7> kPlural = {
        "successes", "warnings", "failures", "skipped", "exceptions", "retries", "cancelled"};
    if (count == 1) return "1 " + std::string(core::to_string(result));
    return std::to_string(count) + " " + std::string(kPlural.at(static_cast<std::size_t>(result)));
}

// The build's sourcestamps for the children: got_revision (a string, or a table by codebase)
// replaces the revision when update_source_stamp is on.
std::vector<data::SourceStampSpec> stamps_for_children(std::vector<data::SourceStamp> stamps,
                                                       const core::Properties& properties,
                                                       bool update_source_stamp) {
    std::vector<data::SourceStampSpec> specs;
    const auto& got = properties.value_or_null("got_revision");
    for (auto& stamp : stamps) {
        data::SourceStampSpec spec{stamp.branch, stamp.revision, stamp.repository, stamp.project,
                                   stamp.codebase};
        if (update_source_stamp) {
            if (got.is_string() && stamp.codebase.empty())
                spec.revision = std::string(got.get_string());
            else if (const auto* by_codebase = got.if_object())
                if (const auto* revision = by_codebase->if_contains(stamp.codebase);
                    revision && revision->is_string())
                    spec.revision = std::string(revision->get_string());
        }
        specs.push_back(std::move(spec));
    }
    return specs;
}

}  // namespace

std::string trigger_summary(const std::vector<std::string>& names,
                            const std::vector<Results>& results) {
    std::string summary = "triggered " + join(names);
    for (int code = 0; code <= static_cast<int>(Results::cancelled); ++code) {
        const auto result = static_cast<Results>(code);
        const auto count =
            static_cast<std::size_t>(std::count(results.begin(), results.end(), result));
        if (count > 0) summary += ", " + counted(result, count);
    }
    return summary;
}

TriggerStep::TriggerStep(process::StepOptions options, StepArgs::Map args)
    : BuildStep(std::move(options))
    , args_(std::move(args)) {}

std::string TriggerStep::description(const core::Properties& properties) const {
    if (auto custom = args_.find("description"); custom != args_.end())
        if (auto text = custom->second.render(properties); text && text->is_string())
            return std::string(text->get_string());
    auto names = args_.find("scheduler_names");
    if (names != args_.end())
        if (const auto* constant = names->second.constant_value())
            return "triggering " + join(strings(constant));
    return "triggering";
}

asio::awaitable<process::StepOutcome> TriggerStep::run(process::StepContext& context) {
    auto* services = context.triggers();
    if (!services) throw std::runtime_error("this master cannot trigger schedulers");
    const StepArgs args{options().name, args_, context.properties()};
    const auto names = strings(args.find("scheduler_names"));
    const bool wait = args.boolean_or("wait_for_finish", false);
    const bool latest = args.boolean_or("always_use_latest", false);
    const bool update = args.boolean_or("update_source_stamp", !latest);

    process::TriggerRequest request;
    request.waited_for = wait;
    request.parent_buildid = context.build_id();
    request.parent_relationship = args.string_or("parent_relationship", "Triggered from");
    if (const auto* set = args.find("set_properties"); set && set->is_object())
        for (const auto& [name, value] : set->get_object())
            request.properties.set(name, value, "Trigger");
    for (const auto& name : strings(args.find("copy_properties")))
        if (const auto* property = context.properties().find(name))
            request.properties.set(name, property->value, "Trigger");
    if (!latest) {
        auto stamps = co_await context.sourcestamps();
        request.sourcestamps = stamps_for_children(std::move(stamps), context.properties(), update);
    }

    auto results = Results::success;
    std::vector<std::string> triggered;
    std::vector<data::Id> bsids;
    std::string errors;
    for (const auto& name : names) {
        auto copy = request;
        auto added = co_await services->trigger(name, std::move(copy));
        if (!added) {
            errors += "cannot trigger '" + name + "': " + added.error().message + "\n";
            results = core::worst(results, Results::exception);
            continue;
        }
        std::vector<data::Id> new_brids;
        for (const auto& [builderid, brid] : added->request_by_builder)
            new_brids.push_back(brid);
        brids_.insert(brids_.end(), new_brids.begin(), new_brids.end());
        if (is_interrupted_) {
            // Stopped while this buildset was being made: it is cancelled too.
            co_await cancel(*services, std::move(new_brids));
            co_return process::StepOutcome{Results::cancelled, "interrupted"};
        }
        bsids.push_back(added->bsid);
        triggered.push_back(name);
        for (auto brid : new_brids)
            co_await context.add_url(name + " #" + std::to_string(brid),
                                     services->url() + "#/buildrequests/" + std::to_string(brid));
    }
    if (!errors.empty()) {
        auto log = co_await context.add_log("err.text", "t");
        co_await context.finish_log(log.logid, errors);
    }
    if (!triggered.empty()) co_await context.set_state_string("triggered " + join(triggered));
    if (!wait) co_return process::StepOutcome{results, trigger_summary(triggered, {})};

    for (auto bsid : bsids) {
        auto buildset = co_await services->wait_complete(bsid);
        results = core::worst(results, static_cast<Results>(buildset.results));
    }
    if (is_interrupted_) co_return process::StepOutcome{Results::cancelled, "interrupted"};
    std::vector<Results> child_results;
    for (auto brid : brids_) {
        auto builds = co_await services->builds_of_request(brid);
        for (const auto& build : builds) {
            const auto build_results = static_cast<Results>(build.results.value_or(0));
            child_results.push_back(build_results);
            const auto builder = services->builder_name(build.builderid);
            co_await context.add_url(std::string(core::to_string(build_results)) + ": " + builder +
                                         " #" + std::to_string(build.number),
                                     services->url() + "#/builders/" +
                                         std::to_string(build.builderid) + "/builds/" +
                                         std::to_string(build.number));
        }
    }
    co_return process::StepOutcome{results, trigger_summary(triggered, child_results)};
}

asio::awaitable<void> TriggerStep::interrupt(process::StepContext& context, std::string reason) {
    is_interrupted_ = true;
    auto* services = context.triggers();
    if (!services) co_return;
    spdlog::info("trigger step interrupted ({}): cancelling {} build request(s)", reason,
                 brids_.size());
    auto brids = brids_;  // run() may add to brids_ meanwhile
    co_await cancel(*services, std::move(brids));
}

asio::awaitable<void> TriggerStep::cancel(process::TriggerServices& services,
                                          std::vector<data::Id> brids) {
    for (auto brid : brids)
        co_await services.cancel_request(brid, std::string(kInterrupted));
}

}  // namespace kiln::steps
