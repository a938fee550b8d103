// fuzz/fuzz_util.h — small helpers shared by the libFuzzer targets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "common/bytes.h"
#include "crypto/identity.h"

namespace beemesh::fuzz {

// A fuzz property failed: print and abort so libFuzzer records the input as a crash.
[[noreturn]] inline void fail(const char* what) {
  std::fprintf(stderr, "fuzz property violated: %s\n", what);
  std::abort();
}

// A fixed identity (deterministic seed) for targets that need valid signatures.
inline const crypto::Identity& fixed_identity(uint8_t which = 0) {
  static const crypto::Identity a = crypto::Identity::from_seed(crypto::Seed{1, 2, 3});
  static const crypto::Identity b = crypto::Identity::from_seed(crypto::Seed{4, 5, 6});
  return which == 0 ? a : b;
}

inline ByteView view(const uint8_t* data, size_t size) {
  return ByteView(data, size);
}

}  // namespace beemesh::fuzz
