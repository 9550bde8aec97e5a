// SPDX-License-Identifier: Apache-2.0
#include "data/workers.hpp"

#include "data/detail/sql.hpp"
#include "data/events.hpp"

namespace kiln::data {

using detail::params;
namespace asio = boost::asio;

std::optional<Worker> read_worker(db::Connection& c, Id workerid) {
    auto row = c.query_one("SELECT id, name, info, paused, graceful FROM workers WHERE id = ?",
                           params(workerid));
    if (!row) return std::nullopt;
    Worker worker;
    worker.workerid = row->integer(0);
    worker.name = row->text(1);
    auto info = detail::from_json_text(row->text(2));
    if (info.is_object()) worker.workerinfo = info.as_object();
    worker.paused = row->integer(3) != 0;
    worker.graceful = row->integer(4) != 0;
    c.query("SELECT masterid FROM connected_workers WHERE workerid = ? ORDER BY masterid",
            params(workerid),
            [&](const db::Row& r) { worker.connected_to.push_back(r.integer(0)); });
    c.query(
        "SELECT bm.masterid, bm.builderid FROM configured_workers cw JOIN builder_masters bm ON "
        "cw.buildermasterid = bm.id WHERE cw.workerid = ? ORDER BY bm.masterid, bm.builderid",
        params(workerid),
        [&](const db::Row& r) { worker.configured_on.emplace_back(r.integer(0), r.integer(1)); });
    return worker;
}

std::map<std::string, Id> configure_workers(db::Connection& c, Id masterid,
                                            const std::map<std::string, std::vector<Id>>& wanted) {
    std::map<std::string, Id> ids;
    c.execute("DELETE FROM configured_workers WHERE buildermasterid IN (SELECT id FROM "
              "builder_masters WHERE masterid = ?)",
              params(masterid));
    for (const auto& [name, builderids] : wanted) {
        c.execute("INSERT INTO workers (name, info, paused, graceful) VALUES (?, '{}', 0, 0) ON "
                  "CONFLICT DO NOTHING",
                  params(name));
        const auto id =
            c.query_one("SELECT id FROM workers WHERE name = ?", params(name))->integer(0);
        ids[name] = id;
        for (auto builderid : builderids)
            c.execute(
                "INSERT INTO configured_workers (buildermasterid, workerid) SELECT id, ? FROM "
                "builder_masters WHERE builderid = ? AND masterid = ? ON CONFLICT DO NOTHING",
                params(id, builderid, masterid));
    }
    return ids;
}

asio::awaitable<std::map<std::string, Id>>
Workers::configure(Id masterid, std::map<std::string, std::vector<Id>> builders_by_worker) {
    auto work = [masterid, wanted = std::move(builders_by_worker)](db::Connection& c) {
        return configure_workers(c, masterid, wanted);
    };
    co_return co_await context_.db.write(std::move(work));
}

asio::awaitable<Worker> Workers::connected(Id workerid, Id masterid, boost::json::object info) {
    auto work = [workerid, masterid, text = detail::to_json_text(info)](db::Connection& c) {
        c.execute("UPDATE workers SET info = ? WHERE id = ?", params(text, workerid));
        c.execute("INSERT INTO connected_workers (masterid, workerid) VALUES (?, ?) ON "
                  "CONFLICT DO NOTHING",
                  params(masterid, workerid));
        return *read_worker(c, workerid);
    };
    auto worker = co_await context_.db.write(std::move(work));
    announce(context_.bus, worker, "connected");
    co_return worker;
}

asio::awaitable<Worker> Workers::disconnected(Id workerid, Id masterid) {
    auto work = [workerid, masterid](db::Connection& c) {
        c.execute("DELETE FROM connected_workers WHERE masterid = ? AND workerid = ?",
                  params(masterid, workerid));
        return *read_worker(c, workerid);
    };
    auto worker = co_await context_.db.write(std::move(work));
    announce(context_.bus, worker, "disconnected");
    co_return worker;
}

asio::awaitable<Worker> Workers::set_state(Id workerid, bool paused, bool graceful) {
    auto work = [workerid, paused, graceful](db::Connection& c) {
        c.execute("UPDATE workers SET paused = ?, graceful = ? WHERE id = ?",
                  params(paused, graceful, workerid));
        return *read_worker(c, workerid);
    };
    auto worker = co_await context_.db.write(std::move(work));
    announce(context_.bus, worker, "state_updated");
    co_return worker;
}

asio::awaitable<std::optional<Worker>> Workers::get(Id workerid) {
    auto work = [workerid](db::Connection& c) { return read_worker(c, workerid); };
    co_return co_await context_.db.read(std::move(work));
}

}  // namespace kiln::data
