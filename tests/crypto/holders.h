// tests/crypto/holders.h — a set of real node identities acting as key share holders.
#pragma once

#include <string>
#include <vector>

#include "crypto/identity.h"
#include "protocol/records.h"

namespace beemesh::crypto::testing {

struct Holders {
  std::vector<Identity> ids;
  std::vector<protocol::ShareHolder> records;

  explicit Holders(int count) {
    for (int i = 0; i < count; ++i) {
      ids.push_back(Identity::generate());
      records.push_back(protocol::ShareHolder{ids.back().node_id(), ids.back().public_key(),
                                              "127.0.0.1:" + std::to_string(7401 + i), 0});
    }
  }
};

}  // namespace beemesh::crypto::testing
