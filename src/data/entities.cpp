// SPDX-License-Identifier: Apache-2.0
#include "data/entities.hpp"

#include <boost/json/array.hpp>

namespace kiln::data {
namespace {

boost::json::value optional_json(const std::optional<std::string>& value) {
    return value ? boost::json::value(*value) : boost::json::value(nullptr);
}
boost::json::value optional_json(const std::optional<std::int64_t>& value) {
    return value ? boost::json::value(*value) : boost::json::value(nullptr);
}
boost::json::value optional_json(const std::optional<int>& value) {
    return value ? boost::json::value(*value) : boost::json::value(nullptr);
}

}  // namespace

boost::json::object Master::to_json() const {
    return {
        {"masterid", masterid}, {"name", name}, {"active", active}, {"last_active", last_active}};
}

boost::json::object Builder::to_json() const {
    boost::json::array tag_list(tags.begin(), tags.end());
    boost::json::array master_list(masterids.begin(), masterids.end());
    return {{"builderid", builderid},
            {"name", name},
            {"masterids", std::move(master_list)},
            {"description", optional_json(description)},
            {"tags", std::move(tag_list)}};
}

boost::json::object Worker::to_json() const {
    boost::json::array connected;
    for (auto masterid : connected_to)
        connected.push_back(boost::json::object{{"masterid", masterid}});
    boost::json::array configured;
    for (const auto& [masterid, builderid] : configured_on)
        configured.push_back(boost::json::object{{"masterid", masterid}, {"builderid", builderid}});
    return {{"workerid", workerid},
            {"name", name},
            {"workerinfo", workerinfo},
            {"paused", paused},
            {"graceful", graceful},
            {"connected_to", std::move(connected)},
            {"configured_on", std::move(configured)}};
}

boost::json::object SourceStamp::to_json() const {
    return {{"ssid", ssid},
            {"branch", optional_json(branch)},
            {"revision", optional_json(revision)},
            {"project", project},
            {"repository", repository},
            {"codebase", codebase},
            {"created_at", created_at},
            {"patch", nullptr}};
}

boost::json::object Change::to_json() const {
    boost::json::array parents;
    if (parent_changeid) parents.push_back(*parent_changeid);
    boost::json::array file_list(files.begin(), files.end());
    return {{"changeid", changeid},
            {"parent_changeids", std::move(parents)},
            {"author", author},
            {"committer", optional_json(committer)},
            {"files", std::move(file_list)},
            {"comments", comments},
            {"revision", optional_json(revision)},
            {"when_timestamp", when_timestamp},
            {"branch", optional_json(branch)},
            {"category", optional_json(category)},
            {"revlink", optional_json(revlink)},
            {"properties", properties.to_api()},
            {"repository", repository},
            {"project", project},
            {"codebase", codebase},
            {"sourcestamp", sourcestamp.to_json()}};
}

boost::json::object Buildset::to_json() const {
    boost::json::array stamps;
    for (const auto& stamp : sourcestamps)
        stamps.push_back(stamp.to_json());
    return {{"bsid", bsid},
            {"external_idstring", optional_json(external_idstring)},
            {"reason", reason},
            {"submitted_at", submitted_at},
            {"complete", complete},
            {"complete_at", optional_json(complete_at)},
            {"results", results},
            {"sourcestamps", std::move(stamps)},
            {"parent_buildid", optional_json(parent_buildid)},
            {"parent_relationship", optional_json(parent_relationship)}};
}

boost::json::object BuildRequest::to_json() const {
    return {{"buildrequestid", buildrequestid},
            {"buildsetid", buildsetid},
            {"builderid", builderid},
            {"priority", priority},
            {"claimed", claimed},
            {"claimed_at", optional_json(claimed_at)},
            {"claimed_by_masterid", optional_json(claimed_by_masterid)},
            {"complete", complete},
            {"results", results},
            {"submitted_at", submitted_at},
            {"complete_at", optional_json(complete_at)},
            {"waited_for", waited_for},
            {"properties", nullptr}};
}

boost::json::object Build::to_json() const {
    return {{"buildid", buildid},
            {"number", number},
            {"builderid", builderid},
            {"buildrequestid", buildrequestid},
            {"workerid", optional_json(workerid)},
            {"masterid", masterid},
            {"started_at", started_at},
            {"complete", complete_at.has_value()},
            {"complete_at", optional_json(complete_at)},
            {"results", optional_json(results)},
            {"state_string", state_string},
            {"properties", boost::json::object{}}};
}

boost::json::object Step::to_json() const {
    boost::json::array url_list;
    for (const auto& url : urls)
        url_list.push_back(boost::json::object{{"name", url.name}, {"url", url.url}});
    return {{"stepid", stepid},
            {"number", number},
            {"name", name},
            {"buildid", buildid},
            {"started_at", optional_json(started_at)},
            {"complete", complete_at.has_value()},
            {"complete_at", optional_json(complete_at)},
            {"results", optional_json(results)},
            {"state_string", state_string},
            {"urls", std::move(url_list)},
            {"hidden", hidden}};
}

boost::json::object Log::to_json() const {
    return {{"logid", logid},       {"name", name},           {"slug", slug}, {"stepid", stepid},
            {"complete", complete}, {"num_lines", num_lines}, {"type", type}};
}

std::string force_identifier(std::string_view name, std::size_t max_length) {
    std::string result;
    for (char c : name) {
        if (result.size() >= max_length) break;
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '_' || c == '-';
        result += ok ? c : '_';
    }
    if (result.empty()) result.assign(1, '_');
    return result;
}

}  // namespace kiln::data
