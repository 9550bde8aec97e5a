// SPDX-License-Identifier: Apache-2.0
#include "www/resource_types.hpp"

#include <charconv>
#include <map>
#include <stdexcept>

#include <boost/json/array.hpp>

namespace kiln::www {

namespace {

constexpr FieldType of(FieldKind kind) {
    FieldType type;
    type.kind = kind;
    return type;
}

constexpr FieldType kInteger = of(FieldKind::integer);
constexpr FieldType kString = of(FieldKind::string);
constexpr FieldType kBoolean = of(FieldKind::boolean);
constexpr FieldType kDatetime = of(FieldKind::datetime);
constexpr FieldType kJson = of(FieldKind::jsonobject);

constexpr FieldType nullable(FieldType type) {
    type.nullable = true;
    return type;
}
constexpr FieldType identifier(std::size_t max_length) {
    return FieldType{FieldKind::identifier, false, FieldKind::string, {}, max_length};
}
constexpr FieldType list_of(FieldKind element, std::string_view entity = {}) {
    return FieldType{FieldKind::list, false, element, entity, 0};
}
constexpr FieldType entity(std::string_view name, bool can_be_null = false) {
    return FieldType{FieldKind::entity, can_be_null, FieldKind::string, name, 0};
}

std::map<std::string_view, ResourceType, std::less<>> make_types() {
    std::vector<ResourceType> types{
        {"rootlink", "rootlinks", {{"name", kString}}},
        {"spec",
         "specs",
         {{"path", kString}, {"type", kString}, {"plural", kString}, {"type_spec", kJson}}},
        {"master",
         "masters",
         {{"masterid", kInteger},
          {"name", kString},
          {"active", kBoolean},
          {"last_active", kDatetime}}},
        {"master_id", "", {{"masterid", kInteger}}},
        {"master_builder", "", {{"masterid", kInteger}, {"builderid", kInteger}}},
        {"Url", "", {{"name", kString}, {"url", kString}}},
        {"builder",
         "builders",
         {{"builderid", kInteger},
          {"name", identifier(70)},
          {"masterids", list_of(FieldKind::integer)},
          {"description", nullable(kString)},
          {"tags", list_of(FieldKind::string)}}},
        {"forcescheduler",
         "forceschedulers",
         {{"name", identifier(50)},
          {"button_name", kString},
          {"label", kString},
          {"builder_names", list_of(FieldKind::identifier)},
          {"enabled", kBoolean},
          {"all_fields", list_of(FieldKind::jsonobject)}}},
        {"build",
         "builds",
         {{"buildid", kInteger},
          {"number", kInteger},
          {"builderid", kInteger},
          {"buildrequestid", kInteger},
          {"workerid", kInteger},
          {"masterid", kInteger},
          {"started_at", kDatetime},
          {"complete", kBoolean},
          {"complete_at", nullable(kDatetime)},
          {"results", nullable(kInteger)},
          {"state_string", kString},
          {"properties", nullable(of(FieldKind::sourcedproperties))}}},
        {"build_data",
         "build_data",
         {{"buildid", kInteger},
          {"name", kString},
          {"length", kInteger},
          {"value", nullable(of(FieldKind::binary))},
          {"source", kString}}},
        {"step",
         "steps",
         {{"stepid", kInteger},
          {"number", kInteger},
          {"name", identifier(50)},
          {"buildid", kInteger},
          {"started_at", nullable(kDatetime)},
          {"complete", kBoolean},
          {"complete_at", nullable(kDatetime)},
          {"results", nullable(kInteger)},
          {"state_string", kString},
          {"urls", list_of(FieldKind::entity, "Url")},
          {"hidden", kBoolean}}},
        {"log",
         "logs",
         {{"logid", kInteger},
          {"name", kString},
          {"slug", identifier(50)},
          {"stepid", kInteger},
          {"complete", kBoolean},
          {"num_lines", kInteger},
          {"type", identifier(1)}}},
        {"logchunk",
         "logchunks",
         {{"logid", kInteger}, {"firstline", kInteger}, {"content", kString}}},
        {"test_result_set",
         "test_result_sets",
         {{"test_result_setid", kInteger},
          {"builderid", kInteger},
          {"buildid", kInteger},
          {"stepid", kInteger},
          {"description", nullable(kString)},
          {"category", kString},
          {"value_unit", kString},
          {"tests_passed", nullable(kInteger)},
          {"tests_failed", nullable(kInteger)},
          {"complete", kBoolean}}},
        {"test_result",
         "test_results",
         {{"test_resultid", kInteger},
          {"builderid", kInteger},
          {"test_result_setid", kInteger},
          {"test_name", nullable(kString)},
          {"test_code_path", nullable(kString)},
          {"line", nullable(kInteger)},
          {"duration_ns", nullable(kInteger)},
          {"value", kString}}},
        {"buildrequest",
         "buildrequests",
         {{"buildrequestid", kInteger},
          {"buildsetid", kInteger},
          {"builderid", kInteger},
          {"priority", kInteger},
          {"claimed", kBoolean},
          {"claimed_at", nullable(kDatetime)},
          {"claimed_by_masterid", nullable(kInteger)},
          {"complete", kBoolean},
          {"results", nullable(kInteger)},
          {"submitted_at", kDatetime},
          {"complete_at", nullable(kDatetime)},
          {"waited_for", kBoolean},
          {"properties", nullable(of(FieldKind::sourcedproperties))}}},
        {"patch",
         "",
         {{"patchid", kInteger},
          {"body", of(FieldKind::binary)},
          {"level", kInteger},
          {"subdir", kString},
          {"author", kString},
          {"comment", kString}}},
        {"sourcestamp",
         "sourcestamps",
         {{"ssid", kInteger},
          {"revision", nullable(kString)},
          {"branch", nullable(kString)},
          {"repository", kString},
          {"project", kString},
          {"codebase", kString},
          {"patch", entity("patch", true)},
          {"created_at", kDatetime}}},
        {"change",
         "changes",
         {{"changeid", kInteger},
          {"parent_changeids", list_of(FieldKind::integer)},
          {"author", kString},
          {"committer", kString},
          {"files", list_of(FieldKind::string)},
          {"comments", kString},
          {"revision", nullable(kString)},
          {"when_timestamp", kInteger},
          {"branch", nullable(kString)},
          {"category", nullable(kString)},
          {"revlink", nullable(kString)},
          {"properties", of(FieldKind::sourcedproperties)},
          {"repository", kString},
          {"project", kString},
          {"codebase", kString},
          {"sourcestamp", entity("sourcestamp")}}},
        {"changesource",
         "changesources",
         {{"changesourceid", kInteger}, {"name", kString}, {"master", entity("master", true)}}},
        {"scheduler",
         "schedulers",
         {{"schedulerid", kInteger},
          {"name", kString},
          {"enabled", kBoolean},
          {"master", entity("master", true)}}},
        {"worker",
         "workers",
         {{"workerid", kInteger},
          {"name", kString},
          {"connected_to", list_of(FieldKind::entity, "master_id")},
          {"configured_on", list_of(FieldKind::entity, "master_builder")},
          {"workerinfo", kJson},
          {"paused", kBoolean},
          {"graceful", kBoolean}}},
        {"_property", "_properties", {{"name", kString}, {"source", kString}, {"value", kJson}}},
        {"buildset",
         "buildsets",
         {{"bsid", kInteger},
          {"external_idstring", nullable(kString)},
          {"reason", kString},
          {"submitted_at", kInteger},
          {"complete", kBoolean},
          {"complete_at", nullable(kInteger)},
          {"results", nullable(kInteger)},
          {"sourcestamps", list_of(FieldKind::entity, "sourcestamp")},
          {"parent_buildid", nullable(kInteger)},
          {"parent_relationship", nullable(kString)}}},
    };
    std::map<std::string_view, ResourceType, std::less<>> by_name;
    for (auto& type : types)
        by_name.emplace(type.name, std::move(type));
    by_name.emplace("sourcedproperties",
                    ResourceType{"sourcedproperties", "properties", {}, false});
    return by_name;
}

const std::map<std::string_view, ResourceType, std::less<>>& all_types() {
    static const auto types = make_types();
    return types;
}

std::string_view kind_name(FieldKind kind) {
    switch (kind) {
    case FieldKind::integer: return "integer";
    case FieldKind::string: return "string";
    case FieldKind::boolean: return "boolean";
    case FieldKind::datetime: return "datetime";
    case FieldKind::identifier: return "identifier";
    case FieldKind::jsonobject: return "jsonobject";
    case FieldKind::binary: return "binary";
    case FieldKind::sourcedproperties: return "sourcedproperties";
    case FieldKind::list: return "list";
    case FieldKind::entity: break;
    }
    return "entity";
}

boost::json::object element_spec(FieldKind kind, std::string_view entity_name) {
    if (kind == FieldKind::entity) return resource_type(entity_name).type_spec();
    boost::json::object spec;
    spec["name"] = kind_name(kind);
    return spec;
}

std::optional<std::int64_t> parse_integer(std::string_view text) {
    std::int64_t value = 0;
    const auto* end = text.data() + text.size();
    const char* begin = text.data();
    if (begin != end && *begin == '+') ++begin;
    auto [ptr, ec] = std::from_chars(begin, end, value);
    if (ec != std::errc() || ptr != end || begin == end) return std::nullopt;
    return value;
}

std::string lower(std::string_view text) {
    std::string result(text);
    for (auto& c : result)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return result;
}

std::optional<boost::json::value> convert_scalar(FieldKind kind, std::size_t max_length,
                                                 std::string_view text) {
    switch (kind) {
    case FieldKind::integer:
    case FieldKind::datetime:
        if (auto value = parse_integer(text)) return boost::json::value(*value);
        return std::nullopt;
    case FieldKind::string: return boost::json::value(text);
    case FieldKind::boolean: {
        const auto word = lower(text);
        if (word == "on" || word == "true" || word == "yes" || word == "1")
            return boost::json::value(true);
        if (word == "off" || word == "false" || word == "no" || word == "0")
            return boost::json::value(false);
        return std::nullopt;
    }
    case FieldKind::identifier:
        if (is_identifier(text) && (max_length == 0 || text.size() <= max_length))
            return boost::json::value(text);
        return std::nullopt;
    default: return std::nullopt;
    }
}

}  // namespace

const FieldSpec* ResourceType::find(std::string_view field) const {
    for (const auto& spec : fields)
        if (spec.name == field) return &spec;
    return nullptr;
}

boost::json::object ResourceType::type_spec() const {
    boost::json::object spec;
    if (!has_fields) {
        spec["name"] = name;
        return spec;
    }
    boost::json::array field_list;
    for (const auto& field : fields) {
        boost::json::object entry;
        entry["name"] = field.name;
        boost::json::object field_spec;
        std::string type_name;
        if (field.type.kind == FieldKind::entity) {
            field_spec = resource_type(field.type.entity).type_spec();
            type_name = std::string(field.type.entity);
        } else if (field.type.kind == FieldKind::list) {
            field_spec["type"] = "list";
            field_spec["of"] = element_spec(field.type.element, field.type.entity);
            type_name = "list";
        } else {
            field_spec["name"] = kind_name(field.type.kind);
            type_name = std::string(kind_name(field.type.kind));
        }
        if (field.type.nullable) {
            field_spec["can_be_null"] = true;
            type_name += " or None";
        }
        entry["type"] = type_name;
        entry["type_spec"] = std::move(field_spec);
        field_list.push_back(std::move(entry));
    }
    spec["fields"] = std::move(field_list);
    spec["type"] = name;
    return spec;
}

const ResourceType& resource_type(std::string_view name) {
    const auto& types = all_types();
    auto found = types.find(name);
    if (found == types.end())
        throw std::out_of_range("no resource type '" + std::string(name) + "'");
    return found->second;
}

std::optional<boost::json::value> convert_filter_value(const FieldType& type,
                                                       std::string_view text) {
    if (type.kind == FieldKind::list) return convert_scalar(type.element, 0, text);
    return convert_scalar(type.kind, type.max_length, text);
}

bool is_identifier(std::string_view text) {
    if (text.empty()) return false;
    auto is_first = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '-';
    };
    if (!is_first(text[0])) return false;
    for (char c : text.substr(1))
        if (!is_first(c) && !(c >= '0' && c <= '9') && c != '.') return false;
    return true;
}

}  // namespace kiln::www
