// SPDX-License-Identifier: Apache-2.0
// Conversions between the master's JSON values (properties, config) and the worker
// protocol's msgpack-shaped values, at the worker boundary.
#pragma once

#include "protocol/value.hpp"

#include <boost/json/value.hpp>

namespace kiln::process {

protocol::Value to_protocol(const boost::json::value& value);
// Binary becomes a string of its bytes; maps keep their keys in order.
boost::json::value to_json(const protocol::Value& value);

}  // namespace kiln::process
