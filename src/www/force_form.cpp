// SPDX-License-Identifier: Apache-2.0
#include "www/force_form.hpp"

#include <boost/json/array.hpp>

namespace kiln::www {

namespace {

boost::json::object field(std::string_view type, std::string_view name, std::string_view label,
                          boost::json::value default_value) {
    boost::json::object f;
    f["autopopulate"] = nullptr;
    f["default"] = std::move(default_value);
    f["fullName"] = name;
    f["hide"] = false;
    f["label"] = label;
    f["maxsize"] = nullptr;
    f["multiple"] = false;
    f["name"] = name;
    f["regex"] = nullptr;
    f["required"] = false;
    f["tablabel"] = label;
    f["type"] = type;
    return f;
}

boost::json::object group(boost::json::array fields, int columns) {
    auto g = field("nested", "", "", "");
    g["fullName"] = nullptr;
    g["columns"] = columns;
    g["layout"] = "vertical";
    g["fields"] = std::move(fields);
    return g;
}

boost::json::object parameter_field(const config::ForceParameter& parameter) {
    std::string_view type = "text";
    if (parameter.type == "text")
        type = "textarea";
    else if (parameter.type == "int")
        type = "int";
    else if (parameter.type == "bool")
        type = "bool";
    else if (parameter.type == "choice")
        type = "list";
    auto f = field(type, parameter.name, parameter.label.empty() ? parameter.name : parameter.label,
                   parameter.default_value);
    f["required"] = parameter.required;
    if (parameter.regex) f["regex"] = *parameter.regex;
    if (type == "text" || type == "int") f["size"] = 10;
    if (type == "textarea") {
        f["cols"] = 80;
        f["rows"] = 20;
    }
    if (type == "list") {
        boost::json::array choices;
        for (const auto& choice : parameter.choices)
            choices.emplace_back(choice);
        f["choices"] = std::move(choices);
        f["strict"] = parameter.strict;
        f["multiple"] = parameter.multiple;
    }
    return f;
}

}  // namespace

boost::json::object force_scheduler_json(const config::SchedulerConfig& scheduler) {
    boost::json::object item;
    item["name"] = scheduler.name;
    item["button_name"] = scheduler.button_name;
    item["label"] = scheduler.label.empty() ? scheduler.name : scheduler.label;
    boost::json::array builder_names;
    for (const auto& name : scheduler.builders)
        builder_names.emplace_back(name);
    item["builder_names"] = std::move(builder_names);
    item["enabled"] = true;

    auto username = field("username", "username", "Your name:", "");
    username["size"] = 30;
    username["need_email"] = true;
    auto reason = field("text", "reason", "reason", boost::json::value(scheduler.reason));
    reason["size"] = 20;
    boost::json::array all_fields;
    all_fields.push_back(group({std::move(username), std::move(reason)}, 1));
    boost::json::array codebase;
    for (const auto& [name, label] :
         {std::pair{"branch", "Branch:"}, std::pair{"project", "Project:"},
          std::pair{"repository", "Repository:"}, std::pair{"revision", "Revision:"}}) {
        auto f = field("text", name, label, "");
        f["size"] = 10;
        codebase.push_back(std::move(f));
    }
    all_fields.push_back(group(std::move(codebase), 2));
    for (const auto& parameter : scheduler.parameters)
        all_fields.push_back(parameter_field(parameter));
    item["all_fields"] = std::move(all_fields);
    return item;
}

}  // namespace kiln::www
