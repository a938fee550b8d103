#include "apply/intent_authorization.h"

#include <set>

#include "common/safe_text.h"

namespace beemesh::apply {

std::string content_version_label(const Bytes& content_version) {
  return to_hex(content_version).substr(0, 32);
}

std::string content_version_label(std::string_view yaml) {
  return content_version_label(crypto::content_version(yaml));
}

Result<protocol::DesiredIntent> open_placement_intent(ByteView intent,
                                                      const std::string& manifest_id,
                                                      const crypto::PublicKey& owner) {
  auto opened = crypto::open_intent(intent);
  if (!opened) return opened.error();
  if (opened->owner_public_key != owner) {
    return make_error(std::string(codes::kIntentInvalid),
                      "the intent is not signed by the manifest's owner");
  }
  if (opened->manifest_id != manifest_id) {
    return make_error(std::string(codes::kIntentInvalid),
                      "the intent names manifest " + printable(opened->manifest_id, 128));
  }
  if (opened->tombstone) {
    return make_error(std::string(codes::kIntentTombstoned), "the intent is a tombstone");
  }
  if (opened->replicas == 0) {
    return make_error(std::string(codes::kIntentInvalid), "the intent asks for no replica");
  }
  return opened;
}

Result<void> check_not_superseded(const protocol::DesiredIntent& presented,
                                  const std::optional<crypto::DesiredState>& current) {
  if (!current) return {};
  if (current->intent.tombstone && (current->intent.sequence >= presented.sequence)) {
    return make_error(std::string(codes::kIntentTombstoned),
                      "the manifest was deleted by its owner (tombstone, sequence " +
                          std::to_string(current->intent.sequence) + ")");
  }
  if (crypto::supersedes(current->intent, presented)) {
    return make_error(std::string(codes::kIntentSuperseded),
                      "a newer intent (sequence " + std::to_string(current->intent.sequence) +
                          ") replaced sequence " + std::to_string(presented.sequence));
  }
  return {};
}

Result<void> check_intent_content(const protocol::DesiredIntent& intent, std::string_view yaml,
                                  const manifest::Manifest& manifest,
                                  const protocol::ApplyRequest& request,
                                  const std::string& self_node_id) {
  if (intent.content_version != crypto::content_version(yaml)) {
    return make_error(std::string(codes::kIntentWrongContent),
                      "the manifest is not the content version the owner's intent names");
  }
  std::set<std::string> doc_namespaces;
  for (const auto& d : manifest.documents) doc_namespaces.insert(d.namespace_);
  if (std::set<std::string>(intent.namespaces.begin(), intent.namespaces.end()) != doc_namespaces) {
    return make_error(std::string(codes::kIntentWrongContent),
                      "the intent names other namespaces than the manifest's documents");
  }
  if (!request.env.empty() || request.memory_limit_bytes != 0 || request.cpu_limit_millis != 0) {
    return make_error(std::string(codes::kIntentOverrides),
                      "a placement under the intent carries no env or limit overrides");
  }
  if (!intent.pinned_node.empty() && intent.pinned_node != self_node_id) {
    return make_error(std::string(codes::kIntentWrongNode),
                      "the intent pins the manifest to " + printable(intent.pinned_node, 128));
  }
  return {};
}

}  // namespace beemesh::apply
