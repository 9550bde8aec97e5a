// SPDX-License-Identifier: Apache-2.0
#include "www/try_job.hpp"

#include "core/base64.hpp"

#include <algorithm>

#include <boost/json/serialize.hpp>

namespace kiln::www {

namespace {

// The database's column widths (data-model.md §2.9) and Kiln's own bounds.
constexpr std::size_t kMaxBranch = 256;
constexpr std::size_t kMaxRevision = 256;
constexpr std::size_t kMaxRepository = 512;
constexpr std::size_t kMaxProject = 512;
constexpr std::size_t kMaxWho = 255;
constexpr std::size_t kMaxComment = 64 * 1024;
constexpr std::size_t kMaxBuilders = 100;
constexpr std::size_t kMaxBuilderName = 128;
constexpr std::size_t kMaxProperties = 100;
constexpr std::size_t kMaxPropertyName = 256;
constexpr std::size_t kMaxPropertiesBytes = 64 * 1024;
constexpr std::size_t kMaxJobId = 256;
constexpr int kMaxPatchLevel = 100;

core::Error bad(std::string_view field, std::string message) {
    return core::Error{core::ErrorKind::bad_input, std::string(field) + ": " + message};
}

bool has_control_characters(std::string_view text) {
    return std::any_of(text.begin(), text.end(),
                       [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

// A string field: nullopt when absent or null; an error when not a string, too long, or (for
// names) holding control characters.
core::Expected<std::optional<std::string>> text_field(const boost::json::object& params,
                                                      std::string_view name, std::size_t max,
                                                      bool allow_newlines = false) {
    const auto* value = params.if_contains(name);
    if (!value || value->is_null()) return std::optional<std::string>{};
    if (!value->is_string()) return bad(name, "must be a string");
    std::string text(value->get_string());
    if (text.size() > max) return bad(name, "is longer than " + std::to_string(max) + " bytes");
    if (!allow_newlines && has_control_characters(text))
        return bad(name, "must not hold control characters");
    return std::optional<std::string>(std::move(text));
}

}  // namespace

core::Expected<TryJob> parse_try_job(const boost::json::object& params,
                                     std::size_t max_patch_bytes) {
    TryJob job;

    const auto* names = params.if_contains("builderNames");
    if (!names || !names->is_array() || names->get_array().empty())
        return bad("builderNames", "must be a non-empty list of builder names");
    if (names->get_array().size() > kMaxBuilders)
        return bad("builderNames", "names more than " + std::to_string(kMaxBuilders) + " builders");
    for (const auto& name : names->get_array()) {
        if (!name.is_string() || name.get_string().empty() ||
            name.get_string().size() > kMaxBuilderName)
            return bad("builderNames", "must hold builder names (non-empty strings of at most " +
                                           std::to_string(kMaxBuilderName) + " bytes)");
        std::string text(name.get_string());
        if (std::find(job.builders.begin(), job.builders.end(), text) != job.builders.end())
            return bad("builderNames", "names '" + text + "' twice");
        job.builders.push_back(std::move(text));
    }

    auto branch = text_field(params, "branch", kMaxBranch);
    if (!branch) return branch.error();
    job.branch = std::move(branch.value());
    if (job.branch && job.branch->empty()) job.branch.reset();

    auto revision = text_field(params, "baserev", kMaxRevision);
    if (!revision) return revision.error();
    job.revision = std::move(revision.value());
    if (job.revision && job.revision->empty()) job.revision.reset();

    auto repository = text_field(params, "repository", kMaxRepository);
    if (!repository) return repository.error();
    job.repository = repository.value().value_or("");
    auto project = text_field(params, "project", kMaxProject);
    if (!project) return project.error();
    job.project = project.value().value_or("");
    auto who = text_field(params, "who", kMaxWho);
    if (!who) return who.error();
    job.who = who.value().value_or("");
    auto comment = text_field(params, "comment", kMaxComment, true);
    if (!comment) return comment.error();
    job.comment = comment.value().value_or("");
    auto jobid = text_field(params, "jobid", kMaxJobId);
    if (!jobid) return jobid.error();
    job.jobid = std::move(jobid.value());

    if (const auto* level = params.if_contains("patch_level"); level && !level->is_null()) {
        std::optional<std::int64_t> number;
        if (level->is_int64()) number = level->get_int64();
        if (level->is_uint64() && level->get_uint64() <= kMaxPatchLevel)
            number = static_cast<std::int64_t>(level->get_uint64());
        if (level->is_string()) {
            const std::string text(level->get_string());
            if (!text.empty() && text.size() <= 3 &&
                std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
                number = std::stoll(text);
        }
        if (!number || *number < 0 || *number > kMaxPatchLevel)
            return bad("patch_level",
                       "must be an integer from 0 to " + std::to_string(kMaxPatchLevel));
        job.patch_level = static_cast<int>(*number);
    }

    const auto* plain = params.if_contains("patch_body");
    const auto* encoded = params.if_contains("patch_body_base64");
    if (plain && plain->is_null()) plain = nullptr;
    if (encoded && encoded->is_null()) encoded = nullptr;
    if (plain && encoded)
        return bad("patch_body", "give either patch_body or patch_body_base64, not both");
    const auto too_large = "is larger than " + std::to_string(max_patch_bytes) + " bytes";
    if (plain) {
        if (!plain->is_string()) return bad("patch_body", "must be a string");
        if (plain->get_string().size() > max_patch_bytes) return bad("patch_body", too_large);
        job.patch_body = std::string(plain->get_string());
    } else if (encoded) {
        if (!encoded->is_string()) return bad("patch_body_base64", "must be a string");
        const auto& text = encoded->get_string();
        if (text.size() / 4 * 3 > max_patch_bytes + 2) return bad("patch_body_base64", too_large);
        auto decoded = core::base64_decode(std::string_view(text.data(), text.size()));
        if (!decoded) return bad("patch_body_base64", "is not valid base64");
        if (decoded->size() > max_patch_bytes) return bad("patch_body_base64", too_large);
        job.patch_body = std::move(*decoded);
    }

    if (const auto* properties = params.if_contains("properties");
        properties && !properties->is_null()) {
        if (!properties->is_object()) return bad("properties", "must be an object");
        const auto& object = properties->get_object();
        if (object.size() > kMaxProperties)
            return bad("properties",
                       "has more than " + std::to_string(kMaxProperties) + " entries");
        if (boost::json::serialize(object).size() > kMaxPropertiesBytes)
            return bad("properties",
                       "is larger than " + std::to_string(kMaxPropertiesBytes) + " bytes");
        for (const auto& [name, value] : object) {
            if (name.empty() || name.size() > kMaxPropertyName ||
                has_control_characters(std::string_view(name.data(), name.size())))
                return bad("properties", "has a bad name '" + std::string(name) + "'");
        }
        job.properties = object;
    }
    return job;
}

}  // namespace kiln::www
