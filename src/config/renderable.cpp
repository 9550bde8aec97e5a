// SPDX-License-Identifier: Apache-2.0
#include "config/renderable.hpp"

#include "config/detail/interpolate.hpp"

#include <variant>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

namespace kiln::config {
namespace {

struct InterpolateNode {
    std::string format;
    std::shared_ptr<const detail::Interpolation> parsed;
    SourceLocation where;
};

struct PropertyNode {
    std::string name;
    Renderable default_value;
    bool default_when_false = true;
    SourceLocation where;
};

struct ListNode {
    std::vector<Renderable> elements;
};

struct ObjectNode {
    std::vector<std::pair<std::string, Renderable>> members;
};

}  // namespace

struct Renderable::Node {
    std::variant<boost::json::value, InterpolateNode, PropertyNode, Callable, ListNode, ObjectNode>
        content;
};

Renderable::Renderable()
    : node_(std::make_shared<const Node>(Node{boost::json::value{}})) {}

Renderable::Renderable(std::shared_ptr<const Node> node)
    : node_(std::move(node)) {}

Renderable Renderable::constant(boost::json::value value) {
    return Renderable(std::make_shared<const Node>(Node{std::move(value)}));
}

core::Expected<Renderable> Renderable::interpolate(std::string_view format, SourceLocation where) {
    auto parsed = detail::parse_interpolation(format);
    if (!parsed) return parsed.error();
    return Renderable(std::make_shared<const Node>(Node{InterpolateNode{
        std::string(format), std::make_shared<const detail::Interpolation>(std::move(*parsed)),
        std::move(where)}}));
}

Renderable Renderable::property(std::string name, Renderable default_value, bool default_when_false,
                                SourceLocation where) {
    return Renderable(std::make_shared<const Node>(Node{PropertyNode{
        std::move(name), std::move(default_value), default_when_false, std::move(where)}}));
}

Renderable Renderable::function(Callable function) {
    return Renderable(std::make_shared<const Node>(Node{std::move(function)}));
}

Renderable Renderable::list(std::vector<Renderable> elements) {
    bool all_constant = true;
    for (const auto& element : elements)
        all_constant = all_constant && element.is_constant();
    if (!all_constant)
        return Renderable(std::make_shared<const Node>(Node{ListNode{std::move(elements)}}));
    boost::json::array array;
    for (const auto& element : elements)
        array.push_back(*element.constant_value());
    return Renderable::constant(boost::json::value(std::move(array)));
}

Renderable Renderable::object(std::vector<std::pair<std::string, Renderable>> members) {
    bool all_constant = true;
    for (const auto& member : members)
        all_constant = all_constant && member.second.is_constant();
    if (!all_constant)
        return Renderable(std::make_shared<const Node>(Node{ObjectNode{std::move(members)}}));
    boost::json::object object;
    for (const auto& [key, value] : members)
        object[key] = *value.constant_value();
    return Renderable::constant(boost::json::value(std::move(object)));
}

bool Renderable::is_constant() const {
    return std::holds_alternative<boost::json::value>(node_->content);
}

const boost::json::value* Renderable::constant_value() const {
    return std::get_if<boost::json::value>(&node_->content);
}

core::Expected<boost::json::value> Renderable::render(const core::Properties& properties) const {
    struct Visitor {
        const core::Properties& properties;

        core::Expected<boost::json::value> operator()(const boost::json::value& value) const {
            return value;
        }
        core::Expected<boost::json::value> operator()(const InterpolateNode& node) const {
            return boost::json::value(
                boost::json::string(detail::render_interpolation(*node.parsed, properties)));
        }
        core::Expected<boost::json::value> operator()(const PropertyNode& node) const {
            const auto* property = properties.find(node.name);
            if (property && (!node.default_when_false || detail::is_truthy(property->value)))
                return property->value;
            return node.default_value.render(properties);
        }
        core::Expected<boost::json::value> operator()(const Callable& function) const {
            return function.call({}, &properties);
        }
        core::Expected<boost::json::value> operator()(const ListNode& node) const {
            boost::json::array array;
            for (const auto& element : node.elements) {
                auto rendered = element.render(properties);
                if (!rendered) return rendered;
                array.push_back(std::move(*rendered));
            }
            return boost::json::value(std::move(array));
        }
        core::Expected<boost::json::value> operator()(const ObjectNode& node) const {
            boost::json::object object;
            for (const auto& [key, value] : node.members) {
                auto rendered = value.render(properties);
                if (!rendered) return rendered;
                object[key] = std::move(*rendered);
            }
            return boost::json::value(std::move(object));
        }
    };
    return std::visit(Visitor{properties}, node_->content);
}

bool operator==(const Renderable& a, const Renderable& b) {
    if (a.node_ == b.node_) return true;
    const auto& left = a.node_->content;
    const auto& right = b.node_->content;
    if (left.index() != right.index()) return false;
    return std::visit(
        [&](const auto& value) -> bool {
            using T = std::decay_t<decltype(value)>;
            const auto& other = std::get<T>(right);
            if constexpr (std::is_same_v<T, InterpolateNode>) {
                return value.format == other.format;
            } else if constexpr (std::is_same_v<T, PropertyNode>) {
                return value.name == other.name && value.default_value == other.default_value &&
                       value.default_when_false == other.default_when_false;
            } else if constexpr (std::is_same_v<T, ListNode>) {
                return value.elements == other.elements;
            } else if constexpr (std::is_same_v<T, ObjectNode>) {
                return value.members == other.members;
            } else {
                return value == other;
            }
        },
        left);
}

}  // namespace kiln::config
