// apply/intent_authorization.h — a placement authorised by the owner's desired-state
// intent instead of a 10-minute apply grant: what the reconcile loop's re-placements carry
// (docs/SECURITY.md "The owner's desired-state intent", docs/ARCHITECTURE.md "Reconcile loop").
//
// Promise (each refusal has its own code):
//  * open_placement_intent(): the bytes are an owner-signed DesiredIntent (crypto::open_intent
//    codes pass through) signed by `owner` for `manifest_id` ("intent_invalid"), not a
//    tombstone ("intent_tombstoned"), asking for at least one replica ("intent_invalid").
//  * check_not_superseded(): the current desired state this node knows (its
//    DesiredStateStore, after a bounded DHT read) is not a tombstone ("intent_tombstoned")
//    and does not supersede the presented intent ("intent_superseded"). Nothing known:
//    the presented (owner-signed) intent stands.
//  * check_intent_content(): the decrypted YAML is exactly the intent's content version
//    ("intent_wrong_content"), its documents' namespaces are the intent's, no env or limit
//    overrides ride along ("intent_overrides": the intent covers the YAML only), and a
//    pinned intent names this node ("intent_wrong_node").
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "common/result.h"
#include "crypto/intent.h"
#include "manifest/manifest.h"
#include "protocol/intent.h"
#include "protocol/messages.h"

namespace beemesh::apply {

namespace codes {
inline constexpr std::string_view kIntentInvalid = "intent_invalid";
inline constexpr std::string_view kIntentTombstoned = "intent_tombstoned";
inline constexpr std::string_view kIntentSuperseded = "intent_superseded";
inline constexpr std::string_view kIntentWrongContent = "intent_wrong_content";
inline constexpr std::string_view kIntentOverrides = "intent_overrides";
inline constexpr std::string_view kIntentWrongNode = "intent_wrong_node";
inline constexpr std::string_view kAlreadyRunning = "already_running";
}  // namespace codes

// What a replica is labelled with and announces (workload::kContentVersionLabel): the first
// 32 hex characters (128 bits) of crypto::content_version(yaml) — a Kubernetes label value
// holds at most 63.
std::string content_version_label(std::string_view yaml);
std::string content_version_label(const Bytes& content_version);

Result<protocol::DesiredIntent> open_placement_intent(ByteView intent,
                                                      const std::string& manifest_id,
                                                      const crypto::PublicKey& owner);

Result<void> check_not_superseded(const protocol::DesiredIntent& presented,
                                  const std::optional<crypto::DesiredState>& current);

Result<void> check_intent_content(const protocol::DesiredIntent& intent, std::string_view yaml,
                                  const manifest::Manifest& manifest,
                                  const protocol::ApplyRequest& request,
                                  const std::string& self_node_id);

}  // namespace beemesh::apply
