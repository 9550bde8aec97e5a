// SPDX-License-Identifier: Apache-2.0
// The base dialect (rest-api.md §10.1): one change from the request's parameters (query string
// and form body, first value of each) or from a JSON object body with the same keys.
#include "www/change_hook_dialects.hpp"
#include "www/detail/hook_payload.hpp"

#include <charconv>
#include <cmath>

#include <boost/json/object.hpp>

namespace kiln::www {

namespace {

core::Error bad(std::string message) {
    return core::Error{core::ErrorKind::bad_input, std::move(message)};
}

// The change's fields by name, each a string (form) or any JSON value (JSON body).
using Fields = boost::json::object;

core::Expected<std::optional<std::string>> text_field(const Fields& fields, std::string_view name) {
    const auto* value = fields.if_contains(name);
    if (!value || value->is_null()) return std::optional<std::string>{};
    if (!value->is_string()) return bad("'" + std::string(name) + "' must be a string");
    return std::optional<std::string>(std::string(value->get_string()));
}

// A JSON-valued field: the value itself (JSON body) or its JSON text (form).
core::Expected<std::optional<boost::json::value>> json_field(const Fields& fields,
                                                             std::string_view name) {
    const auto* value = fields.if_contains(name);
    if (!value || value->is_null()) return std::optional<boost::json::value>{};
    if (!value->is_string()) return std::optional<boost::json::value>(*value);
    if (value->get_string().empty()) return std::optional<boost::json::value>{};
    auto parsed = detail::parse_json_body(value->get_string());
    if (!parsed)
        return bad("'" + std::string(name) + "' must be JSON text (" + parsed.error().message +
                   ")");
    return std::optional<boost::json::value>(std::move(*parsed));
}

core::Expected<std::optional<std::int64_t>> when_field(const Fields& fields) {
    const boost::json::value* value = fields.if_contains("when_timestamp");
    std::string_view name = "when_timestamp";
    if (!value || value->is_null()) {
        value = fields.if_contains("when");
        name = "when";
    }
    if (!value || value->is_null()) return std::optional<std::int64_t>{};
    double seconds = 0;
    bool ok = true;
    if (value->is_int64()) {
        seconds = static_cast<double>(value->get_int64());
    } else if (value->is_uint64()) {
        seconds = static_cast<double>(value->get_uint64());
    } else if (value->is_double()) {
        seconds = value->get_double();
    } else if (value->is_string()) {
        std::string_view text = value->get_string();
        const auto* end = text.data() + text.size();
        auto [ptr, ec] = std::from_chars(text.data(), end, seconds);
        ok = ec == std::errc{} && ptr == end && !text.empty();
    } else {
        ok = false;
    }
    // Buildbot reads it as a float epoch; up to year 9999.
    if (!ok || !std::isfinite(seconds) || seconds < 0 || seconds > 253402300799.0)
        return bad("'" + std::string(name) + "' must be a time in seconds since the epoch");
    return std::optional<std::int64_t>(static_cast<std::int64_t>(seconds));
}

HookChanges change_from(const Fields& fields) {
    data::NewChange change;
    auto author = text_field(fields, "author");
    if (!author) return author.error();
    if (!author->value_or("").empty()) {
        change.author = std::move(**author);
    } else {
        auto who = text_field(fields, "who");
        if (!who) return who.error();
        change.author = who->value_or("");
    }
    struct Text {
        std::string_view name;
        std::optional<std::string>* target;
    };
    std::optional<std::string> comments, repository, project, codebase;
    for (const Text& text : {Text{"committer", &change.committer}, Text{"comments", &comments},
                             Text{"revision", &change.revision}, Text{"branch", &change.branch},
                             Text{"category", &change.category}, Text{"revlink", &change.revlink},
                             Text{"repository", &repository}, Text{"project", &project},
                             Text{"codebase", &codebase}}) {
        auto value = text_field(fields, text.name);
        if (!value) return value.error();
        *text.target = std::move(*value);
    }
    change.comments = comments.value_or("");
    change.repository = repository.value_or("");
    change.project = project.value_or("");
    change.codebase = codebase.value_or("");

    auto files = json_field(fields, "files");
    if (!files) return files.error();
    if (*files) {
        const auto* list = (*files)->if_array();
        if (!list) return bad("'files' must be a JSON list of file names");
        for (const auto& file : *list) {
            if (!file.is_string()) return bad("'files' must be a JSON list of file names");
            change.files.emplace_back(file.get_string());
        }
    }
    auto properties = json_field(fields, "properties");
    if (!properties) return properties.error();
    if (*properties) {
        const auto* object = (*properties)->if_object();
        if (!object) return bad("'properties' must be a JSON object of name: value");
        change.properties = *object;
    }
    auto when = when_field(fields);
    if (!when) return when.error();
    change.when_timestamp = *when;
    std::vector<data::NewChange> changes;
    changes.push_back(std::move(change));
    return changes;
}

}  // namespace

HookChanges parse_base_hook(const io::HttpRequest& request) {
    Fields fields;
    if (detail::media_type(request) == "application/json") {
        auto body = detail::parse_json_body(request.body);
        if (!body) return body.error();
        if (!body->is_object()) return bad("the JSON body must be an object of change fields");
        fields = std::move(body->get_object());
    } else {
        auto arguments = detail::hook_arguments(request);
        if (!arguments) return arguments.error();
        for (const auto& [name, values] : *arguments)
            if (!values.empty()) fields[name] = values.front();
    }
    return change_from(fields);
}

}  // namespace kiln::www
