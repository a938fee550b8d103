#include "protocol/intent.h"

#include "protocol/fb_util.h"
#include "protocol/intent_generated.h"

namespace beemesh::protocol {

namespace fbp = beemesh::protocol::fb;
using namespace detail;  // NOLINT(google-build-using-namespace): this folder's helpers

namespace {

Result<void> bounded(const std::string& s, std::string_view what, std::string_view field) {
  if (s.size() > kMaxIntentStringSize) {
    return malformed(what, std::string(field) + ": " + std::to_string(s.size()) +
                               " bytes exceeds " + std::to_string(kMaxIntentStringSize));
  }
  return ok_result();
}

}  // namespace

Bytes encode_desired_intent(const DesiredIntent& i) {
  flatbuffers::FlatBufferBuilder fbb(512);
  auto manifest_id = fbb.CreateString(i.manifest_id);
  auto owner = make_bytes(fbb, i.owner_public_key);
  auto namespaces = fbb.CreateVectorOfStrings(i.namespaces);
  auto name = fbb.CreateString(i.name);
  auto version = i.content_version.empty() ? 0 : make_bytes(fbb, i.content_version);
  auto pinned = fbb.CreateString(i.pinned_node);
  fbb.Finish(fbp::CreateDesiredIntent(fbb, i.schema_version, i.tombstone, manifest_id, owner,
                                      namespaces, name, version, i.sequence, i.replicas, pinned,
                                      i.issued_ms, i.expires_ms));
  return finish(fbb);
}

Result<DesiredIntent> decode_desired_intent(ByteView bytes, size_t max_size) {
  constexpr std::string_view what = "desired intent";
  Bytes storage;
  auto root = verify_root<fbp::DesiredIntent>(bytes, max_size, what, storage);
  if (!root) return root.error();
  const auto* m = *root;
  if (auto v = check_version(m->schema_version(), what); !v) return v.error();
  DesiredIntent out;
  out.schema_version = m->schema_version();
  out.tombstone = m->tombstone();
  out.manifest_id = str(m->manifest_id());
  if (out.manifest_id.empty()) return malformed(what, "manifest_id: missing");
  auto owner = fixed<32>(m->owner_public_key(), what, "owner_public_key");
  if (!owner) return owner.error();
  out.owner_public_key = *owner;
  if (m->namespaces() && m->namespaces()->size() > kMaxIntentNamespaces) {
    return malformed(what, "namespaces: more than " + std::to_string(kMaxIntentNamespaces));
  }
  out.namespaces = strings(m->namespaces());
  out.name = str(m->name());
  out.pinned_node = str(m->pinned_node());
  for (const auto* s : {&out.manifest_id, &out.name, &out.pinned_node}) {
    if (auto b = bounded(*s, what, "string field"); !b) return b.error();
  }
  for (const auto& ns : out.namespaces) {
    if (auto b = bounded(ns, what, "namespaces"); !b) return b.error();
  }
  if (out.tombstone) {
    if (m->content_version()) return malformed(what, "content_version: present on a tombstone");
  } else {
    auto version = fixed<kContentVersionSize>(m->content_version(), what, "content_version");
    if (!version) return version.error();
    out.content_version.assign(version->begin(), version->end());
  }
  out.sequence = m->sequence();
  out.replicas = m->replicas();
  if (out.replicas > kMaxIntentReplicas) {
    return malformed(what, "replicas: " + std::to_string(out.replicas) + " exceeds " +
                               std::to_string(kMaxIntentReplicas));
  }
  out.issued_ms = m->issued_ms();
  out.expires_ms = m->expires_ms();
  return out;
}

Bytes encode_desired_state_record(const DesiredStateRecord& r) {
  flatbuffers::FlatBufferBuilder fbb(r.intent.size() + r.owner_credential.size() +
                                     r.applied_manifest.size() + 128);
  auto intent = make_bytes(fbb, r.intent);
  auto credential = r.owner_credential.empty() ? 0 : make_bytes(fbb, r.owner_credential);
  auto applied = r.applied_manifest.empty() ? 0 : make_bytes(fbb, r.applied_manifest);
  fbb.Finish(fbp::CreateDesiredStateRecord(fbb, r.schema_version, intent, credential, applied));
  return finish(fbb);
}

Result<DesiredStateRecord> decode_desired_state_record(ByteView bytes, size_t max_size) {
  constexpr std::string_view what = "desired state record";
  Bytes storage;
  auto root = verify_root<fbp::DesiredStateRecord>(bytes, max_size, what, storage);
  if (!root) return root.error();
  const auto* m = *root;
  if (auto v = check_version(m->schema_version(), what); !v) return v.error();
  DesiredStateRecord out;
  out.schema_version = m->schema_version();
  if (!m->intent() || m->intent()->size() == 0) return malformed(what, "intent: missing");
  if (m->intent()->size() > kMaxSignedIntentSize) {
    return malformed(what, "intent: larger than " + std::to_string(kMaxSignedIntentSize));
  }
  if (m->owner_credential() && m->owner_credential()->size() > kMaxIntentCredentialSize) {
    return malformed(what,
                     "owner_credential: larger than " + std::to_string(kMaxIntentCredentialSize));
  }
  out.intent = bytes_of(m->intent());
  out.owner_credential = bytes_of(m->owner_credential());
  out.applied_manifest = bytes_of(m->applied_manifest());
  return out;
}

}  // namespace beemesh::protocol
