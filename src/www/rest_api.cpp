// SPDX-License-Identifier: Apache-2.0
#include "www/rest_api.hpp"

#include "data/builders.hpp"
#include "data/builds.hpp"
#include "data/buildsets.hpp"
#include "data/masters.hpp"
#include "data/queries.hpp"
#include "data/schedulers.hpp"
#include "data/workers.hpp"
#include "www/force_form.hpp"
#include "www/json_output.hpp"
#include "www/path_matcher.hpp"
#include "www/resource_types.hpp"
#include "www/result_spec.hpp"

#include <algorithm>
#include <set>

#include <boost/json/array.hpp>
#include <boost/json/monotonic_resource.hpp>

#include <spdlog/spdlog.h>

namespace kiln::www {

namespace asio = boost::asio;
using data::Id;
using Items = std::vector<boost::json::object>;

namespace {

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

core::Error not_found(std::string message = "not found") {
    return core::Error{core::ErrorKind::not_found, std::move(message)};
}

Answer entity(boost::json::object item) {
    Answer answer;
    answer.is_collection = false;
    answer.items.push_back(std::move(item));
    return answer;
}

Answer collection(Items items) {
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

FieldType integer_type() {
    FieldType type;
    type.kind = FieldKind::integer;
    return type;
}

// A log contents answer being streamed: the envelope's head, the content one stored chunk
// at a time (cut at the requested last line), then the other keys.
struct ContentsStream {
    data::Queries* queries;
    Id logid;
    std::int64_t next;
    std::int64_t last;
    int stage = 0;
    bool wants_content;
    bool pretty;
    std::string tail_text;
};

asio::awaitable<std::optional<std::string>>
next_contents_piece(std::shared_ptr<ContentsStream> state) {
    auto& s = *state;
    const char* indent = s.pretty ? "\n    " : "";
    if (s.stage == 0) {
        s.stage = 1;
        std::string head = s.pretty ? "{\n  \"logchunks\": [\n    {" : "{\"logchunks\":[{";
        if (s.wants_content)
            head += s.pretty ? std::string(indent) + "  \"content\": \"" : "\"content\":\"";
        co_return head;
    }
    if (s.stage == 1) {
        if (s.wants_content && s.next <= s.last) {
            auto piece = co_await s.queries->log_piece(s.logid, s.next);
            if (piece && !piece->text.empty()) {
                // Cut the piece at the requested last line.
                std::string_view text = piece->text;
                auto lines = piece->next_line - s.next;
                if (piece->next_line - 1 > s.last) {
                    std::size_t keep = 0;
                    for (std::int64_t n = 0; n < s.last - s.next + 1; ++n)
                        keep = text.find('\n', keep) + 1;
                    text = text.substr(0, keep);
                    lines = s.last - s.next + 1;
                }
                s.next += lines;
                std::string quoted = to_sorted_json(boost::json::value(text));
                co_return quoted.substr(1, quoted.size() - 2);
            }
        }
        s.stage = 2;
        // Close the content string, then the other keys of the object.
        std::string rest = s.wants_content ? "\"" : "";
        std::string inner = s.tail_text.substr(1, s.tail_text.size() - 2);  // without { }
        if (s.pretty) {
            // The pretty tail is "{\n  \"firstline\": 0,\n  \"logid\": 8\n}": re-indent.
            std::string reindented;
            for (char c : inner) {
                reindented += c;
                if (c == '\n') reindented += "    ";
            }
            inner = reindented;
            while (!inner.empty() && (inner.back() == ' ' || inner.back() == '\n'))
                inner.pop_back();
            if (!inner.empty()) rest += s.wants_content ? "," + inner : inner;
            rest += "\n    }\n  ],\n  \"meta\": {}\n}";
        } else {
            if (!inner.empty()) rest += s.wants_content ? "," + inner : inner;
            rest += "}],\"meta\":{}}";
        }
        co_return rest;
    }
    co_return std::nullopt;
}

// A raw log download being streamed, one stored chunk at a time.
struct RawStream {
    data::Queries* queries;
    Id logid;
    std::int64_t next = 0;
    bool is_stdio;
    bool wrote_line = false;
};

asio::awaitable<std::optional<std::string>> next_raw_piece(std::shared_ptr<RawStream> state) {
    auto& s = *state;
    auto piece = co_await s.queries->log_piece(s.logid, s.next);
    if (!piece || piece->text.empty()) co_return std::nullopt;
    s.next = piece->next_line;
    if (!s.is_stdio) co_return std::move(piece->text);
    // stdio logs: drop each line's stream tag, join with '\n', no final newline.
    std::string out;
    out.reserve(piece->text.size());
    std::string_view text = piece->text;
    while (!text.empty()) {
        auto end = text.find('\n');
        auto line = text.substr(0, end);
        if (s.wrote_line) out += '\n';
        s.wrote_line = true;
        if (!line.empty()) out.append(line.substr(1));
        text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    }
    co_return out;
}

}  // namespace

struct RestApi::Impl {
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
    using Handler = asio::awaitable<Result> (Impl::*)(Call&);
    static constexpr std::size_t kArenaBytes = 16 * 1024;
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

    // ---- visibility -------------------------------------------------------------------
    asio::awaitable<void> ensure_hidden(Call& call) {
        if (!call.hidden) {
            call.hidden.emplace();
            if (call.visibility.is_restricted()) {
                auto names = co_await queries.builder_names();
                for (const auto& [id, name] : names)
                    if (!call.visibility.may_view_builder(name)) call.hidden->insert(id);
            }
        }
    }

