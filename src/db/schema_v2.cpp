// SPDX-License-Identifier: Apache-2.0
// Migration 2: what Kiln records beyond Buildbot's schema. buildrequest_collapses: a build
// request collapsed into another's build (completed SKIPPED) names the build that covered it,
// so the API can show it (/buildrequests/N/builds).
#include "db/database.hpp"
#include "db/detail/schema.hpp"

namespace kiln::db::detail {

std::string schema_v2_ddl(const SqlDialect&) {
    return R"sql(
CREATE TABLE buildrequest_collapses (
    brid INTEGER NOT NULL,
    buildid INTEGER NOT NULL,
    PRIMARY KEY (brid),
    FOREIGN KEY(brid) REFERENCES buildrequests (id) ON DELETE CASCADE,
    FOREIGN KEY(buildid) REFERENCES builds (id) ON DELETE CASCADE
);
CREATE INDEX buildrequest_collapses_buildid ON buildrequest_collapses (buildid);
)sql";
}

}  // namespace kiln::db::detail
