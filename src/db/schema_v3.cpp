// SPDX-License-Identifier: Apache-2.0
// Migration 3: an index of the requests still waiting, per builder in the order the
// distributor serves them (priority, then age). Partial (complete = 0), so it stays as small
// as the queue however long the history grows, and the distributor's per-wake queries read
// it in order instead of sorting the queue each time. PostgreSQL has the same syntax.
#include "db/database.hpp"
#include "db/detail/schema.hpp"

namespace kiln::db::detail {

std::string schema_v3_ddl(const SqlDialect&) {
    return R"sql(
CREATE INDEX buildrequests_waiting ON buildrequests (builderid, priority DESC, id) WHERE complete = 0;
)sql";
}

}  // namespace kiln::db::detail