    asio::awaitable<bool> is_hidden(Call& call, Id builderid) {
        co_await ensure_hidden(call);
        const auto& hidden = *call.hidden;
        co_return hidden.count(builderid) != 0;
    }

    // ---- resolution of path arguments ---------------------------------------------------
    asio::awaitable<std::optional<Id>> resolve_builderid(Call& call) {
        std::optional<Id> builderid = call.args.integer("builderid");
        if (!builderid) {
            if (auto name = call.args.text("buildername")) {
                auto builder = co_await builders.find(*name);
                if (builder) builderid = builder->builderid;
            } else if (auto text = call.args.text("builderid")) {
                // builders/:builderid/forceschedulers takes any text: a number or a name.
                auto builder = co_await builders.find(*text);
                if (builder)
                    builderid = builder->builderid;
                else if (auto parsed = convert_filter_value(integer_type(), *text))
                    builderid = parsed->as_int64();
            }
        }
        if (builderid && co_await is_hidden(call, *builderid)) co_return std::nullopt;
        co_return builderid;
    }

    asio::awaitable<std::optional<data::Build>> resolve_build(Call& call) {
        std::optional<data::Build> build;
        if (auto buildid = call.args.integer("buildid")) {
            build = co_await builds.get(*buildid);
        } else {
            auto number = call.args.integer("build_number");
            if (!number) number = call.args.integer("number");
            auto builderid = co_await resolve_builderid(call);
            if (!number || !builderid) co_return std::nullopt;
            build = co_await queries.build_by_number(*builderid, static_cast<int>(*number));
        }
        if (build && co_await is_hidden(call, build->builderid)) co_return std::nullopt;
        co_return build;
    }

    asio::awaitable<std::optional<data::Step>> resolve_step(Call& call) {
        if (auto stepid = call.args.integer("stepid")) {
            auto step = co_await builds.get_step(*stepid);
            if (!step) co_return std::nullopt;
            auto builderid = co_await queries.builder_of_step(*stepid);
            if (!builderid || co_await is_hidden(call, *builderid)) co_return std::nullopt;
            co_return step;
        }
        auto build = co_await resolve_build(call);
        if (!build) co_return std::nullopt;
        auto steps = co_await builds.steps(build->buildid);
        auto name = call.args.text("step_name");
        auto number = call.args.integer("step_number");
        for (auto& step : steps)
            if ((name && step.name == *name) || (number && step.number == *number))
                co_return std::move(step);
        co_return std::nullopt;
    }

    asio::awaitable<std::optional<data::Log>> resolve_log(Call& call) {
        if (auto logid = call.args.integer("logid")) {
            auto log = co_await builds.get_log(*logid);
            if (!log) co_return std::nullopt;
            auto builderid = co_await queries.builder_of_step(log->stepid);
            if (!builderid || co_await is_hidden(call, *builderid)) co_return std::nullopt;
            co_return log;
        }
        auto step = co_await resolve_step(call);
        if (!step) co_return std::nullopt;
        auto slug = call.args.text("log_slug");
        auto logs = co_await builds.logs(step->stepid);
        for (auto& log : logs)
            if (slug && log.slug == *slug) co_return std::move(log);
        co_return std::nullopt;
    }

    // ---- handlers ----------------------------------------------------------------------
    asio::awaitable<Result> root(Call&) {
        Items items;
        for (const char* name :
             {"builders", "builds", "buildrequests", "workers", "logchunks", "buildsets", "changes",
              "changesources", "masters", "sourcestamps", "schedulers", "forceschedulers"}) {
            boost::json::object link;
            link["name"] = name;
            items.push_back(std::move(link));
        }
        co_return collection(std::move(items));
    }

    asio::awaitable<Result> application_spec(Call&) {
        Items items;
        for (std::size_t i = 0; i < routes.size(); ++i) {
            const auto& type = resource_type(routes[i].type);
            boost::json::object spec;
            spec["path"] = pattern_texts[i];
            spec["plural"] = type.plural;
            spec["type"] = type.name;
            spec["type_spec"] = type.type_spec();
            items.push_back(std::move(spec));
        }
        co_return collection(std::move(items));
    }

    asio::awaitable<Items> visible_builders(Call& call) {
        auto all = co_await builders_list();
        co_await ensure_hidden(call);
        const auto& hidden = *call.hidden;
        Items items;
        for (const auto& builder : all)
            if (!hidden.count(builder.builderid)) items.push_back(builder.to_json(call.storage));
        co_return items;
    }

    asio::awaitable<std::vector<data::Builder>> builders_list() {
        co_return co_await queries.builders();
    }

    asio::awaitable<Result> builders_collection(Call& call) {
        auto items = co_await visible_builders(call);
        if (auto masterid = call.args.integer("masterid")) {
            std::erase_if(items, [&](const boost::json::object& item) {
                const auto& ids = item.at("masterids").as_array();
                return std::find(ids.begin(), ids.end(), boost::json::value(*masterid)) ==
                       ids.end();
            });
        }
        co_return collection(std::move(items));
    }

    asio::awaitable<Result> builder_entity(Call& call) {
        auto builderid = co_await resolve_builderid(call);
        if (!builderid) co_return not_found();
        auto builder = co_await builders.get(*builderid);
        if (!builder) co_return not_found();
        if (auto masterid = call.args.integer("masterid")) {
            if (std::find(builder->masterids.begin(), builder->masterids.end(), *masterid) ==
                builder->masterids.end())
                co_return not_found();
        }
        co_return entity(builder->to_json());
    }

