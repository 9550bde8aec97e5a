// SPDX-License-Identifier: Apache-2.0
// RestApi's implementation, shared by its translation units, one per group of resources:
//   rest_api.cpp        the routes, answering (envelope, errors), visibility, path arguments
//   rest_builders.cpp   builders, masters, workers, schedulers, force schedulers
//   rest_builds.cpp     builds, steps, build properties
//   rest_logs.cpp       logs, log contents and raw downloads (streamed)
//   rest_buildsets.cpp  build requests, buildsets
//   rest_changes.cpp    changes, source stamps
// Private to src/www; no Beast here.
#pragma once

#include "core/expected.hpp"
#include "data/builders.hpp"
#include "data/builds.hpp"
#include "data/buildsets.hpp"
#include "data/masters.hpp"
#include "data/queries.hpp"
#include "data/schedulers.hpp"
#include "data/workers.hpp"
#include "www/path_matcher.hpp"
#include "www/resource_types.hpp"
#include "www/rest_api.hpp"
#include "www/result_spec.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/monotonic_resource.hpp>

namespace kiln::www {

namespace rest {

using Items = std::vector<boost::json::object>;

// What an endpoint found. Collections may already have had the result spec applied by the
// database (is_paged), entities are one item, raw endpoints answer with their own response.
struct Answer {
    Items items;
    bool is_collection = true;
    bool is_paged = false;
    std::int64_t total = 0;
    std::optional<io::HttpResponse> response;
};
using Result = core::Expected<Answer>;

inline core::Error not_found(std::string message = "not found") {
    return core::Error{core::ErrorKind::not_found, std::move(message)};
}

inline Answer entity(boost::json::object item) {
    Answer answer;
    answer.is_collection = false;
    answer.items.push_back(std::move(item));
    return answer;
}

inline Answer collection(Items items) {
    Answer answer;
    answer.items = std::move(items);
    return answer;
}

template <typename T>
Items to_items(const std::vector<T>& entities, const boost::json::storage_ptr& storage) {
    Items items;
    items.reserve(entities.size());
    for (const auto& e : entities) {
        if constexpr (requires { e.to_json(storage); })
            items.push_back(e.to_json(storage));
        else
            items.push_back(e.to_json());
    }
    return items;
}

}  // namespace rest

struct RestApi::Impl {
    template <typename T>
    using awaitable = boost::asio::awaitable<T>;
    using Id = data::Id;
    using Items = rest::Items;
    using Answer = rest::Answer;
    using Result = rest::Result;

    static constexpr std::size_t kArenaBytes = 16 * 1024;
    // One request being answered.
    struct Call {
        PathArgs args;
        ResultSpec spec;
        const ResourceType* type = nullptr;
        Visibility visibility;
        std::optional<std::set<Id>> hidden;  // builder ids the caller may not see
        bool pretty = false;
        bool head = false;
        // Where the answer's JSON is built: one arena per request, freed at once with it
        // (allocating and freeing each value one by one cost a quarter of a builds page's CPU).
        boost::json::storage_ptr storage =
            boost::json::make_shared_resource<boost::json::monotonic_resource>(kArenaBytes);
    };
    using Handler = awaitable<Result> (Impl::*)(Call&);
    struct Route {
        std::string type;  // resource type name
        Handler handler;
        bool is_collection;
    };

    data::Context& context;
    ConfigSource config;
    RestOptions options;
    data::Queries queries{context};
    data::Builds builds{context};
    data::Buildsets buildsets{context};
    data::Builders builders{context};
    data::Masters masters{context};
    data::Schedulers schedulers{context};
    PathMatcher matcher;
    std::vector<Route> routes;
    std::vector<std::string> pattern_texts;

    Impl(data::Context& context_in, ConfigSource config_in, RestOptions options_in)
        : context(context_in)
        , config(std::move(config_in))
        , options(options_in) {
        add_routes();
    }

    void route(std::string_view pattern, std::string type, Handler handler, bool is_collection) {
        matcher.add(pattern);
        pattern_texts.emplace_back(pattern);
        routes.push_back({std::move(type), handler, is_collection});
    }

    void add_routes();

    // ---- answering (rest_api.cpp) -------------------------------------------------------
    awaitable<io::HttpResponse> answer(std::string path, std::string query, bool pretty, bool head,
                                       Visibility visibility);
    io::HttpResponse envelope(const Route& route, Answer& answer, const Call& call) const;

    // ---- visibility ---------------------------------------------------------------------
    awaitable<void> ensure_hidden(Call& call);
    awaitable<bool> is_hidden(Call& call, Id builderid);
    awaitable<void> add_hidden_filter(Call& call, data::Query& query);

