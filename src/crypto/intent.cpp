#include "crypto/intent.h"

#include <sodium.h>

#include "crypto/records.h"
#include "crypto/signing_layout.h"
#include "crypto/sodium_init.h"

namespace beemesh::crypto {

namespace {
constexpr std::string_view kContentVersionDomain = "beemesh-content-version-v1";
}  // namespace

Bytes content_version(std::string_view manifest_yaml) {
  Bytes encoded;
  encoded.reserve(kContentVersionDomain.size() + 4 + manifest_yaml.size());
  detail::append(encoded, as_bytes(kContentVersionDomain));
  detail::append_lp(encoded, as_bytes(manifest_yaml));
  detail::ensure_sodium();
  Bytes hash(protocol::kContentVersionSize);
  crypto_generichash(hash.data(), hash.size(), encoded.data(), encoded.size(), nullptr, 0);
  return hash;
}

Bytes sign_intent(const Identity& owner, const protocol::DesiredIntent& intent) {
  return sign_record(owner, RecordType::kDesiredIntent, protocol::encode_desired_intent(intent));
}

Result<protocol::DesiredIntent> open_intent(ByteView signed_intent) {
  auto verified =
      open_record(signed_intent, RecordType::kDesiredIntent, protocol::kMaxSignedIntentSize);
  if (!verified) return verified.error();
  auto intent = protocol::decode_desired_intent(verified->body);
  if (!intent) return intent.error();
  if (intent->owner_public_key != verified->signer) {
    return make_error("signer_mismatch", "intent for manifest " + intent->manifest_id +
                                             " names owner " +
                                             node_id_of(intent->owner_public_key) +
                                             " but was signed by " + node_id_of(verified->signer));
  }
  return intent;
}

Result<DesiredState> open_desired_state(ByteView value, const Membership* membership) {
  auto record = protocol::decode_desired_state_record(value);
  if (!record) return record.error();
  auto intent = open_intent(record->intent);
  if (!intent) return intent.error();
  const std::string where = "intent for manifest " + intent->manifest_id;
  if (membership) {
    auto member = membership->verify(record->owner_credential, intent->owner_public_key);
    if (!member) return member.error();
    if (member->kind != CertKind::kUser || member->role < Role::kDeployer) {
      return make_error("forbidden_role",
                        where + ": the owner is not a user of role deployer or admin");
    }
    for (const auto& ns : intent->namespaces) {
      if (!member->may_use_namespace(ns)) {
        return make_error("forbidden_namespace",
                          where + ": the owner may not deploy in namespace " + ns);
      }
    }
  }
  DesiredState out;
  if (!record->applied_manifest.empty()) {
    if (intent->tombstone) {
      return make_error(std::string(protocol::kErrMalformed),
                        where + ": a tombstone carries no manifest");
    }
    auto applied = open_applied_manifest(record->applied_manifest);
    if (!applied) return applied.error();
    if (applied->manifest_id != intent->manifest_id) {
      return make_error("intent_mismatch",
                        where + " carries the encrypted manifest of " + applied->manifest_id);
    }
    out.applied = std::move(*applied);
  }
  out.intent = std::move(*intent);
  out.value.assign(value.begin(), value.end());
  return out;
}

Bytes make_desired_state_value(ByteView signed_intent, ByteView owner_credential,
                               ByteView signed_applied_manifest) {
  protocol::DesiredStateRecord record;
  record.intent.assign(signed_intent.begin(), signed_intent.end());
  record.owner_credential.assign(owner_credential.begin(), owner_credential.end());
  record.applied_manifest.assign(signed_applied_manifest.begin(), signed_applied_manifest.end());
  return protocol::encode_desired_state_record(record);
}

bool supersedes(const protocol::DesiredIntent& a, const protocol::DesiredIntent& b) {
  if (a.manifest_id != b.manifest_id || a.owner_public_key != b.owner_public_key) return false;
  if (a.sequence != b.sequence) return a.sequence > b.sequence;
  return a.tombstone && !b.tombstone;
}

}  // namespace beemesh::crypto
