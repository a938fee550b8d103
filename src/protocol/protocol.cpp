#include "protocol/protocol.h"

namespace beemesh::protocol {

std::string_view payload_type_name(PayloadType type) {
  switch (type) {
    case PayloadType::kApplyRequest:
      return "apply_request";
    case PayloadType::kApplyResponse:
      return "apply_response";
    case PayloadType::kDeleteRequest:
      return "delete_request";
    case PayloadType::kDeleteResponse:
      return "delete_response";
    case PayloadType::kKeyShareRequest:
      return "key_share_request";
    case PayloadType::kKeyShareResponse:
      return "key_share_response";
    case PayloadType::kStoreShareRequest:
      return "store_share_request";
    case PayloadType::kStoreShareResponse:
      return "store_share_response";
    case PayloadType::kCapacityRequest:
      return "capacity_request";
    case PayloadType::kCapacityReply:
      return "capacity_reply";
    case PayloadType::kErrorReply:
      return "error_reply";
    case PayloadType::kQueryRequest:
      return "query_request";
    case PayloadType::kQueryReply:
      return "query_reply";
    case PayloadType::kApiAuth:
      return "api_auth";
    case PayloadType::kKeyShareBatchRequest:
      return "key_share_batch_request";
    case PayloadType::kKeyShareBatchResponse:
      return "key_share_batch_response";
  }
  return "unknown";
}

std::string_view record_type_name(RecordType type) {
  switch (type) {
    case RecordType::kProviderRecord:
      return "provider_record";
    case RecordType::kPeerRecord:
      return "peer_record";
    case RecordType::kAppliedManifest:
      return "applied_manifest";
    case RecordType::kGrant:
      return "grant";
    case RecordType::kCertificate:
      return "certificate";
    case RecordType::kRevocationList:
      return "revocation_list";
    case RecordType::kDesiredIntent:
      return "desired_intent";
    case RecordType::kHeartbeat:
      return "heartbeat";
  }
  return "unknown";
}

}  // namespace beemesh::protocol
