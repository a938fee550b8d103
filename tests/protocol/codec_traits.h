// tests/protocol/codec_traits.h — one uniform encode/decode/sample interface over every
// message and record type, so typed tests cover them all.
#pragma once

#include "protocol/envelope.h"
#include "protocol/membership_records.h"
#include "protocol/messages.h"
#include "protocol/records.h"
#include "protocol/samples.h"

namespace beemesh::protocol::testing {

template <typename T>
struct Codec {
  static T sample();
  static Bytes encode(const T& v) { return protocol::encode(v); }
  static Result<T> decode(ByteView b, size_t max = kMaxMessageSize) {
    return protocol::decode<T>(b, max);
  }
};

#define BEEMESH_MESSAGE_SAMPLE(Type, fn) \
  template <>                            \
  inline Type Codec<Type>::sample() {    \
    return samples::fn();                \
  }
BEEMESH_MESSAGE_SAMPLE(ApplyRequest, apply_request)
BEEMESH_MESSAGE_SAMPLE(ApplyResponse, apply_response)
BEEMESH_MESSAGE_SAMPLE(DeleteRequest, delete_request)
BEEMESH_MESSAGE_SAMPLE(DeleteResponse, delete_response)
BEEMESH_MESSAGE_SAMPLE(StoreShareRequest, store_share_request)
BEEMESH_MESSAGE_SAMPLE(StoreShareResponse, store_share_response)
BEEMESH_MESSAGE_SAMPLE(KeyShareRequest, key_share_request)
BEEMESH_MESSAGE_SAMPLE(KeyShareResponse, key_share_response)
BEEMESH_MESSAGE_SAMPLE(KeyShareBatchRequest, key_share_batch_request)
BEEMESH_MESSAGE_SAMPLE(KeyShareBatchResponse, key_share_batch_response)
BEEMESH_MESSAGE_SAMPLE(CapacityRequest, capacity_request)
BEEMESH_MESSAGE_SAMPLE(CapacityReply, capacity_reply)
BEEMESH_MESSAGE_SAMPLE(QueryRequest, query_request)
BEEMESH_MESSAGE_SAMPLE(QueryReply, query_reply)
BEEMESH_MESSAGE_SAMPLE(ErrorReply, error_reply)
BEEMESH_MESSAGE_SAMPLE(ApiAuth, api_auth)
#undef BEEMESH_MESSAGE_SAMPLE

#define BEEMESH_RECORD_CODEC(Type, fn, enc, dec)                                                 \
  template <>                                                                                    \
  struct Codec<Type> {                                                                           \
    static Type sample() { return samples::fn(); }                                               \
    static Bytes encode(const Type& v) { return enc(v); }                                        \
    static Result<Type> decode(ByteView b, size_t max = kMaxMessageSize) { return dec(b, max); } \
  };
BEEMESH_RECORD_CODEC(Envelope, envelope, encode_envelope, decode_envelope)
BEEMESH_RECORD_CODEC(SignedRecord, signed_record, encode_signed_record, decode_signed_record)
BEEMESH_RECORD_CODEC(ProviderRecord, provider_record, encode_provider_record,
                     decode_provider_record)
BEEMESH_RECORD_CODEC(PeerRecord, peer_record, encode_peer_record, decode_peer_record)
BEEMESH_RECORD_CODEC(Grant, grant, encode_grant, decode_grant)
BEEMESH_RECORD_CODEC(AppliedManifest, applied_manifest, encode_applied_manifest,
                     decode_applied_manifest)
BEEMESH_RECORD_CODEC(Certificate, certificate, encode_certificate, decode_certificate)
BEEMESH_RECORD_CODEC(Credential, credential, encode_credential, decode_credential)
BEEMESH_RECORD_CODEC(RevocationList, revocation_list, encode_revocation_list,
                     decode_revocation_list)
#undef BEEMESH_RECORD_CODEC

}  // namespace beemesh::protocol::testing
