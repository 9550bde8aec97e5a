// SPDX-License-Identifier: Apache-2.0
// RestApi: the read side of Buildbot's REST API v2 under /api/v2 (GET and HEAD): path
// patterns, result specs, the {"<plural>": [...], "meta": {...}} envelope, log contents and
// raw downloads streamed piece by piece, and builders hidden from the caller left out of
// every answer. specs/rest-api.md §2-§5; where Kiln deliberately differs, docs/compatibility.md.
#pragma once

#include "config/master_config.hpp"
#include "data/context.hpp"
#include "io/http_server.hpp"
#include "www/result_spec.hpp"

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

namespace kiln::www {

// Who may see which builders: empty means every builder is visible.
struct Visibility {
    std::function<bool(std::string_view builder_name)> may_view_builder;
    bool is_restricted() const { return static_cast<bool>(may_view_builder); }
};

struct RestOptions {
    // A collection read without limit= returns at most this many items (meta.total still
    // counts them all); a larger (or negative) limit= is cut to it. Keeps a crawler from
    // making the master build huge answers.
    std::int64_t max_page_size = 1000;
    // A filter or order the database cannot apply (e.g. order on an object field) makes the
    // master read every match into memory: past this many, the answer is a 400 instead.
    std::int64_t max_unpaged_items = 10000;
};

class RestApi {
public:
    using ConfigSource = std::function<std::shared_ptr<const config::MasterConfig>()>;

    RestApi(data::Context& context, ConfigSource config, RestOptions options = {});
    ~RestApi();
    RestApi(const RestApi&) = delete;
    RestApi& operator=(const RestApi&) = delete;

    // Answers GET or HEAD for `path` (after "/api/v2/", without the query) and `query`.
    // pretty: the caller did not accept application/json.
    boost::asio::awaitable<io::HttpResponse> get(std::string path, std::string query, bool pretty,
                                                 bool head, Visibility visibility);

    // Every path pattern (application.spec's order), for other handlers (JSON-RPC) to match
    // paths the same way.
    const std::vector<std::string>& patterns() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// The paging of a collection read: limit= at most max_page_size (absent or negative: that),
// offset= at least 0.
void cap_paging(ResultSpec& spec, std::int64_t max_page_size);

// The body {"error": message} of REST errors, with status, as Buildbot sends them.
io::HttpResponse rest_error(int status, std::string_view message);

}  // namespace kiln::www
