// SPDX-License-Identifier: Apache-2.0
// Builders: every builder name ever configured (rows are never deleted), the tags and
// description from the config, and which masters run which builders.
#pragma once

#include "data/context.hpp"

#include <map>

#include <boost/asio/awaitable.hpp>

namespace kiln::data {

struct BuilderSpec {
    std::string name;
    std::optional<std::string> description;
    std::vector<std::string> tags;
};

class Builders {
public:
    explicit Builders(Context& context)
        : context_(context) {}

    // Makes the master's builders exactly these (one transaction): creates missing rows,
    // writes descriptions and tags, links them to the master and unlinks the others.
    // Announces builders/N/started|stopped|update. Returns name -> builderid.
    boost::asio::awaitable<std::map<std::string, Id>> configure(Id masterid,
                                                                std::vector<BuilderSpec> specs);

    struct Configured {
        std::map<std::string, Id> builder_ids;
        std::map<std::string, Id> worker_ids;
    };
    // The builders and the workers (name -> names of the builders it serves) of a config, in
    // ONE transaction: a reconfig is stored as a whole or not at all.
    boost::asio::awaitable<Configured>
    configure(Id masterid, std::vector<BuilderSpec> specs,
              std::map<std::string, std::vector<std::string>> builders_by_worker);
    boost::asio::awaitable<std::optional<Builder>> get(Id builderid);
    boost::asio::awaitable<std::optional<Builder>> find(std::string name);

private:
    Context& context_;
};

}  // namespace kiln::data
