// apply/publisher_context.h — internal to the Publisher (publisher.cpp, replace.cpp): the
// state of one placement pipeline run (an apply, or a re-placement under the intent).
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "apply/holder_order.h"
#include "apply/publisher.h"
#include "crypto/manifest_crypto.h"
#include "manifest/manifest.h"
#include "protocol/intent.h"

namespace beemesh::apply {

struct Publisher::Context {
  PublishRequest request;
  Progress progress;
  manifest::Manifest manifest;
  crypto::PublicKey owner{};
  std::string manifest_id;
  int replicas = 1;
  scheduler::Demand demand;
  std::vector<NodeEntry> nodes;
  // What this apply's capacity requests heard from `nodes`: the share holders are drawn
  // from those that answered first (a sampled node may be dead and not known so yet).
  CapacityAnswers answers;
  crypto::EncryptedManifest encrypted;
  // The authorization every StoreShareRequest and ApplyRequest carries: the owner's apply
  // grant naming this node, or (empty grant: a re-placement) the owner's intent.
  Bytes owner_grant;
  Bytes intent_bytes;  // owner-signed, when the request has one
  std::optional<protocol::DesiredIntent> intent;
};

// Per-replica demand of a manifest (its resources over its workload replicas).
scheduler::Demand demand_of(const manifest::Manifest& m);

}  // namespace beemesh::apply