    // Builds (and build requests, buildsets, source stamps) are read from SQL with the result
    // spec pushed down (answer() has already capped the limit).
    data::Query sql_query(const Call& call) const {
        auto query = call.spec.to_query();
        query.max_unpaged_rows = options.max_unpaged_items;
        return query;
    }

    template <typename T>
    core::Expected<void> check_read(const data::QueryResult<T>& result) const {
        if (!result.is_over_limit) return {};
        return core::Error{core::ErrorKind::bad_input,
                           "this filter or order is applied in memory and matches more than " +
                               std::to_string(options.max_unpaged_items) +
                               " items: add filters the database can apply"};
    }

    asio::awaitable<void> add_hidden_filter(Call& call, data::Query& query) {
        co_await ensure_hidden(call);
        const auto& hidden = *call.hidden;
        if (hidden.empty()) co_return;
        data::Filter filter{"builderid", data::FilterOp::notin, {}};
        for (auto id : hidden)
            filter.values.emplace_back(id);
        query.filters.push_back(std::move(filter));
    }

    asio::awaitable<void> attach_build_properties(Call& call, Items& items) {
        for (auto& item : items)
            item["properties"] = boost::json::object{};
        if (!call.spec.wants_properties() || items.empty()) co_return;
        std::vector<Id> ids;
        for (const auto& item : items)
            ids.push_back(item.at("buildid").as_int64());
        auto properties = co_await queries.build_properties(ids, call.spec.property_names());
        for (auto& item : items)
            item["properties"] = properties[item.at("buildid").as_int64()].to_api();
    }

    asio::awaitable<Result> paged_builds(Call& call, data::Query query) {
        co_await add_hidden_filter(call, query);
        auto result = co_await queries.builds(std::move(query));
        if (auto checked = check_read(result); !checked) co_return checked.error();
        Answer answer = collection(to_items(result.items, call.storage));
        answer.is_paged = result.is_complete;
        answer.total = result.total;
        co_return answer;
    }

    asio::awaitable<Result> builds_collection(Call& call) {
        auto query = sql_query(call);
        auto scope = [&](const char* field, Id id) {
            query.filters.push_back({field, data::FilterOp::eq, {boost::json::value(id)}});
        };
        if (call.args.has("builderid") || call.args.has("buildername")) {
            auto builderid = co_await resolve_builderid(call);
            if (!builderid) co_return collection({});
            scope("builderid", *builderid);
        }
        if (auto brid = call.args.integer("buildrequestid")) {
            // A request collapsed into another's build lists the build that covered it.
            auto covering = co_await buildsets.covering_build(*brid);
            if (covering)
                scope("buildid", *covering);
            else
                scope("buildrequestid", *brid);
        }
        if (auto workerid = call.args.integer("workerid")) scope("workerid", *workerid);
        if (auto changeid = call.args.integer("changeid")) {
            co_await add_hidden_filter(call, query);
            auto result = co_await queries.builds_of_change(*changeid, std::move(query));
            Answer answer = collection(to_items(result.items, call.storage));
            answer.is_paged = result.is_complete;
            answer.total = result.total;
            co_await attach_build_properties(call, answer.items);
            co_return answer;
        }
        auto answer = co_await paged_builds(call, std::move(query));
        if (answer) co_await attach_build_properties(call, answer.value().items);
        co_return answer;
    }

    asio::awaitable<Result> build_entity(Call& call) {
        auto build = co_await resolve_build(call);
        if (!build) co_return not_found();
        Items items{build->to_json()};
        co_await attach_build_properties(call, items);
        co_return entity(std::move(items.front()));
    }

    asio::awaitable<Result> steps_collection(Call& call) {
        auto build = co_await resolve_build(call);
        if (!build) {
            // Buildbot: /builds/999/steps is an empty list, /builders/1/builds/999/steps a 404.
            if (call.args.has("buildid")) co_return collection({});
            co_return not_found();
        }
        auto steps = co_await builds.steps(build->buildid);
        co_return collection(to_items(steps, call.storage));
    }

    asio::awaitable<Result> step_entity(Call& call) {
        auto step = co_await resolve_step(call);
        if (!step) co_return not_found();
        co_return entity(step->to_json());
    }

    asio::awaitable<Result> logs_collection(Call& call) {
        auto step = co_await resolve_step(call);
        if (!step) {
            if (call.args.has("stepid")) co_return collection({});
            co_return not_found();
        }
        auto logs = co_await builds.logs(step->stepid);
        co_return collection(to_items(logs, call.storage));
    }

    asio::awaitable<Result> log_entity(Call& call) {
        auto log = co_await resolve_log(call);
        if (!log) co_return not_found();
        co_return entity(log->to_json());
    }

    asio::awaitable<Result> log_contents(Call& call);
    asio::awaitable<Result> log_raw(Call& call);

    asio::awaitable<Result> build_properties(Call& call) {
        auto build = co_await resolve_build(call);
        if (!build) co_return not_found();
        auto properties = co_await builds.properties(build->buildid);
        co_return entity(properties.to_api());
    }

    static Items property_list(const core::Properties& properties) {
        Items items;
        for (const auto& [name, property] : properties.all()) {
            boost::json::object item;
            item["name"] = name;
            item["source"] = property.source;
            item["value"] = to_sorted_json(property.value);
            items.push_back(std::move(item));
        }
        return items;
    }

