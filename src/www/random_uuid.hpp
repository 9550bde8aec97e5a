// SPDX-License-Identifier: Apache-2.0
// random_uuid(): a random (version 4) UUID in its text form, as Python's str(uuid.uuid4()).
#pragma once

#include <string>

namespace kiln::www {

// "8ac4b4e4-8ceb-476c-95e6-6a2d3967903d": 122 random bits from libsodium's randombytes_buf
// (std::random_device when libsodium cannot start), lower-case hex.
std::string random_uuid();

}  // namespace kiln::www
