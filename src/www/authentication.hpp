// SPDX-License-Identifier: Apache-2.0
// Authentication: who sent a request and what proved it, as Authenticator found it.
#pragma once

#include "www/user.hpp"

namespace kiln::www {

enum class CredentialKind {
    none,     // nothing (or only an invalid or expired session cookie): anonymous
    session,  // the signed session cookie a login set (a browser)
    basic,    // Authorization: Basic user:password (a script, or a browser's login dialog)
    bearer,   // Authorization: Bearer <API token> (a script)
};

struct Authentication {
    User user;  // anonymous for CredentialKind::none
    CredentialKind credentials = CredentialKind::none;
};

}  // namespace kiln::www