    asio::awaitable<Result> build_property_list(Call& call) {
        auto build = co_await resolve_build(call);
        if (!build) co_return not_found();
        auto properties = co_await builds.properties(build->buildid);
        co_return collection(property_list(properties));
    }

    asio::awaitable<std::optional<data::Buildset>> visible_buildset(Call& call, Id bsid) {
        auto buildset = co_await buildsets.get(bsid);
        if (!buildset) co_return std::nullopt;
        if (!call.visibility.is_restricted()) co_return buildset;
        // A buildset is visible when one of its requests is for a visible builder.
        data::Query query;
        query.filters.push_back({"buildsetid", data::FilterOp::eq, {boost::json::value(bsid)}});
        co_await add_hidden_filter(call, query);
        query.limit = 1;
        auto requests = co_await queries.buildrequests(std::move(query));
        if (requests.items.empty()) co_return std::nullopt;
        co_return buildset;
    }

    asio::awaitable<Result> buildset_properties(Call& call) {
        auto bsid = call.args.integer("bsid");
        if (!bsid) co_return not_found();
        auto buildset = co_await visible_buildset(call, *bsid);
        if (!buildset) co_return not_found();
        auto properties = co_await buildsets.properties(*bsid);
        co_return entity(properties.to_api());
    }

    asio::awaitable<Result> buildset_property_list(Call& call) {
        auto bsid = call.args.integer("bsid");
        if (!bsid) co_return not_found();
        auto buildset = co_await visible_buildset(call, *bsid);
        if (!buildset) co_return not_found();
        auto properties = co_await buildsets.properties(*bsid);
        co_return collection(property_list(properties));
    }

    asio::awaitable<Result> buildrequests_collection(Call& call) {
        auto query = sql_query(call);
        if (auto builderid = call.args.integer("builderid")) {
            if (co_await is_hidden(call, *builderid)) co_return collection({});
            query.filters.push_back(
                {"builderid", data::FilterOp::eq, {boost::json::value(*builderid)}});
        }
        co_await add_hidden_filter(call, query);
        auto result = co_await queries.buildrequests(std::move(query));
        if (auto checked = check_read(result); !checked) co_return checked.error();
        Answer answer = collection(to_items(result.items, call.storage));
        answer.is_paged = result.is_complete;
        answer.total = result.total;
        co_await attach_request_properties(call, answer.items);
        co_return answer;
    }

    asio::awaitable<void> attach_request_properties(Call& call, Items& items) {
        if (!call.spec.wants_properties() || items.empty()) co_return;
        std::vector<Id> bsids;
        for (const auto& item : items)
            bsids.push_back(item.at("buildsetid").as_int64());
        auto properties = co_await queries.buildset_properties(bsids, call.spec.property_names());
        for (auto& item : items) {
            const auto& found = properties[item.at("buildsetid").as_int64()];
            if (!found.empty()) item["properties"] = found.to_api();
        }
    }

    asio::awaitable<Result> buildrequest_entity(Call& call) {
        auto brid = call.args.integer("buildrequestid");
        std::optional<data::BuildRequest> request;
        if (brid) request = co_await buildsets.get_request(*brid);
        if (!request || co_await is_hidden(call, request->builderid)) co_return not_found();
        Items items{request->to_json()};
        co_await attach_request_properties(call, items);
        co_return entity(std::move(items.front()));
    }

    asio::awaitable<Result> buildsets_collection(Call& call) {
        co_await ensure_hidden(call);
        std::vector<Id> hidden(call.hidden->begin(), call.hidden->end());
        auto result = co_await queries.buildsets(sql_query(call), std::move(hidden));
        if (auto checked = check_read(result); !checked) co_return checked.error();
        Answer answer = collection(to_items(result.items, call.storage));
        answer.is_paged = result.is_complete;
        answer.total = result.total;
        co_return answer;
    }

    asio::awaitable<Result> buildset_entity(Call& call) {
        auto bsid = call.args.integer("bsid");
        std::optional<data::Buildset> buildset;
        if (bsid) buildset = co_await visible_buildset(call, *bsid);
        if (!buildset) co_return not_found();
        co_return entity(buildset->to_json());
    }

    asio::awaitable<Result> masters_collection(Call& call) {
        auto all = co_await queries.masters();
        if (auto builderid = call.args.integer("builderid")) {
            auto builder = co_await builders.get(*builderid);
            if (!builder || co_await is_hidden(call, *builderid)) co_return collection({});
            std::erase_if(all, [&](const data::Master& m) {
                return std::find(builder->masterids.begin(), builder->masterids.end(),
                                 m.masterid) == builder->masterids.end();
            });
        }
        co_return collection(to_items(all, call.storage));
    }

    asio::awaitable<Result> master_entity(Call& call) {
        auto masterid = call.args.integer("masterid");
        std::optional<data::Master> master;
        if (masterid) master = co_await masters.get(*masterid);
        if (!master) co_return not_found();
        if (auto builderid = call.args.integer("builderid")) {
            auto builder = co_await builders.get(*builderid);
            if (!builder || co_await is_hidden(call, *builderid) ||
                std::find(builder->masterids.begin(), builder->masterids.end(), *masterid) ==
                    builder->masterids.end())
                co_return not_found();
        }
        co_return entity(master->to_json());
    }

