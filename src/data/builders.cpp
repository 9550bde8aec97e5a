// SPDX-License-Identifier: Apache-2.0
#include "data/builders.hpp"

#include "data/detail/rows.hpp"
#include "data/detail/sql.hpp"
#include "data/workers.hpp"

#include <set>

namespace kiln::data {

using detail::params;
namespace asio = boost::asio;

namespace detail {

Builder read_builder(db::Connection& c, const db::Row& row) {
    Builder builder;
    builder.builderid = row.integer(0);
    builder.name = row.text(1);
    builder.description = row.optional_text(2);
    c.query("SELECT tags.name FROM builders_tags JOIN tags ON builders_tags.tagid = tags.id WHERE "
            "builders_tags.builderid = ? ORDER BY tags.name",
            params(builder.builderid),
            [&](const db::Row& tag) { builder.tags.push_back(tag.text(0)); });
    c.query("SELECT masterid FROM builder_masters WHERE builderid = ? ORDER BY masterid",
            params(builder.builderid),
            [&](const db::Row& master) { builder.masterids.push_back(master.integer(0)); });
    return builder;
}

}  // namespace detail

using detail::read_builder;

namespace {

Id find_or_create_named(db::Connection& c, std::string_view table, const std::string& name) {
    const auto hash = detail::sha1_hex(name);
    const std::string table_name(table);
    c.execute("INSERT INTO " + table_name +
                  " (name, name_hash) VALUES (?, ?) ON CONFLICT DO NOTHING",
              params(name, hash));
    return c.query_one("SELECT id FROM " + table_name + " WHERE name_hash = ?", params(hash))
        ->integer(0);
}

std::optional<Builder> select_builder(db::Connection& c, std::string_view where,
                                      const db::Field& key) {
    auto row = c.query_one("SELECT id, name, description FROM builders WHERE " + std::string(where),
                           std::span<const db::Field>(&key, 1));
    if (!row) return std::nullopt;
    return read_builder(c, *row);
}

}  // namespace

namespace {

struct BuildersOutcome {
    std::map<std::string, Id> ids;
    std::vector<std::pair<Id, std::string>> started, stopped;
    std::vector<Builder> updated;
    std::map<std::string, Id> worker_ids;
};

BuildersOutcome configure_builders(db::Connection& c, Id masterid,
                                   const std::vector<BuilderSpec>& specs) {
    BuildersOutcome out;
    std::set<Id> wanted;
    for (const auto& spec : specs) {
        const auto id = find_or_create_named(c, "builders", spec.name);
        out.ids[spec.name] = id;
        wanted.insert(id);
        auto before = select_builder(c, "id = ?", db::Field(id));
        std::vector<std::string> tags = spec.tags;
        std::sort(tags.begin(), tags.end());
        tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
        const bool changed = before->description != spec.description || before->tags != tags;
        if (changed) {
            c.execute("UPDATE builders SET description = ? WHERE id = ?",
                      params(spec.description, id));
            c.execute("DELETE FROM builders_tags WHERE builderid = ?", params(id));
            for (const auto& tag : tags) {
                const auto tagid = find_or_create_named(c, "tags", tag);
                c.execute("INSERT INTO builders_tags (builderid, tagid) VALUES (?, ?)",
                          params(id, tagid));
            }
        }
        const auto linked = c.execute(
            "INSERT INTO builder_masters (builderid, masterid) VALUES (?, ?) ON CONFLICT DO "
            "NOTHING",
            params(id, masterid));
        if (linked > 0) out.started.emplace_back(id, spec.name);
        if (changed || linked > 0)
            out.updated.push_back(*select_builder(c, "id = ?", db::Field(id)));
    }
    for (const auto& row :
         c.query_all("SELECT builders.id, builders.name FROM builder_masters JOIN builders ON "
                     "builder_masters.builderid = builders.id WHERE builder_masters.masterid = ?",
                     params(masterid))) {
        if (wanted.count(row.integer(0))) continue;
        out.stopped.emplace_back(row.integer(0), row.text(1));
        c.execute("DELETE FROM builder_masters WHERE builderid = ? AND masterid = ?",
                  params(row.integer(0), masterid));
    }
    return out;
}

void announce_builders(bus::Bus& bus, Id masterid, const BuildersOutcome& outcome) {
    for (const auto& [id, name] : outcome.stopped)
        bus.publish({{"builders", std::to_string(id), "stopped"}},
                    boost::json::object{{"builderid", id}, {"masterid", masterid}, {"name", name}});
    for (const auto& [id, name] : outcome.started)
        bus.publish({{"builders", std::to_string(id), "started"}},
                    boost::json::object{{"builderid", id}, {"masterid", masterid}, {"name", name}});
    for (const auto& builder : outcome.updated)
        bus.publish({{"builders", std::to_string(builder.builderid), "update"}}, builder.to_json());
}

}  // namespace

asio::awaitable<std::map<std::string, Id>> Builders::configure(Id masterid,
                                                               std::vector<BuilderSpec> specs) {
    auto work = [masterid, specs = std::move(specs)](db::Connection& c) {
        return configure_builders(c, masterid, specs);
    };
    auto outcome = co_await context_.db.write(std::move(work));
    announce_builders(context_.bus, masterid, outcome);
    co_return outcome.ids;
}

asio::awaitable<Builders::Configured>
Builders::configure(Id masterid, std::vector<BuilderSpec> specs,
                    std::map<std::string, std::vector<std::string>> builders_by_worker) {
    auto work = [masterid, specs = std::move(specs),
                 wanted = std::move(builders_by_worker)](db::Connection& c) {
        auto out = configure_builders(c, masterid, specs);
        std::map<std::string, std::vector<Id>> by_id;
        for (const auto& [worker, builders] : wanted) {
            auto& ids = by_id[worker];
            for (const auto& builder : builders)
                ids.push_back(out.ids.at(builder));
        }
        out.worker_ids = configure_workers(c, masterid, by_id);
        return out;
    };
    auto outcome = co_await context_.db.write(std::move(work));
    announce_builders(context_.bus, masterid, outcome);
    co_return Configured{outcome.ids, outcome.worker_ids};
}

asio::awaitable<std::optional<Builder>> Builders::get(Id builderid) {
    auto work = [builderid](db::Connection& c) {
        return select_builder(c, "id = ?", db::Field(builderid));
    };
    co_return co_await context_.db.read(std::move(work));
}

asio::awaitable<std::optional<Builder>> Builders::find(std::string name) {
    auto work = [name](db::Connection& c) {
        return select_builder(c, "name_hash = ?", db::Field(detail::sha1_hex(name)));
    };
    co_return co_await context_.db.read(std::move(work));
}

}  // namespace kiln::data
