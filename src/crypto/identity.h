// crypto/identity.h — node and user identities: an Ed25519 signing key with an X25519 key
// derived from it for sealed boxes, kept in a key file.
//
// Usage:
//   auto id = crypto::Identity::load_or_create(data_dir / "node.key");
//   if (!id) return id.error();          // e.g. "insecure_key_file"
//   crypto::Signature sig = id->sign(message);
//   bool ok = crypto::verify_signature(id->public_key(), message, sig);
//   std::string nid = id->node_id();     // "bm" + 32 base32 chars
//
// Promise:
//  * load_or_create() creates the key file on first use: parent directories it creates get
//    mode 0700, the file is written to a temporary name with mode 0600 and linked into
//    place atomically (never overwriting a file another process created meanwhile).
//  * Loading refuses a key file whose mode grants any permission to group or others with
//    Error "insecure_key_file" naming the path and the octal mode; an unreadable or corrupt
//    file gives "bad_key_file", a filesystem failure "io_error".
//  * Secret keys never leave this object: there is no accessor for them. Opening sealed
//    boxes (open_sealed) and deriving a box key with a peer (box_key_with) are the only uses
//    of the X25519 secret outside signing. The one
//    exception is crypto/tls_identity.cpp (friend TlsKeyAccess), which hands the Ed25519
//    seed to an in-memory OpenSSL key for the node's TLS certificate; it is never written
//    anywhere.
//    Secret memory is wiped (sodium_memzero) when the Identity is destroyed.
//  * Identity is movable, not copyable (share one with std::shared_ptr<const Identity>).
//    A moved-from Identity must not be used. All const methods are thread-safe.
//  * node_id_of(key) = "bm" + lowercase RFC 4648 base32 (no padding) of
//    BLAKE2b-160("beemesh-node-id-v1" || key): 34 printable characters, stable forever.
//  * credential() is the membership credential this identity presents (crypto/membership.h;
//    empty until set). sign_envelope() attaches it to every envelope and the provider
//    manager to every record it announces. set_credential() is meant to be called once at
//    startup, before the Identity is shared with other threads: it is not synchronised
//    with readers.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "common/bytes.h"
#include "common/result.h"

namespace beemesh::crypto {

using PublicKey = std::array<uint8_t, 32>;        // Ed25519 public key
using Signature = std::array<uint8_t, 64>;        // Ed25519 detached signature
using X25519PublicKey = std::array<uint8_t, 32>;  // Curve25519 public key (sealed boxes)
using Seed = std::array<uint8_t, 32>;             // the secret an Identity derives from

struct TlsKeyAccess;  // crypto/tls_identity.cpp

class Identity {
 public:
  static Identity generate();
  // Deterministic identity from a 32-byte seed (tests, key import).
  static Identity from_seed(const Seed& seed);
  static Result<Identity> load_or_create(const std::filesystem::path& key_file);

  Identity(Identity&&) noexcept;
  Identity& operator=(Identity&&) noexcept;
  Identity(const Identity&) = delete;
  Identity& operator=(const Identity&) = delete;
  ~Identity();

  const PublicKey& public_key() const { return public_key_; }
  std::string node_id() const;
  Signature sign(ByteView message) const;
  const X25519PublicKey& x25519_public_key() const { return x25519_public_key_; }

  // Opens a crypto_box_seal box addressed to x25519_public_key().
  // Error "bad_sealed_box" when it was not sealed to this identity or was tampered with.
  Result<Bytes> open_sealed(ByteView sealed) const;

  // The crypto_box key (crypto_box_beforenm: X25519 + HSalsa20) between this identity's
  // X25519 secret and `peer`, to open several boxes one sender sealed with the same
  // (ephemeral) key: a key-share batch answer (crypto/manifest_crypto.h). Not a secret of
  // this identity (only of the exchange with `peer`); wiped when destroyed. Error
  // "bad_public_key" when `peer` gives no key (a low-order point).
  Result<struct BoxKey> box_key_with(const X25519PublicKey& peer) const;

  // The membership credential presented with this identity's signatures (see above).
  void set_credential(Bytes credential) { credential_ = std::move(credential); }
  const Bytes& credential() const { return credential_; }

 private:
  friend struct TlsKeyAccess;
  struct Secrets;
  explicit Identity(const Seed& seed);

  std::unique_ptr<Secrets> secrets_;  // wiped in its destructor
  PublicKey public_key_{};
  X25519PublicKey x25519_public_key_{};
  Bytes credential_;  // public: not secret material
};

// A precomputed crypto_box key (crypto_box_BEFORENMBYTES); wiped when destroyed; move-only.
struct BoxKey {
  std::array<uint8_t, 32> bytes{};
  BoxKey() = default;
  BoxKey(const BoxKey&) = delete;
  BoxKey& operator=(const BoxKey&) = delete;
  BoxKey(BoxKey&& other) noexcept;
  BoxKey& operator=(BoxKey&& other) noexcept;
  ~BoxKey();
};

bool verify_signature(const PublicKey& key, ByteView message, const Signature& sig);

// Printable node id of a public key (see the promise above).
std::string node_id_of(const PublicKey& key);
// True when `id` has the shape node_id_of() produces.
bool is_valid_node_id(std::string_view id);

// The X25519 key a holder of `key` opens sealed boxes with. Error "bad_public_key" when
// `key` is not a valid Ed25519 point.
Result<X25519PublicKey> x25519_of(const PublicKey& key);

// crypto_box_seal: anonymous encryption of `plaintext` to `recipient`.
Bytes seal_to(const X25519PublicKey& recipient, ByteView plaintext);

}  // namespace beemesh::crypto
