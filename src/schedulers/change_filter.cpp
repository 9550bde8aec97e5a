// SPDX-License-Identifier: Apache-2.0
#include "schedulers/change_filter.hpp"

#include <algorithm>
#include <array>
#include <regex>

namespace kiln::schedulers {

namespace {

// The change's text field; nullopt when it is null (no branch, no category).
std::optional<std::string> text_field(const boost::json::object& change, std::string_view name) {
    const auto* value = change.if_contains(name);
    if (!value || !value->is_string()) return std::nullopt;
    return std::string(value->get_string());
}

bool is_one_of(const std::optional<std::string>& value, const std::vector<std::string>& values) {
    return value && std::find(values.begin(), values.end(), *value) != values.end();
}

// Python's re.match: the pattern must match at the start, not necessarily to the end.
bool matches_start(const std::optional<std::string>& value,
                   const std::vector<std::string>& regexes) {
    if (!value) return false;
    return std::any_of(regexes.begin(), regexes.end(), [&](const std::string& regex) {
        return std::regex_search(*value, std::regex(regex), std::regex_constants::match_continuous);
    });
}

bool truthy(const boost::json::value& value) {
    return !(value.is_null() || (value.is_bool() && !value.get_bool()));
}

core::Expected<bool> call_predicate(const config::Callable& function,
                                    const boost::json::object& change) {
    const std::array<boost::json::value, 1> arguments{boost::json::value(change)};
    auto result = function.call(arguments);
    if (!result) return result.error();
    return truthy(*result);
}

}  // namespace

core::Expected<bool> passes(const config::ChangeFilterConfig& filter,
                            const boost::json::object& change) {
    if (filter.fn) {
        auto accepted = call_predicate(*filter.fn, change);
        if (!accepted || !*accepted) return accepted;
    }
    struct Criterion {
        std::string_view field;
        const std::vector<std::string>& exact;
        const std::vector<std::string>& regexes;
    };
    const std::array<Criterion, 5> criteria{{
        {"project", filter.project, filter.project_re},
        {"repository", filter.repository, filter.repository_re},
        {"branch", filter.branch, filter.branch_re},
        {"category", filter.category, filter.category_re},
        {"codebase", filter.codebase, filter.codebase_re},
    }};
    for (const auto& criterion : criteria) {
        const auto value = text_field(change, criterion.field);
        if (!criterion.exact.empty() && !is_one_of(value, criterion.exact)) return false;
        if (!criterion.regexes.empty() && !matches_start(value, criterion.regexes)) return false;
    }
    return true;
}

core::Expected<Classification> classify(const config::SchedulerConfig& scheduler,
                                        const boost::json::object& change) {
    if (scheduler.change_filter) {
        auto accepted = passes(*scheduler.change_filter, change);
        if (!accepted) return accepted.error();
        if (!*accepted) return Classification::ignored;
    }
    const auto branch = text_field(change, "branch");
    // single_branch folds its branch into the filter; the timed schedulers check it after.
    if (scheduler.branch && branch != scheduler.branch) return Classification::ignored;
    if (!scheduler.branches.empty() && !is_one_of(branch, scheduler.branches))
        return Classification::ignored;
    const auto codebase = text_field(change, "codebase").value_or("");
    const bool is_known =
        scheduler.codebases.empty()
            ? codebase.empty()
            : std::any_of(scheduler.codebases.begin(), scheduler.codebases.end(),
                          [&](const auto& known) { return known.name == codebase; });
    if (!is_known) return Classification::ignored;
    if (!scheduler.file_is_important) return Classification::important;
    auto important = call_predicate(*scheduler.file_is_important, change);
    if (!important) return important.error();
    if (*important) return Classification::important;
    return scheduler.only_important ? Classification::ignored : Classification::unimportant;
}

}  // namespace kiln::schedulers
