// SPDX-License-Identifier: Apache-2.0
// Migration 3: an index of build requests by (complete, builder, priority, id): the order the
// distributor serves a builder's waiting requests in. Its queries then read only the waiting
// requests they need (an index range, no sort), and finding the builders with waiting
// requests takes one probe per builder, however long the queue and the history grow. A plain
// composite index (not a partial one): SQLite's and PostgreSQL's planners pick it without
// statistics.
#include "db/database.hpp"
#include "db/detail/schema.hpp"

namespace kiln::db::detail {

std::string schema_v3_ddl(const SqlDialect&) {
    return R"sql(
CREATE INDEX buildrequests_queue ON buildrequests (complete, builderid, priority DESC, id);
)sql";
}

}  // namespace kiln::db::detail