    asio::awaitable<std::vector<data::Worker>> scoped_workers(Call& call) {
        auto all = co_await queries.workers();
        auto masterid = call.args.integer("masterid");
        auto builderid = call.args.integer("builderid");
        if (builderid && co_await is_hidden(call, *builderid))
            co_return std::vector<data::Worker>{};
        std::erase_if(all, [&](const data::Worker& worker) {
            if (!masterid && !builderid) return false;
            for (const auto& [m, b] : worker.configured_on)
                if ((!masterid || m == *masterid) && (!builderid || b == *builderid)) return false;
            if (masterid && !builderid)
                return std::find(worker.connected_to.begin(), worker.connected_to.end(),
                                 *masterid) == worker.connected_to.end();
            return true;
        });
        co_return all;
    }

    asio::awaitable<Result> workers_collection(Call& call) {
        auto workers = co_await scoped_workers(call);
        co_return collection(to_items(workers, call.storage));
    }

    asio::awaitable<Result> worker_entity(Call& call) {
        auto workerid = call.args.integer("workerid");
        auto name = call.args.text("name");
        auto workers = co_await scoped_workers(call);
        for (const auto& worker : workers)
            if ((workerid && worker.workerid == *workerid) || (name && worker.name == *name))
                co_return entity(worker.to_json());
        co_return not_found();
    }

    asio::awaitable<Items> visible_force_schedulers(Call& call) {
        auto current = config();
        Items items;
        if (!current) co_return items;
        std::set<std::string> hidden_names;
        if (call.visibility.is_restricted())
            for (const auto& builder : current->builders)
                if (!call.visibility.may_view_builder(builder.name))
                    hidden_names.insert(builder.name);
        for (const auto& scheduler : current->schedulers) {
            if (scheduler.type != "force") continue;
            auto item = force_scheduler_json(scheduler);
            auto& names = item["builder_names"].as_array();
            boost::json::array visible;
            for (const auto& n : names)
                if (!hidden_names.count(std::string(n.as_string()))) visible.push_back(n);
            if (visible.empty() && !names.empty()) continue;
            names = std::move(visible);
            items.push_back(std::move(item));
        }
        co_return items;
    }

    asio::awaitable<Result> forceschedulers_collection(Call& call) {
        auto items = co_await visible_force_schedulers(call);
        if (call.args.has("builderid")) {
            auto builderid = co_await resolve_builderid(call);
            if (!builderid) co_return collection({});
            auto builder = co_await builders.get(*builderid);
            if (!builder) co_return collection({});
            std::erase_if(items, [&](const boost::json::object& item) {
                const auto& names = item.at("builder_names").as_array();
                return std::find(names.begin(), names.end(), boost::json::value(builder->name)) ==
                       names.end();
            });
        }
        co_return collection(std::move(items));
    }

    asio::awaitable<Result> forcescheduler_entity(Call& call) {
        auto name = call.args.text("schedulername");
        auto items = co_await visible_force_schedulers(call);
        for (auto& item : items)
            if (name && item.at("name").as_string() == *name) co_return entity(std::move(item));
        co_return not_found();
    }

    asio::awaitable<Result> sourcestamps_collection(Call& call) {
        auto result = co_await queries.sourcestamps(sql_query(call));
        if (auto checked = check_read(result); !checked) co_return checked.error();
        Answer answer = collection(to_items(result.items, call.storage));
        answer.is_paged = result.is_complete;
        answer.total = result.total;
        co_return answer;
    }

    asio::awaitable<Result> sourcestamp_entity(Call& call) {
        auto ssid = call.args.integer("ssid");
        std::optional<data::SourceStamp> stamp;
        if (ssid) stamp = co_await queries.sourcestamp(*ssid);
        if (!stamp) co_return not_found();
        co_return entity(stamp->to_json());
    }

    // Changes are not tied to a builder: every caller who may read the API sees them.
    // Kiln answers /changes in the order asked for (no order: newest first); Buildbot 3.7
    // reverses what its SQL returned (docs/compatibility.md).
    asio::awaitable<Result> changes_collection(Call& call) {
        auto result = co_await queries.changes(sql_query(call));
        Answer answer = collection(to_items(result.items, call.storage));
        answer.is_paged = result.is_complete;
        answer.total = result.total;
        co_return answer;
    }

    asio::awaitable<Result> change_entity(Call& call) {
        auto changeid = call.args.integer("changeid");
        std::optional<data::Change> change;
        if (changeid) change = co_await queries.change(*changeid);
        if (!change) co_return not_found();
        co_return entity(change->to_json());
    }

    asio::awaitable<Result> build_changes(Call& call) {
        auto build = co_await resolve_build(call);
        if (!build) co_return collection({});
        auto changes = co_await queries.changes_of_build(
            build->buildid, static_cast<std::size_t>(options.max_page_size));
        co_return collection(to_items(changes, call.storage));
    }

    asio::awaitable<Result> sourcestamp_changes(Call& call) {
        auto ssid = call.args.integer("ssid");
        if (!ssid) co_return collection({});
        auto changes = co_await queries.changes_of_sourcestamp(*ssid);
        co_return collection(to_items(changes, call.storage));
    }

    // Buildbot 3.7 answers 500 here (a missing database method); Kiln lists the properties.
    asio::awaitable<Result> change_property_list(Call& call) {
        auto changeid = call.args.integer("changeid");
        std::optional<data::Change> change;
        if (changeid) change = co_await queries.change(*changeid);
        if (!change) co_return not_found();
        co_return collection(property_list(change->properties));
    }

