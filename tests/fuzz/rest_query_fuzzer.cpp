// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: a REST query string through parse_query_string() and parse_result_spec()
// for a few resource types (collection and entity), then the parsed spec applied in memory to
// a small list of items and its fields selected. Anything may be refused; nothing may crash,
// hang or leak.
#include "www/resource_types.hpp"
#include "www/result_spec.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include <boost/json/array.hpp>

namespace {

using kiln::www::ResultSpec;

std::vector<boost::json::object> sample_items() {
    std::vector<boost::json::object> items;
    for (std::int64_t i = 0; i < 5; ++i) {
        boost::json::object item;
        item["buildid"] = i + 1;
        item["number"] = 5 - i;
        item["builderid"] = i % 2;
        item["complete"] = i % 2 == 0;
        item["results"] = i == 3 ? boost::json::value(nullptr) : boost::json::value(i % 3);
        item["state_string"] = i == 2 ? "bu\"ild\xc3\xa9" : "finished";
        item["started_at"] = 1700000000 + i;
        item["complete_at"] =
            i == 3 ? boost::json::value(nullptr) : boost::json::value(1.5 * static_cast<double>(i));
        item["tags"] = boost::json::array{"ci", i == 1 ? "linux" : "mac"};
        item["masterids"] = boost::json::array{1, i};
        item["name"] = "builder-" + std::to_string(i);
        item["properties"] = boost::json::object{};
        items.push_back(std::move(item));
    }
    return items;
}

void exercise(const kiln::www::QueryParams& params, std::string_view type_name,
              bool is_collection) {
    const auto& type = kiln::www::resource_type(type_name);
    auto spec = kiln::www::parse_result_spec(params, type, is_collection);
    if (!spec) return;
    (void)spec.value().to_query();
    (void)spec.value().property_names();
    auto items = sample_items();
    const auto total = kiln::www::apply_in_memory(items, spec.value());
    if (total < 0 || items.size() > 5) __builtin_trap();
    for (auto& item : items)
        kiln::www::select_fields(item, spec.value().fields);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view query(reinterpret_cast<const char*>(data), size);
    auto params = kiln::www::parse_query_string(query);
    if (!params) return 0;
    exercise(params.value(), "build", true);
    exercise(params.value(), "build", false);
    exercise(params.value(), "builder", true);
    exercise(params.value(), "buildrequest", true);
    exercise(params.value(), "step", true);
    exercise(params.value(), "logchunk", false);
    exercise(params.value(), "sourcedproperties", false);
    return 0;
}