    // ---- resolution of path arguments ---------------------------------------------------
    awaitable<std::optional<Id>> resolve_builderid(Call& call);
    awaitable<std::optional<data::Build>> resolve_build(Call& call);
    awaitable<std::optional<data::Step>> resolve_step(Call& call);
    awaitable<std::optional<data::Log>> resolve_log(Call& call);

    // Builds (and build requests, buildsets, source stamps) are read from SQL with the result
    // spec pushed down (answer() has already capped the limit).
    data::Query sql_query(const Call& call) const;

    template <typename T>
    core::Expected<void> check_read(const data::QueryResult<T>& result) const {
        if (!result.is_over_limit) return {};
        return core::Error{core::ErrorKind::bad_input,
                           "this filter or order is applied in memory and matches more than " +
                               std::to_string(options.max_unpaged_items) +
                               " items: add filters the database can apply"};
    }

    static Items property_list(const core::Properties& properties);

    // ---- handlers: the API's root, and what Kiln does not record yet (rest_api.cpp) -------
    awaitable<Result> root(Call&);
    awaitable<Result> application_spec(Call&);
    // Resources Kiln does not record yet: empty collections, unknown entities.
    // TODO(#4): change sources; test results and build data.
    awaitable<Result> empty_collection(Call&);
    awaitable<Result> no_entity(Call&);
    awaitable<Result> logchunks_root(Call&);

    // ---- builders, masters, workers, schedulers (rest_builders.cpp) ---------------------
    awaitable<Items> visible_builders(Call& call);
    awaitable<std::vector<data::Builder>> builders_list();
    awaitable<Result> builders_collection(Call& call);
    awaitable<Result> builder_entity(Call& call);
    awaitable<Result> masters_collection(Call& call);
    awaitable<Result> master_entity(Call& call);
    awaitable<std::vector<data::Worker>> scoped_workers(Call& call);
    awaitable<Result> workers_collection(Call& call);
    awaitable<Result> worker_entity(Call& call);
    awaitable<Items> visible_force_schedulers(Call& call);
    awaitable<Result> forceschedulers_collection(Call& call);
    awaitable<Result> forcescheduler_entity(Call& call);
    // Schedulers: every one configured (force schedulers too), `master` the one running it.
    awaitable<Result> schedulers_collection(Call& call);
    awaitable<Result> scheduler_entity(Call& call);

    // ---- builds, steps, build properties (rest_builds.cpp) -------------------------------
    awaitable<void> attach_build_properties(Call& call, Items& items);
    awaitable<Result> paged_builds(Call& call, data::Query query);
    awaitable<Result> builds_collection(Call& call);
    awaitable<Result> build_entity(Call& call);
    awaitable<Result> steps_collection(Call& call);
    awaitable<Result> step_entity(Call& call);
    awaitable<Result> build_properties(Call& call);
    awaitable<Result> build_property_list(Call& call);

    // ---- logs (rest_logs.cpp) -------------------------------------------------------------
    awaitable<Result> logs_collection(Call& call);
    awaitable<Result> log_entity(Call& call);
    awaitable<Result> log_contents(Call& call);
    awaitable<Result> log_raw(Call& call);

    // ---- build requests, buildsets (rest_buildsets.cpp) ----------------------------------
    awaitable<std::optional<data::Buildset>> visible_buildset(Call& call, Id bsid);
    awaitable<Result> buildset_properties(Call& call);
    awaitable<Result> buildset_property_list(Call& call);
    awaitable<Result> buildrequests_collection(Call& call);
    awaitable<void> attach_request_properties(Call& call, Items& items);
    awaitable<Result> buildrequest_entity(Call& call);
    awaitable<Result> buildsets_collection(Call& call);
    awaitable<Result> buildset_entity(Call& call);

    // ---- changes, source stamps (rest_changes.cpp) ---------------------------------------
    // Changes are not tied to a builder: every caller who may read the API sees them.
    // Kiln answers /changes in the order asked for (no order: newest first); Buildbot 3.7
    // reverses what its SQL returned (docs/compatibility.md).
    awaitable<Result> changes_collection(Call& call);
    awaitable<Result> change_entity(Call& call);
    awaitable<Result> build_changes(Call& call);
    awaitable<Result> sourcestamp_changes(Call& call);
    // Buildbot 3.7 answers 500 here (a missing database method); Kiln lists the properties.
    awaitable<Result> change_property_list(Call& call);
    awaitable<Result> sourcestamps_collection(Call& call);
    awaitable<Result> sourcestamp_entity(Call& call);
};

}  // namespace kiln::www