    // Schedulers: every one configured (force schedulers too), `master` the one running it.
    asio::awaitable<Result> schedulers_collection(Call& call) {
        auto all = co_await schedulers.list();
        if (auto masterid = call.args.integer("masterid"))
            std::erase_if(all, [&](const data::Scheduler& scheduler) {
                return !scheduler.master || scheduler.master->masterid != *masterid;
            });
        co_return collection(to_items(all, call.storage));
    }

    asio::awaitable<Result> scheduler_entity(Call& call) {
        auto schedulerid = call.args.integer("schedulerid");
        std::optional<data::Scheduler> found;
        if (schedulerid) found = co_await schedulers.get(*schedulerid);
        if (!found) co_return not_found();
        if (auto masterid = call.args.integer("masterid");
            masterid && (!found->master || found->master->masterid != *masterid))
            co_return not_found();
        co_return entity(found->to_json());
    }

    // Resources Kiln does not record yet: empty collections, unknown entities.
    // TODO(#4): change sources; test results and build data.
    asio::awaitable<Result> empty_collection(Call&) { co_return collection({}); }
    asio::awaitable<Result> no_entity(Call&) { co_return not_found(); }

    asio::awaitable<Result> logchunks_root(Call&) {
        co_return core::Error{core::ErrorKind::bad_input,
                              "log contents are read under a log: logs/<logid>/contents"};
    }

