// SPDX-License-Identifier: Apache-2.0
// The resource types of REST API v2 with their fields and field types (Buildbot 3.7's, as
// /api/v2/application.spec lists them): what a filter value is converted to, which fields
// exist for field=, order= and filters, and the type_spec objects application.spec serves.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

namespace kiln::www {

enum class FieldKind {
    integer,
    string,
    boolean,
    datetime,
    identifier,
    jsonobject,
    binary,
    sourcedproperties,
    list,    // of `element`
    entity,  // a nested object (type name in `entity`)
};

struct FieldType {
    FieldKind kind = FieldKind::string;
    bool nullable = false;
    FieldKind element = FieldKind::string;  // list element kind (entity lists: entity)
    std::string_view entity;                // nested entity type name (list of it, or it)
    std::size_t max_length = 0;             // identifiers
};

struct FieldSpec {
    std::string_view name;
    FieldType type;
};

struct ResourceType {
    std::string_view name;    // "build"
    std::string_view plural;  // "builds"
    std::vector<FieldSpec> fields;
    // False for the pseudo type of /builds/N/properties (Buildbot 500s on field=/filters).
    bool has_fields = true;

    const FieldSpec* find(std::string_view field) const;
    // {"type": name, "fields": [{"name", "type", "type_spec"}...]} as application.spec has.
    boost::json::object type_spec() const;
};

// Every resource type, by name ("build", "logchunk", "_property", ...). Throws
// std::out_of_range for an unknown name (a programmer error).
const ResourceType& resource_type(std::string_view name);

// Converts a query-string value to the field's type for filtering: integers and datetimes as
// decimal integers, booleans from on/true/yes/1 and off/false/no/0, identifiers checked
// against Buildbot's pattern, list fields as one element. Empty when the text does not fit,
// or the field cannot be filtered on (objects).
std::optional<boost::json::value> convert_filter_value(const FieldType& type,
                                                       std::string_view text);

// Buildbot's identifier pattern ^[a-zA-Z_-][a-zA-Z0-9._-]*$ (used by paths and fields).
bool is_identifier(std::string_view text);

}  // namespace kiln::www
