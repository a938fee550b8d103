// tests/protocol/samples.h — one fully populated value of every message and record type,
// for round-trip tests, the "no private key on the wire" test and fuzz seeds.
#pragma once

#include <cstdint>

#include "protocol/envelope.h"
#include "protocol/membership_records.h"
#include "protocol/messages.h"
#include "protocol/records.h"

namespace beemesh::protocol::samples {

inline PublicKeyBytes key(uint8_t fill) {
  PublicKeyBytes k{};
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(fill + i);
  return k;
}

inline ProviderRecord provider_record(const PublicKeyBytes& signer = key(1),
                                      const std::string& node_id = "bmnode") {
  ProviderRecord r;
  r.manifest_id = "0123456789abcdef0123456789abcdef";
  r.node_id = node_id;
  r.signer_public_key = signer;
  r.rpc_endpoint = "127.0.0.1:7401";
  r.engine = "podman";
  r.capabilities = {{"arch", "amd64"}, {"gpu", "none"}};
  r.timestamp_ms = 1'700'000'000'123;
  r.ttl_s = 300;
  r.sequence = 42;
  r.withdrawn = true;
  return r;
}

inline PeerRecord peer_record(const PublicKeyBytes& signer = key(2),
                              const std::string& node_id = "bmpeer") {
  PeerRecord r;
  r.node_id = node_id;
  r.signer_public_key = signer;
  r.endpoints = {"127.0.0.1:7401", "[::1]:7401"};
  r.timestamp_ms = 1'700'000'000'456;
  r.ttl_s = 600;
  r.sequence = 7;
  return r;
}

inline Grant grant(const PublicKeyBytes& node = key(3), const PublicKeyBytes& owner = key(4)) {
  Grant g;
  g.action = GrantAction::kDelete;
  g.manifest_id = "0123456789abcdef0123456789abcdef";
  g.node_id = "bmgrantee";
  g.node_public_key = node;
  g.owner_public_key = owner;
  g.issued_ms = 1'700'000'000'000;
  g.expires_ms = 1'700'000'600'000;
  g.content_hash = Bytes(kContentHashSize, 0xc4);
  return g;
}

inline AppliedManifest applied_manifest(const PublicKeyBytes& owner = key(5)) {
  AppliedManifest a;
  a.manifest_id = "0123456789abcdef0123456789abcdef";
  a.owner_public_key = owner;
  a.ciphertext = Bytes(100, 0xc1);
  a.nonce.fill(0x24);
  a.key_commitment.fill(0x32);
  a.threshold = 3;
  for (uint8_t i = 1; i <= 5; ++i) {
    a.share_holders.push_back(ShareHolder{"bmholder" + std::to_string(i),
                                          key(static_cast<uint8_t>(10 * i)),
                                          "127.0.0.1:74" + std::to_string(10 + i), i});
  }
  a.created_ms = 1'700'000'000'789;
  a.sequence = 3;
  return a;
}

inline SignedRecord signed_record() {
  SignedRecord s;
  s.record_type = RecordType::kPeerRecord;
  s.body = Bytes{1, 2, 3, 4, 5};
  s.signer_public_key = key(6);
  s.signature.fill(0x5a);
  return s;
}

inline Envelope envelope() {
  Envelope e;
  e.payload_type = PayloadType::kApplyRequest;
  e.nonce = Bytes(16, 0x11);
  e.timestamp_ms = 1'700'000'000'000;
  e.signer_public_key = key(7);
  e.payload = Bytes{9, 8, 7};
  e.signature.fill(0x77);
  return e;
}

inline ApplyRequest apply_request(const AppliedManifest& applied = applied_manifest(),
                                  const Bytes& grant_bytes = Bytes{0xaa, 0xbb}) {
  ApplyRequest m;
  m.request_id = "req-1";
  m.manifest_id = applied.manifest_id;
  m.owner_public_key = applied.owner_public_key;
  m.applied_manifest = applied;
  m.threshold = applied.threshold;
  m.grant = grant_bytes;
  m.workload_id = "wl-1";
  m.replicas = 2;
  m.total_replicas = 3;
  m.placement = {"bmnode1", "bmnode2"};
  m.env = {{"MODE", "prod"}, {"LEVEL", "3"}};
  m.labels = {{"team", "bees"}};
  m.memory_limit_bytes = 64 * 1024 * 1024;
  m.cpu_limit_millis = 500;
  return m;
}

inline ApplyResponse apply_response() {
  return ApplyResponse{kSchemaVersion,   "req-1", false,  "deploy_failed",
                       "podman said no", "mid",   "wl-1", "bmnode1"};
}

inline DeleteRequest delete_request(const PublicKeyBytes& owner = key(8),
                                    const Bytes& grant_bytes = Bytes{1, 2}) {
  return DeleteRequest{kSchemaVersion, "req-2", "mid", owner, "wl-1", grant_bytes};
}

inline DeleteResponse delete_response() {
  return DeleteResponse{kSchemaVersion, "req-2", true, "", "", "mid", "bmnode1", 2};
}

inline StoreShareRequest store_share_request(const PublicKeyBytes& owner = key(9),
                                             const Bytes& sealed = Bytes(82, 0x33)) {
  StoreShareRequest m;
  m.request_id = "req-3";
  m.manifest_id = "mid";
  m.owner_public_key = owner;
  m.share_index = 2;
  m.sealed_share = sealed;
  m.key_commitment.fill(0x44);
  m.threshold = 3;
  m.expires_ms = 1'700'000'900'000;
  return m;
}

inline StoreShareResponse store_share_response() {
  return StoreShareResponse{kSchemaVersion, "req-3", true, "", "", "mid", 2};
}

inline KeyShareRequest key_share_request(const Bytes& grant_bytes = Bytes{3, 4, 5}) {
  return KeyShareRequest{kSchemaVersion, "req-4", "mid", grant_bytes};
}

inline KeyShareResponse key_share_response(const Bytes& sealed = Bytes(82, 0x55)) {
  return KeyShareResponse{kSchemaVersion, "req-4", true, "", "", "mid", 4, sealed};
}

inline KeyShareBatchRequest key_share_batch_request() {
  return KeyShareBatchRequest{
      kSchemaVersion, "req-4b", {{"mid-1", Bytes{3, 4, 5}, 1}, {"mid-2", Bytes{6, 7}, 0}}};
}

inline KeyShareBatchResponse key_share_batch_response() {
  return KeyShareBatchResponse{kSchemaVersion,
                               "req-4b",
                               true,
                               "ok",
                               "",
                               {{true, "ok", "", "mid-1", 1, Bytes(74, 0x55)},
                                {false, "grant_wrong_node", "names another node", "mid-2", 0, {}}},
                               Bytes(32, 0x66)};
}

inline CapacityRequest capacity_request() {
  return CapacityRequest{kSchemaVersion, "req-5", "mid", 250, 128 * 1024 * 1024, 3, "podman"};
}

inline CapacityReply capacity_reply() {
  CapacityReply m;
  m.request_id = "req-5";
  m.node_id = "bmnode1";
  m.rpc_endpoint = "127.0.0.1:7401";
  m.accepts = true;
  m.available_cpu_millis = 1500;
  m.available_memory_bytes = 2LL << 30;
  m.max_replicas = 6;
  m.engine = "podman";
  m.score = 0.75;
  m.capabilities = {{"arch", "amd64"}};
  return m;
}

inline QueryRequest query_request() {
  return QueryRequest{kSchemaVersion, "req-7", "logs", "wl-1", 100};
}

inline QueryReply query_reply() {
  return QueryReply{kSchemaVersion, "req-7", true, "", "", "line 1\nline 2\n"};
}

inline ErrorReply error_reply() {
  return ErrorReply{kSchemaVersion, "req-6", "bad_signature", "envelope signature does not verify"};
}

inline ApiAuth api_auth() {
  ApiAuth m;
  m.method = "GET";
  m.path = "/workloads/wl-1/logs";
  m.audience_public_key.fill(0x5a);
  return m;
}

inline Certificate certificate(const PublicKeyBytes& subject = key(8)) {
  Certificate c;
  c.kind = CertKind::kUser;
  c.serial.fill(0x5e);
  c.subject_public_key = subject;
  c.name = "alice";
  c.role = Role::kDeployer;
  c.namespaces = {"default", "team-a"};
  c.mesh_id = "prod";
  c.issued_ms = 1'700'000'000'000;
  c.expires_ms = 1'731'536'000'000;
  return c;
}

inline Credential credential() {
  return Credential{kSchemaVersion, Bytes(40, 0xce), Bytes(24, 0x71)};
}

inline RevocationList revocation_list() {
  RevocationList r;
  r.mesh_id = "prod";
  r.sequence = 3;
  r.issued_ms = 1'700'000'000'000;
  r.serials = {SerialBytes{}, SerialBytes{}};
  r.serials[0].fill(0x01);
  r.serials[1].fill(0x02);
  r.subject_keys = {key(9)};
  return r;
}

}  // namespace beemesh::protocol::samples
