// crypto/sodium_init.h — private: libsodium initialisation, done once per process.
#pragma once

namespace beemesh::crypto::detail {

// Calls sodium_init() exactly once (thread-safe); aborts if libsodium cannot start, since
// no cryptography would be safe afterwards.
void ensure_sodium();

}  // namespace beemesh::crypto::detail
