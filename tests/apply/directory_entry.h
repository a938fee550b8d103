// tests/apply/directory_entry.h — the directory entry of test node `i` (name node-<i>, RPC
// endpoint 127.0.0.1:<first_port + i>, Mock engine), for the directory tests.
#pragma once

#include <string>

#include "apply/directory.h"
#include "crypto/identity.h"

namespace beemesh::apply::test_support {

inline NodeEntry directory_entry(const crypto::Identity& id, size_t i, int first_port) {
  return {id.node_id(),
          id.public_key(),
          "node-" + std::to_string(i),
          "127.0.0.1:" + std::to_string(first_port + static_cast<int>(i)),
          "",
          "mock",
          0};
}

}  // namespace beemesh::apply::test_support
