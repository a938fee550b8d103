// No private key (nor any other secret: manifest key, plain key shares) appears in any
// message or record type. Every type is encoded with real identities and real data, both
// bare and inside a signed envelope, and searched for every 16-byte window of every secret.
#include <gtest/gtest.h>
#include <sodium.h>

#include <algorithm>
#include <string>
#include <vector>

#include "crypto/envelope.h"
#include "crypto/grants.h"
#include "crypto/manifest_crypto.h"
#include "crypto/records.h"

namespace beemesh::crypto {
namespace {

struct KnownIdentity {
  Seed seed;
  Identity id;
  static KnownIdentity make() {
    Seed seed{};
    randombytes_buf(seed.data(), seed.size());
    return KnownIdentity{seed, Identity::from_seed(seed)};
  }
  // Everything secret derivable from the seed, as libsodium stores it.
  std::vector<Bytes> secrets() const {
    std::vector<Bytes> out;
    out.emplace_back(seed.begin(), seed.end());
    std::array<uint8_t, crypto_hash_sha512_BYTES> expanded{};
    crypto_hash_sha512(expanded.data(), seed.data(), seed.size());
    out.emplace_back(expanded.begin(), expanded.begin() + 32);  // scalar (unclamped)
    out.emplace_back(expanded.begin() + 32, expanded.end());    // nonce prefix
    std::array<uint8_t, crypto_sign_SECRETKEYBYTES> sk{};
    std::array<uint8_t, crypto_sign_PUBLICKEYBYTES> pk{};
    crypto_sign_seed_keypair(pk.data(), sk.data(), seed.data());
    std::array<uint8_t, 32> x_sk{};
    crypto_sign_ed25519_sk_to_curve25519(x_sk.data(), sk.data());
    out.emplace_back(x_sk.begin(), x_sk.end());  // X25519 secret (clamped scalar)
    return out;
  }
};

bool contains_window(const Bytes& haystack, const Bytes& secret, size_t window) {
  for (size_t start = 0; start + window <= secret.size(); ++start) {
    auto first = secret.begin() + static_cast<std::ptrdiff_t>(start);
    if (std::search(haystack.begin(), haystack.end(), first,
                    first + static_cast<std::ptrdiff_t>(window)) != haystack.end()) {
      return true;
    }
  }
  return false;
}

TEST(NoPrivateKeys, NoSecretAppearsInAnyEncodedMessageOrRecord) {
  ManualClock clock;
  const std::string mid = "0123456789abcdef0123456789abcdef";
  std::vector<KnownIdentity> ids;
  for (int i = 0; i < 7; ++i) ids.push_back(KnownIdentity::make());
  const Identity& owner = ids[0].id;
  const Identity& deployer = ids[1].id;
  std::vector<protocol::ShareHolder> holder_records;
  for (int i = 2; i < 7; ++i) {
    holder_records.push_back({ids[i].id.node_id(), ids[i].id.public_key(), "127.0.0.1:7401", 0});
  }

  auto enc = encrypt_manifest(mid, owner.public_key(), as_bytes("kind: Pod\nsecret: hunter2\n"),
                              holder_records, {}, clock.now_ms())
                 .value();
  Bytes key_grant = issue_grant(owner, GrantAction::kKeyShare, mid, deployer.public_key(),
                                clock.now_ms(), clock.now_ms() + 60'000);
  Bytes delete_grant = issue_grant(owner, GrantAction::kDelete, mid, deployer.public_key(),
                                   clock.now_ms(), clock.now_ms() + 60'000);

  // Secrets beyond the identities: the manifest key and every plain share.
  std::vector<Bytes> secrets;
  for (const auto& k : ids) {
    auto s = k.secrets();
    secrets.insert(secrets.end(), s.begin(), s.end());
  }
  std::vector<KeyShare> plain_shares;
  std::vector<Bytes> resealed;
  for (size_t i = 0; i < enc.shares.size(); ++i) {
    const Identity& holder = ids[i + 2].id;
    auto share = open_share(holder, enc.shares[i].sealed, enc.shares[i].holder.share_index);
    ASSERT_TRUE(share.ok());
    plain_shares.push_back(*share);
    secrets.emplace_back(share->data.begin(), share->data.end());
    StoredShare stored{mid, owner.public_key(), enc.shares[i].holder.share_index,
                       enc.shares[i].sealed};
    resealed.push_back(
        release_share(holder, stored, deployer.public_key(), key_grant, clock).value());
  }
  auto manifest_key = reconstruct_key(enc.applied, plain_shares).value();
  secrets.emplace_back(manifest_key.bytes().begin(), manifest_key.bytes().end());

  // Every message type, populated with the real material. (Designated initializers would
  // trip -Wmissing-field-initializers, so fields are assigned.)
  std::vector<std::pair<std::string, Bytes>> encoded;
  auto add_message = [&](const std::string& name, const auto& m, const Identity& signer) {
    encoded.emplace_back(name, protocol::encode(m));
    encoded.emplace_back(name + " in envelope", sign_message(signer, m, clock));
  };
  protocol::ApplyRequest apply;
  apply.request_id = "r1";
  apply.manifest_id = mid;
  apply.owner_public_key = owner.public_key();
  apply.applied_manifest = enc.applied;
  apply.threshold = enc.applied.threshold;
  apply.grant = key_grant;
  apply.workload_id = "w1";
  apply.placement = {deployer.node_id()};
  apply.env = {{"A", "b"}};
  apply.labels = {{"l", "v"}};
  add_message("ApplyRequest", apply, owner);

  protocol::ApplyResponse apply_response;
  apply_response.ok = true;
  apply_response.manifest_id = mid;
  apply_response.node_id = deployer.node_id();
  add_message("ApplyResponse", apply_response, deployer);

  protocol::DeleteRequest del;
  del.manifest_id = mid;
  del.owner_public_key = owner.public_key();
  del.grant = delete_grant;
  add_message("DeleteRequest", del, deployer);

  protocol::DeleteResponse del_response;
  del_response.ok = true;
  del_response.node_id = deployer.node_id();
  add_message("DeleteResponse", del_response, deployer);

  for (size_t i = 0; i < enc.shares.size(); ++i) {
    protocol::StoreShareRequest store;
    store.manifest_id = mid;
    store.owner_public_key = owner.public_key();
    store.share_index = enc.shares[i].holder.share_index;
    store.sealed_share = enc.shares[i].sealed;
    store.key_commitment = enc.applied.key_commitment;
    store.threshold = enc.applied.threshold;
    add_message("StoreShareRequest", store, owner);

    protocol::KeyShareResponse key_response;
    key_response.ok = true;
    key_response.manifest_id = mid;
    key_response.share_index = enc.shares[i].holder.share_index;
    key_response.sealed_share = resealed[i];
    add_message("KeyShareResponse", key_response, ids[i + 2].id);
  }
  protocol::StoreShareResponse store_response;
  store_response.ok = true;
  store_response.manifest_id = mid;
  add_message("StoreShareResponse", store_response, ids[2].id);

  protocol::KeyShareRequest key_request;
  key_request.manifest_id = mid;
  key_request.grant = key_grant;
  add_message("KeyShareRequest", key_request, deployer);

  protocol::CapacityRequest capacity;
  capacity.manifest_id = mid;
  capacity.memory_bytes = 1 << 20;
  add_message("CapacityRequest", capacity, owner);

  protocol::CapacityReply capacity_reply;
  capacity_reply.node_id = deployer.node_id();
  capacity_reply.accepts = true;
  add_message("CapacityReply", capacity_reply, deployer);

  protocol::QueryRequest query;
  query.kind = "logs";
  query.workload_id = "w1";
  add_message("QueryRequest", query, owner);

  protocol::QueryReply query_reply;
  query_reply.ok = true;
  query_reply.body = "log line";
  add_message("QueryReply", query_reply, deployer);

  protocol::ErrorReply error_reply;
  error_reply.code = "replay";
  add_message("ErrorReply", error_reply, deployer);

  // Every record type, bare and signed.
  protocol::ProviderRecord provider;
  provider.manifest_id = mid;
  provider.node_id = deployer.node_id();
  provider.signer_public_key = deployer.public_key();
  provider.rpc_endpoint = "127.0.0.1:7401";
  encoded.emplace_back("ProviderRecord", protocol::encode_provider_record(provider));
  encoded.emplace_back("signed ProviderRecord", sign_provider_record(deployer, provider));
  protocol::PeerRecord peer;
  peer.node_id = deployer.node_id();
  peer.signer_public_key = deployer.public_key();
  peer.endpoints = {"127.0.0.1:7401"};
  encoded.emplace_back("PeerRecord", protocol::encode_peer_record(peer));
  encoded.emplace_back("signed PeerRecord", sign_peer_record(deployer, peer));
  encoded.emplace_back("AppliedManifest", protocol::encode_applied_manifest(enc.applied));
  encoded.emplace_back("signed AppliedManifest", sign_applied_manifest(owner, enc.applied));
  encoded.emplace_back("signed Grant (key share)", key_grant);
  encoded.emplace_back("signed Grant (delete)", delete_grant);
  encoded.emplace_back("Grant", protocol::encode_grant(open_grant(key_grant).value()));

  ASSERT_GE(encoded.size(), 30u);
  for (const auto& [name, bytes] : encoded) {
    for (size_t s = 0; s < secrets.size(); ++s) {
      EXPECT_FALSE(contains_window(bytes, secrets[s], 16))
          << name << " contains 16 bytes of secret #" << s;
    }
  }
}

}  // namespace
}  // namespace beemesh::crypto