    // ---- answering ---------------------------------------------------------------------
    asio::awaitable<io::HttpResponse> answer(std::string path, std::string query, bool pretty,
                                             bool head, Visibility visibility);
    io::HttpResponse envelope(const Route& route, Answer& answer, const Call& call) const;
};

asio::awaitable<Result> RestApi::Impl::log_contents(Call& call) {
    auto log = co_await resolve_log(call);
    if (!log) co_return not_found();
    const auto first = call.spec.offset.value_or(0);
    if (first < 0) co_return not_found();
    std::int64_t last = log->num_lines - 1;
    // Written so that no limit or offset, however large, overflows.
    if (call.spec.limit && *call.spec.limit >= 0 && *call.spec.limit <= last - first)
        last = first + *call.spec.limit - 1;
    if ((first > last && log->num_lines > 0) || (log->num_lines == 0 && first > 0))
        co_return not_found();

    // The envelope's keys sort as content, firstline, logid: the content streams first, one
    // stored chunk at a time, so a log of any size is answered in bounded memory.
    const bool wants_content =
        call.spec.fields.empty() || std::find(call.spec.fields.begin(), call.spec.fields.end(),
                                              "content") != call.spec.fields.end();
    boost::json::object tail;
    for (const char* key : {"firstline", "logid"})
        if (call.spec.fields.empty() || std::find(call.spec.fields.begin(), call.spec.fields.end(),
                                                  key) != call.spec.fields.end())
            tail[key] = std::string_view(key) == "logid" ? log->logid : first;
    const auto style = call.pretty ? JsonStyle::pretty : JsonStyle::compact;
    std::string tail_text = to_sorted_json(tail, style);  // "{...}" of the other keys

    io::HttpResponse response;
    response.set_header("Content-Type", call.pretty ? "text/plain; charset=utf-8"
                                                    : "application/json; charset=utf-8");
    auto state = std::make_shared<ContentsStream>(ContentsStream{
        &queries, log->logid, first, last, 0, wants_content, call.pretty, tail_text});
    response.stream = [state] { return next_contents_piece(state); };
    Answer answer;
    answer.is_collection = false;
    answer.response = std::move(response);
    co_return answer;
}

asio::awaitable<Result> RestApi::Impl::log_raw(Call& call) {
    auto log = co_await resolve_log(call);
    if (!log) co_return not_found();
    io::HttpResponse response;
    response.set_header("Content-Type", log->type == "h" ? "text/html; charset=utf-8"
                                                         : "text/plain; charset=utf-8");
    response.set_header("Content-Disposition", "attachment; filename=" + log->slug);
    auto state = std::make_shared<RawStream>(RawStream{&queries, log->logid, 0, log->type == "s"});
    response.stream = [state] { return next_raw_piece(state); };
    Answer answer;
    answer.is_collection = false;
    answer.response = std::move(response);
    co_return answer;
}

void RestApi::Impl::add_routes() {
    using I = Impl;
    route("", "rootlink", &I::root, true);
    route("application.spec", "spec", &I::application_spec, true);
    route("builders", "builder", &I::builders_collection, true);
    route("builders/:builderid/forceschedulers", "forcescheduler", &I::forceschedulers_collection,
          true);
    route("builders/i:buildername", "builder", &I::builder_entity, false);
    route("builders/i:buildername/builds", "build", &I::builds_collection, true);
    for (const char* builder : {"builders/i:buildername", "builders/n:builderid"}) {
        const std::string b = builder;
        const std::string build = b + "/builds/n:build_number";
        route(build + "/data", "build_data", &I::empty_collection, true);
        route(build + "/data/i:name", "build_data", &I::no_entity, false);
        route(build + "/data/i:name/value", "build_data", &I::no_entity, false);
        if (b == "builders/n:builderid") {
            route(b + "/buildrequests", "buildrequest", &I::buildrequests_collection, true);
            route(b + "/builds", "build", &I::builds_collection, true);
            route(build + "/changes", "change", &I::build_changes, true);
            route(build + "/properties", "sourcedproperties", &I::build_properties, false);
        }
        route(build + "/steps", "step", &I::steps_collection, true);
        for (const char* step_key : {"i:step_name", "n:step_number"}) {
            const std::string step = build + "/steps/" + step_key;
            route(step, "step", &I::step_entity, false);
            route(step + "/logs", "log", &I::logs_collection, true);
            route(step + "/logs/i:log_slug", "log", &I::log_entity, false);
            if (b == "builders/n:builderid") {
                route(step + "/logs/i:log_slug/contents", "logchunk", &I::log_contents, false);
                route(step + "/logs/i:log_slug/raw", "logchunk", &I::log_raw, false);
            }
        }
        route(b + "/builds/n:number", "build", &I::build_entity, false);
        if (b == "builders/i:buildername") {
            route(b + "/test_result_sets", "test_result_set", &I::empty_collection, true);
        } else {
            route(b, "builder", &I::builder_entity, false);
            route(b + "/masters", "master", &I::masters_collection, true);
            route(b + "/masters/n:masterid", "master", &I::master_entity, false);
            route(b + "/test_result_sets", "test_result_set", &I::empty_collection, true);
            route(b + "/workers", "worker", &I::workers_collection, true);
            route(b + "/workers/i:name", "worker", &I::worker_entity, false);
            route(b + "/workers/n:workerid", "worker", &I::worker_entity, false);
        }
    }
    route("buildrequests", "buildrequest", &I::buildrequests_collection, true);
    route("buildrequests/n:buildrequestid", "buildrequest", &I::buildrequest_entity, false);
    route("buildrequests/n:buildrequestid/builds", "build", &I::builds_collection, true);
    route("builds", "build", &I::builds_collection, true);
    route("builds/n:buildid", "build", &I::build_entity, false);
    route("builds/n:buildid/changes", "change", &I::build_changes, true);
    route("builds/n:buildid/data", "build_data", &I::empty_collection, true);
    route("builds/n:buildid/data/i:name", "build_data", &I::no_entity, false);
    route("builds/n:buildid/data/i:name/value", "build_data", &I::no_entity, false);
    route("builds/n:buildid/properties", "sourcedproperties", &I::build_properties, false);
    route("builds/n:buildid/property_list", "_property", &I::build_property_list, true);
    route("builds/n:buildid/steps", "step", &I::steps_collection, true);
    for (const char* step_key : {"i:step_name", "n:step_number"}) {
        const std::string step = std::string("builds/n:buildid/steps/") + step_key;
        route(step, "step", &I::step_entity, false);
        route(step + "/logs", "log", &I::logs_collection, true);
        route(step + "/logs/i:log_slug", "log", &I::log_entity, false);
        route(step + "/logs/i:log_slug/contents", "logchunk", &I::log_contents, false);
        route(step + "/logs/i:log_slug/raw", "logchunk", &I::log_raw, false);
    }
    route("builds/n:buildid/test_result_sets", "test_result_set", &I::empty_collection, true);
    route("buildsets", "buildset", &I::buildsets_collection, true);
    route("buildsets/n:bsid", "buildset", &I::buildset_entity, false);
    route("buildsets/n:bsid/properties", "sourcedproperties", &I::buildset_properties, false);
    route("buildsets/n:bsid/properties_list", "_property", &I::buildset_property_list, true);
    route("changes", "change", &I::changes_collection, true);
    route("changes/n:changeid", "change", &I::change_entity, false);
    route("changes/n:changeid/builds", "build", &I::builds_collection, true);
    route("changes/n:changeid/properties_list", "_property", &I::change_property_list, true);
    route("changesources", "changesource", &I::empty_collection, true);
    route("changesources/n:changesourceid", "changesource", &I::no_entity, false);
    route("forceschedulers", "forcescheduler", &I::forceschedulers_collection, true);
    route("forceschedulers/i:schedulername", "forcescheduler", &I::forcescheduler_entity, false);
    route("logchunks", "logchunk", &I::logchunks_root, true);
    route("logs/n:logid", "log", &I::log_entity, false);
    route("logs/n:logid/contents", "logchunk", &I::log_contents, false);
    route("logs/n:logid/raw", "logchunk", &I::log_raw, false);
    route("masters", "master", &I::masters_collection, true);
    route("masters/n:masterid", "master", &I::master_entity, false);
    route("masters/n:masterid/builders", "builder", &I::builders_collection, true);
    route("masters/n:masterid/builders/n:builderid", "builder", &I::builder_entity, false);
    route("masters/n:masterid/builders/n:builderid/workers", "worker", &I::workers_collection,
          true);
    route("masters/n:masterid/builders/n:builderid/workers/i:name", "worker", &I::worker_entity,
          false);
    route("masters/n:masterid/builders/n:builderid/workers/n:workerid", "worker", &I::worker_entity,
          false);
    route("masters/n:masterid/changesources", "changesource", &I::empty_collection, true);
    route("masters/n:masterid/changesources/n:changesourceid", "changesource", &I::no_entity,
          false);
    route("masters/n:masterid/schedulers", "scheduler", &I::schedulers_collection, true);
    route("masters/n:masterid/schedulers/n:schedulerid", "scheduler", &I::scheduler_entity, false);
    route("masters/n:masterid/workers", "worker", &I::workers_collection, true);
    route("masters/n:masterid/workers/i:name", "worker", &I::worker_entity, false);
    route("masters/n:masterid/workers/n:workerid", "worker", &I::worker_entity, false);
    route("schedulers", "scheduler", &I::schedulers_collection, true);
    route("schedulers/n:schedulerid", "scheduler", &I::scheduler_entity, false);
    route("sourcestamps", "sourcestamp", &I::sourcestamps_collection, true);
    route("sourcestamps/n:ssid", "sourcestamp", &I::sourcestamp_entity, false);
    route("sourcestamps/n:ssid/changes", "change", &I::sourcestamp_changes, true);
    route("steps/n:stepid", "step", &I::step_entity, false);
    route("steps/n:stepid/logs", "log", &I::logs_collection, true);
    route("steps/n:stepid/logs/i:log_slug", "log", &I::log_entity, false);
    route("steps/n:stepid/logs/i:log_slug/contents", "logchunk", &I::log_contents, false);
    route("steps/n:stepid/logs/i:log_slug/raw", "logchunk", &I::log_raw, false);
    route("steps/n:stepid/test_result_sets", "test_result_set", &I::empty_collection, true);
    route("test_result_sets/n:test_result_setid", "test_result_set", &I::no_entity, false);
    route("test_result_sets/n:test_result_setid/results", "test_result", &I::empty_collection,
          true);
    route("workers", "worker", &I::workers_collection, true);
    route("workers/i:name", "worker", &I::worker_entity, false);
    route("workers/n:workerid", "worker", &I::worker_entity, false);
    route("workers/n:workerid/builds", "build", &I::builds_collection, true);
}

io::HttpResponse RestApi::Impl::envelope(const Route& route, Answer& answer,
                                         const Call& call) const {
    const auto& type = *call.type;
    std::int64_t total = answer.total;
    if (answer.is_collection && !answer.is_paged) total = apply_in_memory(answer.items, call.spec);
    if (!answer.is_collection) total = 0;
    // In the items' storage, so that they move into the list instead of being copied.
    const auto storage = answer.items.empty() ? call.storage : answer.items.front().storage();
    boost::json::array list(storage);
    list.reserve(answer.items.size());
    for (auto& item : answer.items) {
        select_fields(item, call.spec.fields);
        list.emplace_back(std::move(item));
    }
    boost::json::object body(storage);
    body[type.plural] = std::move(list);
    boost::json::object meta(storage);
    if (route.is_collection && answer.is_collection) meta["total"] = total;
    body["meta"] = std::move(meta);
    auto text = to_sorted_json(body, call.pretty ? JsonStyle::pretty : JsonStyle::compact);
    io::HttpResponse response;
    response.set_header("Content-Type", call.pretty ? "text/plain; charset=utf-8"
                                                    : "application/json; charset=utf-8");
    response.content_length = text.size();
    if (!call.head) response.body = std::move(text);
    return response;
}

asio::awaitable<io::HttpResponse> RestApi::Impl::answer(std::string path, std::string query,
                                                        bool pretty, bool head,
                                                        Visibility visibility) {
    auto segments = split_path(path);
    auto match = matcher.match(segments);
    if (!match) co_return rest_error(404, "Invalid path: " + path);
    const auto& route = routes[match->index];
    Call call;
    call.args = std::move(match->args);
    call.type = &resource_type(route.type);
    call.visibility = std::move(visibility);
    call.pretty = pretty;
    call.head = head;
    auto params = parse_query_string(query);
    if (!params) co_return rest_error(400, params.error().message);
    auto spec = parse_result_spec(params.value(), *call.type, route.is_collection);
    if (!spec) co_return rest_error(400, spec.error().message);
    call.spec = std::move(spec).value();
    if (route.is_collection) cap_paging(call.spec, options.max_page_size);

    auto result = co_await (this->*route.handler)(call);
    if (!result) {
        const auto& error = result.error();
        switch (error.kind) {
        case core::ErrorKind::not_found:
            co_return rest_error(404, error.message == "not found"
                                          ? "not found while getting from endpoint for /" + path
                                          : error.message);
        case core::ErrorKind::bad_input: co_return rest_error(400, error.message);
        default: co_return rest_error(500, error.message);
        }
    }
    auto& answer_value = result.value();
    if (answer_value.response) {
        auto response = std::move(*answer_value.response);
        if (head) response.stream = {};
        co_return response;
    }
    co_return envelope(route, answer_value, call);
}

RestApi::RestApi(data::Context& context, ConfigSource config, RestOptions options)
    : impl_(std::make_unique<Impl>(context, std::move(config), options)) {}

RestApi::~RestApi() = default;

asio::awaitable<io::HttpResponse> RestApi::get(std::string path, std::string query, bool pretty,
                                               bool head, Visibility visibility) {
    co_return co_await impl_->answer(std::move(path), std::move(query), pretty, head,
                                     std::move(visibility));
}

const std::vector<std::string>& RestApi::patterns() const { return impl_->pattern_texts; }

void cap_paging(ResultSpec& spec, std::int64_t max_page_size) {
    // A negative limit reads as none (SQLite's LIMIT -1), a negative offset as 0.
    if (!spec.limit || *spec.limit < 0 || *spec.limit > max_page_size) spec.limit = max_page_size;
    if (spec.offset && *spec.offset < 0) spec.offset = 0;
}

io::HttpResponse rest_error(int status, std::string_view message) {
    // Buildbot writes {"error": "..."} with Python's default separators, as text/plain.
    std::string body = "{\"error\": " + to_sorted_json(boost::json::value(message)) + "}";
    return io::HttpResponse::text(status, std::move(body));
}

}  // namespace kiln::www
