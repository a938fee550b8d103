#include "protocol/messages.h"

#include "protocol/applied_manifest_fb.h"
#include "protocol/fb_util.h"
#include "protocol/intent.h"
#include "protocol/messages_generated.h"

namespace beemesh::protocol {

namespace fbp = beemesh::protocol::fb;
using namespace detail;  // NOLINT(google-build-using-namespace): this folder's helpers

namespace {

// Verifies the buffer and its version; `fill` copies the table into the plain struct.
template <typename Table, typename T, typename Fill>
Result<T> decode_with(ByteView bytes, size_t max_size, std::string_view what, Fill fill) {
  Bytes storage;
  auto root = verify_root<Table>(bytes, max_size, what, storage);
  if (!root) return root.error();
  const Table* m = *root;
  if (auto v = check_version(m->schema_version(), what); !v) return v.error();
  T out;
  out.schema_version = m->schema_version();
  if (auto filled = fill(m, out); !filled) return filled.error();
  return out;
}

}  // namespace

// ---- ApplyRequest / ApplyResponse ----

Bytes encode(const ApplyRequest& m) {
  flatbuffers::FlatBufferBuilder fbb(m.applied_manifest.ciphertext.size() + 1024);
  auto request_id = fbb.CreateString(m.request_id);
  auto manifest_id = fbb.CreateString(m.manifest_id);
  auto owner = make_bytes(fbb, m.owner_public_key);
  auto applied = encode_applied_manifest_into(fbb, m.applied_manifest);
  auto grant = make_bytes(fbb, m.grant);
  auto workload_id = fbb.CreateString(m.workload_id);
  auto placement = fbb.CreateVectorOfStrings(m.placement);
  auto env = make_key_values(fbb, m.env);
  auto labels = make_key_values(fbb, m.labels);
  auto owner_grant = make_bytes(fbb, m.owner_grant);
  auto owner_credential = make_bytes(fbb, m.owner_credential);
  auto intent = make_bytes(fbb, m.intent);
  fbb.Finish(fbp::CreateApplyRequest(fbb, m.schema_version, request_id, manifest_id, owner, applied,
                                     m.threshold, grant, workload_id, m.replicas, m.total_replicas,
                                     placement, env, labels, m.memory_limit_bytes,
                                     m.cpu_limit_millis, owner_grant, owner_credential, intent));
  return finish(fbb);
}

template <>
Result<ApplyRequest> decode<ApplyRequest>(ByteView bytes, size_t max_size) {
  constexpr std::string_view what = "apply request";
  return decode_with<fbp::ApplyRequest, ApplyRequest>(
      bytes, max_size, what, [&](const fbp::ApplyRequest* m, ApplyRequest& out) -> Result<void> {
        out.request_id = str(m->request_id());
        out.manifest_id = str(m->manifest_id());
        auto owner = fixed<32>(m->owner_public_key(), what, "owner_public_key");
        if (!owner) return owner.error();
        out.owner_public_key = *owner;
        auto applied = decode_applied_manifest_table(m->applied_manifest(), what);
        if (!applied) return applied.error();
        out.applied_manifest = std::move(*applied);
        out.threshold = m->threshold();
        out.grant = bytes_of(m->grant());
        out.workload_id = str(m->workload_id());
        out.replicas = m->replicas();
        out.total_replicas = m->total_replicas();
        out.placement = strings(m->placement());
        auto env = key_values(m->env(), what, "env");
        if (!env) return env.error();
        out.env = std::move(*env);
        auto labels = key_values(m->labels(), what, "labels");
        if (!labels) return labels.error();
        out.labels = std::move(*labels);
        out.memory_limit_bytes = m->memory_limit_bytes();
        out.cpu_limit_millis = m->cpu_limit_millis();
        out.owner_grant = bytes_of(m->owner_grant());
        out.owner_credential = bytes_of(m->owner_credential());
        auto intent = bounded_bytes(m->intent(), kMaxSignedIntentSize, what, "intent");
        if (!intent) return intent.error();
        out.intent = std::move(*intent);
        return ok_result();
      });
}

Bytes encode(const ApplyResponse& m) {
  flatbuffers::FlatBufferBuilder fbb(256);
  auto request_id = fbb.CreateString(m.request_id);
  auto code = fbb.CreateString(m.code);
  auto message = fbb.CreateString(m.message);
  auto manifest_id = fbb.CreateString(m.manifest_id);
  auto workload_id = fbb.CreateString(m.workload_id);
  auto node_id = fbb.CreateString(m.node_id);
  fbb.Finish(fbp::CreateApplyResponse(fbb, m.schema_version, request_id, m.ok, code, message,
                                      manifest_id, workload_id, node_id));
  return finish(fbb);
}

template <>
Result<ApplyResponse> decode<ApplyResponse>(ByteView bytes, size_t max_size) {
  return decode_with<fbp::ApplyResponse, ApplyResponse>(
      bytes, max_size, "apply response",
      [](const fbp::ApplyResponse* m, ApplyResponse& out) -> Result<void> {
        out.request_id = str(m->request_id());
        out.ok = m->ok();
        out.code = str(m->code());
        out.message = str(m->message());
        out.manifest_id = str(m->manifest_id());
        out.workload_id = str(m->workload_id());
        out.node_id = str(m->node_id());
        return ok_result();
      });
}

// ---- KeyShareBatchRequest / KeyShareBatchResponse ----

namespace {

Result<void> check_batch_size(size_t items, bool at_least_one, std::string_view what) {
  if (items > kMaxKeyShareBatch || (at_least_one && items == 0)) {
    return malformed(what, "items: " + std::to_string(items) + ", allowed " +
                               (at_least_one ? "1.." : "0..") + std::to_string(kMaxKeyShareBatch));
  }
  return ok_result();
}

}  // namespace

Bytes encode(const KeyShareBatchRequest& m) {
  size_t size = 256;
  for (const auto& item : m.items) size += 96 + item.manifest_id.size() + item.grant.size();
  flatbuffers::FlatBufferBuilder fbb(size);
  auto request_id = fbb.CreateString(m.request_id);
  std::vector<flatbuffers::Offset<fbp::KeyShareItem>> items;
  items.reserve(m.items.size());
  for (const auto& item : m.items) {
    auto manifest_id = fbb.CreateString(item.manifest_id);
    auto grant = make_bytes(fbb, item.grant);
    items.push_back(fbp::CreateKeyShareItem(fbb, manifest_id, grant, item.share_index));
  }
  auto vector = fbb.CreateVector(items);
  fbb.Finish(fbp::CreateKeyShareBatchRequest(fbb, m.schema_version, request_id, vector));
  return finish(fbb);
}

template <>
Result<KeyShareBatchRequest> decode<KeyShareBatchRequest>(ByteView bytes, size_t max_size) {
  constexpr std::string_view what = "key share batch request";
  return decode_with<fbp::KeyShareBatchRequest, KeyShareBatchRequest>(
      bytes, max_size, what,
      [&](const fbp::KeyShareBatchRequest* m, KeyShareBatchRequest& out) -> Result<void> {
        out.request_id = str(m->request_id());
        const auto* items = m->items();
        BEEMESH_TRY(check_batch_size(items ? items->size() : 0, true, what));
        out.items.reserve(items->size());
        for (const auto* item : *items) {
          out.items.push_back(
              {str(item->manifest_id()), bytes_of(item->grant()), item->share_index()});
        }
        return ok_result();
      });
}

Bytes encode(const KeyShareBatchResponse& m) {
  flatbuffers::FlatBufferBuilder fbb(256 + m.items.size() * 192);
  auto request_id = fbb.CreateString(m.request_id);
  auto code = fbb.CreateString(m.code);
  auto message = fbb.CreateString(m.message);
  std::vector<flatbuffers::Offset<fbp::KeyShareItemResult>> items;
  items.reserve(m.items.size());
  for (const auto& item : m.items) {
    auto item_code = fbb.CreateString(item.code);
    auto item_message = fbb.CreateString(item.message);
    auto manifest_id = fbb.CreateString(item.manifest_id);
    auto sealed = make_bytes(fbb, item.sealed_share);
    items.push_back(fbp::CreateKeyShareItemResult(fbb, item.ok, item_code, item_message,
                                                  manifest_id, item.share_index, sealed));
  }
  auto vector = fbb.CreateVector(items);
  auto ephemeral = make_bytes(fbb, m.ephemeral_public_key);
  fbb.Finish(fbp::CreateKeyShareBatchResponse(fbb, m.schema_version, request_id, m.ok, code,
                                              message, vector, ephemeral));
  return finish(fbb);
}

template <>
Result<KeyShareBatchResponse> decode<KeyShareBatchResponse>(ByteView bytes, size_t max_size) {
  constexpr std::string_view what = "key share batch response";
  return decode_with<fbp::KeyShareBatchResponse, KeyShareBatchResponse>(
      bytes, max_size, what,
      [&](const fbp::KeyShareBatchResponse* m, KeyShareBatchResponse& out) -> Result<void> {
        out.request_id = str(m->request_id());
        out.ok = m->ok();
        out.code = str(m->code());
        out.message = str(m->message());
        auto ephemeral = bounded_bytes(m->ephemeral_public_key(), 32, what, "ephemeral_public_key");
        if (!ephemeral) return ephemeral.error();
        out.ephemeral_public_key = std::move(*ephemeral);
        const auto* items = m->items();
        BEEMESH_TRY(check_batch_size(items ? items->size() : 0, false, what));
        if (!items) return ok_result();
        out.items.reserve(items->size());
        for (const auto* item : *items) {
          out.items.push_back({item->ok(), str(item->code()), str(item->message()),
                               str(item->manifest_id()), item->share_index(),
                               bytes_of(item->sealed_share())});
        }
        return ok_result();
      });
}

// ---- DeleteRequest / DeleteResponse ----

Bytes encode(const DeleteRequest& m) {
  flatbuffers::FlatBufferBuilder fbb(256 + m.grant.size());
  auto request_id = fbb.CreateString(m.request_id);
  auto manifest_id = fbb.CreateString(m.manifest_id);
  auto owner = make_bytes(fbb, m.owner_public_key);
  auto workload_id = fbb.CreateString(m.workload_id);
  auto grant = make_bytes(fbb, m.grant);
  fbb.Finish(fbp::CreateDeleteRequest(fbb, m.schema_version, request_id, manifest_id, owner,
                                      workload_id, grant));
  return finish(fbb);
}

template <>
Result<DeleteRequest> decode<DeleteRequest>(ByteView bytes, size_t max_size) {
  constexpr std::string_view what = "delete request";
  return decode_with<fbp::DeleteRequest, DeleteRequest>(
      bytes, max_size, what, [&](const fbp::DeleteRequest* m, DeleteRequest& out) -> Result<void> {
        out.request_id = str(m->request_id());
        out.manifest_id = str(m->manifest_id());
        auto owner = fixed<32>(m->owner_public_key(), what, "owner_public_key");
        if (!owner) return owner.error();
        out.owner_public_key = *owner;
        out.workload_id = str(m->workload_id());
        out.grant = bytes_of(m->grant());
        return ok_result();
      });
}

Bytes encode(const DeleteResponse& m) {
  flatbuffers::FlatBufferBuilder fbb(256);
  auto request_id = fbb.CreateString(m.request_id);
  auto code = fbb.CreateString(m.code);
  auto message = fbb.CreateString(m.message);
  auto manifest_id = fbb.CreateString(m.manifest_id);
  auto node_id = fbb.CreateString(m.node_id);
  fbb.Finish(fbp::CreateDeleteResponse(fbb, m.schema_version, request_id, m.ok, code, message,
                                       manifest_id, node_id, m.removed));
  return finish(fbb);
}

template <>
Result<DeleteResponse> decode<DeleteResponse>(ByteView bytes, size_t max_size) {
  return decode_with<fbp::DeleteResponse, DeleteResponse>(
      bytes, max_size, "delete response",
      [](const fbp::DeleteResponse* m, DeleteResponse& out) -> Result<void> {
        out.request_id = str(m->request_id());
        out.ok = m->ok();
        out.code = str(m->code());
        out.message = str(m->message());
        out.manifest_id = str(m->manifest_id());
        out.node_id = str(m->node_id());
        out.removed = m->removed();
        return ok_result();
      });
}

// ---- StoreShareRequest / StoreShareResponse ----

Bytes encode(const StoreShareRequest& m) {
  flatbuffers::FlatBufferBuilder fbb(256 + m.sealed_share.size());
  auto request_id = fbb.CreateString(m.request_id);
  auto manifest_id = fbb.CreateString(m.manifest_id);
  auto owner = make_bytes(fbb, m.owner_public_key);
  auto sealed = make_bytes(fbb, m.sealed_share);
  auto commitment = make_bytes(fbb, m.key_commitment);
  auto manifest_owner = make_bytes(fbb, m.manifest_owner_public_key);
  auto owner_grant = make_bytes(fbb, m.owner_grant);
  auto owner_credential = make_bytes(fbb, m.owner_credential);
  auto intent = make_bytes(fbb, m.intent);
  fbb.Finish(fbp::CreateStoreShareRequest(
      fbb, m.schema_version, request_id, manifest_id, owner, m.share_index, sealed, commitment,
      m.threshold, m.expires_ms, manifest_owner, owner_grant, owner_credential, intent));
  return finish(fbb);
}

template <>
Result<StoreShareRequest> decode<StoreShareRequest>(ByteView bytes, size_t max_size) {
  constexpr std::string_view what = "store share request";
  return decode_with<fbp::StoreShareRequest, StoreShareRequest>(
      bytes, max_size, what,
      [&](const fbp::StoreShareRequest* m, StoreShareRequest& out) -> Result<void> {
        out.request_id = str(m->request_id());
        out.manifest_id = str(m->manifest_id());
        auto owner = fixed<32>(m->owner_public_key(), what, "owner_public_key");
        if (!owner) return owner.error();
        out.owner_public_key = *owner;
        out.share_index = m->share_index();
        out.sealed_share = bytes_of(m->sealed_share());
        auto commitment = fixed<32>(m->key_commitment(), what, "key_commitment");
        if (!commitment) return commitment.error();
        out.key_commitment = *commitment;
        out.threshold = m->threshold();
        out.expires_ms = m->expires_ms();
        auto manifest_owner =
            fixed<32>(m->manifest_owner_public_key(), what, "manifest_owner_public_key");
        if (!manifest_owner) return manifest_owner.error();
        out.manifest_owner_public_key = *manifest_owner;
        out.owner_grant = bytes_of(m->owner_grant());
        out.owner_credential = bytes_of(m->owner_credential());
        auto intent = bounded_bytes(m->intent(), kMaxSignedIntentSize, what, "intent");
        if (!intent) return intent.error();
        out.intent = std::move(*intent);
        return ok_result();
      });
}

Bytes encode(const StoreShareResponse& m) {
  flatbuffers::FlatBufferBuilder fbb(256);
  auto request_id = fbb.CreateString(m.request_id);
  auto code = fbb.CreateString(m.code);
  auto message = fbb.CreateString(m.message);
  auto manifest_id = fbb.CreateString(m.manifest_id);
  fbb.Finish(fbp::CreateStoreShareResponse(fbb, m.schema_version, request_id, m.ok, code, message,
                                           manifest_id, m.share_index));
  return finish(fbb);
}

template <>
Result<StoreShareResponse> decode<StoreShareResponse>(ByteView bytes, size_t max_size) {
  return decode_with<fbp::StoreShareResponse, StoreShareResponse>(
      bytes, max_size, "store share response",
      [](const fbp::StoreShareResponse* m, StoreShareResponse& out) -> Result<void> {
        out.request_id = str(m->request_id());
        out.ok = m->ok();
        out.code = str(m->code());
        out.message = str(m->message());
        out.manifest_id = str(m->manifest_id());
        out.share_index = m->share_index();
        return ok_result();
      });
}

// ---- KeyShareRequest / KeyShareResponse ----

Bytes encode(const KeyShareRequest& m) {
  flatbuffers::FlatBufferBuilder fbb(256 + m.grant.size());
  auto request_id = fbb.CreateString(m.request_id);
  auto manifest_id = fbb.CreateString(m.manifest_id);
  auto grant = make_bytes(fbb, m.grant);
  fbb.Finish(fbp::CreateKeyShareRequest(fbb, m.schema_version, request_id, manifest_id, grant,
                                        m.share_index));
  return finish(fbb);
}

template <>
Result<KeyShareRequest> decode<KeyShareRequest>(ByteView bytes, size_t max_size) {
  return decode_with<fbp::KeyShareRequest, KeyShareRequest>(
      bytes, max_size, "key share request",
      [](const fbp::KeyShareRequest* m, KeyShareRequest& out) -> Result<void> {
        out.request_id = str(m->request_id());
        out.manifest_id = str(m->manifest_id());
        out.grant = bytes_of(m->grant());
        out.share_index = m->share_index();
        return ok_result();
      });
}

Bytes encode(const KeyShareResponse& m) {
  flatbuffers::FlatBufferBuilder fbb(256 + m.sealed_share.size());
  auto request_id = fbb.CreateString(m.request_id);
  auto code = fbb.CreateString(m.code);
  auto message = fbb.CreateString(m.message);
  auto manifest_id = fbb.CreateString(m.manifest_id);
  auto sealed = make_bytes(fbb, m.sealed_share);
  fbb.Finish(fbp::CreateKeyShareResponse(fbb, m.schema_version, request_id, m.ok, code, message,
                                         manifest_id, m.share_index, sealed));
  return finish(fbb);
}

template <>
Result<KeyShareResponse> decode<KeyShareResponse>(ByteView bytes, size_t max_size) {
  return decode_with<fbp::KeyShareResponse, KeyShareResponse>(
      bytes, max_size, "key share response",
      [](const fbp::KeyShareResponse* m, KeyShareResponse& out) -> Result<void> {
        out.request_id = str(m->request_id());
        out.ok = m->ok();
        out.code = str(m->code());
        out.message = str(m->message());
        out.manifest_id = str(m->manifest_id());
        out.share_index = m->share_index();
        out.sealed_share = bytes_of(m->sealed_share());
        return ok_result();
      });
}

// ---- CapacityRequest / CapacityReply ----

Bytes encode(const CapacityRequest& m) {
  flatbuffers::FlatBufferBuilder fbb(256);
  auto request_id = fbb.CreateString(m.request_id);
  auto manifest_id = fbb.CreateString(m.manifest_id);
  auto engine = fbb.CreateString(m.engine);
  fbb.Finish(fbp::CreateCapacityRequest(fbb, m.schema_version, request_id, manifest_id,
                                        m.cpu_millis, m.memory_bytes, m.replicas, engine));
  return finish(fbb);
}

template <>
Result<CapacityRequest> decode<CapacityRequest>(ByteView bytes, size_t max_size) {
  return decode_with<fbp::CapacityRequest, CapacityRequest>(
      bytes, max_size, "capacity request",
      [](const fbp::CapacityRequest* m, CapacityRequest& out) -> Result<void> {
        out.request_id = str(m->request_id());
        out.manifest_id = str(m->manifest_id());
        out.cpu_millis = m->cpu_millis();
        out.memory_bytes = m->memory_bytes();
        out.replicas = m->replicas();
        out.engine = str(m->engine());
        return ok_result();
      });
}

Bytes encode(const CapacityReply& m) {
  flatbuffers::FlatBufferBuilder fbb(256);
  auto request_id = fbb.CreateString(m.request_id);
  auto node_id = fbb.CreateString(m.node_id);
  auto endpoint = fbb.CreateString(m.rpc_endpoint);
  auto engine = fbb.CreateString(m.engine);
  auto caps = make_key_values(fbb, m.capabilities);
  fbb.Finish(fbp::CreateCapacityReply(fbb, m.schema_version, request_id, node_id, endpoint,
                                      m.accepts, m.available_cpu_millis, m.available_memory_bytes,
                                      m.max_replicas, engine, m.score, caps));
  return finish(fbb);
}

template <>
Result<CapacityReply> decode<CapacityReply>(ByteView bytes, size_t max_size) {
  constexpr std::string_view what = "capacity reply";
  return decode_with<fbp::CapacityReply, CapacityReply>(
      bytes, max_size, what, [&](const fbp::CapacityReply* m, CapacityReply& out) -> Result<void> {
        out.request_id = str(m->request_id());
        out.node_id = str(m->node_id());
        out.rpc_endpoint = str(m->rpc_endpoint());
        out.accepts = m->accepts();
        out.available_cpu_millis = m->available_cpu_millis();
        out.available_memory_bytes = m->available_memory_bytes();
        out.max_replicas = m->max_replicas();
        out.engine = str(m->engine());
        out.score = m->score();
        auto caps = key_values(m->capabilities(), what, "capabilities");
        if (!caps) return caps.error();
        out.capabilities = std::move(*caps);
        return ok_result();
      });
}

// ---- ErrorReply ----

Bytes encode(const ErrorReply& m) {
  flatbuffers::FlatBufferBuilder fbb(256);
  auto request_id = fbb.CreateString(m.request_id);
  auto code = fbb.CreateString(m.code);
  auto message = fbb.CreateString(m.message);
  fbb.Finish(fbp::CreateErrorReply(fbb, m.schema_version, request_id, code, message));
  return finish(fbb);
}

template <>
Result<ErrorReply> decode<ErrorReply>(ByteView bytes, size_t max_size) {
  return decode_with<fbp::ErrorReply, ErrorReply>(
      bytes, max_size, "error reply",
      [](const fbp::ErrorReply* m, ErrorReply& out) -> Result<void> {
        out.request_id = str(m->request_id());
        out.code = str(m->code());
        out.message = str(m->message());
        return ok_result();
      });
}

// ---- QueryRequest / QueryReply ----

Bytes encode(const QueryRequest& m) {
  flatbuffers::FlatBufferBuilder fbb(256);
  auto request_id = fbb.CreateString(m.request_id);
  auto kind = fbb.CreateString(m.kind);
  auto workload_id = fbb.CreateString(m.workload_id);
  fbb.Finish(
      fbp::CreateQueryRequest(fbb, m.schema_version, request_id, kind, workload_id, m.tail_lines));
  return finish(fbb);
}

template <>
Result<QueryRequest> decode<QueryRequest>(ByteView bytes, size_t max_size) {
  return decode_with<fbp::QueryRequest, QueryRequest>(
      bytes, max_size, "query request",
      [](const fbp::QueryRequest* m, QueryRequest& out) -> Result<void> {
        out.request_id = str(m->request_id());
        out.kind = str(m->kind());
        out.workload_id = str(m->workload_id());
        out.tail_lines = m->tail_lines();
        return ok_result();
      });
}

Bytes encode(const QueryReply& m) {
  flatbuffers::FlatBufferBuilder fbb(256 + m.body.size());
  auto request_id = fbb.CreateString(m.request_id);
  auto code = fbb.CreateString(m.code);
  auto message = fbb.CreateString(m.message);
  auto body = fbb.CreateString(m.body);
  fbb.Finish(fbp::CreateQueryReply(fbb, m.schema_version, request_id, m.ok, code, message, body));
  return finish(fbb);
}

template <>
Result<QueryReply> decode<QueryReply>(ByteView bytes, size_t max_size) {
  return decode_with<fbp::QueryReply, QueryReply>(
      bytes, max_size, "query reply",
      [](const fbp::QueryReply* m, QueryReply& out) -> Result<void> {
        out.request_id = str(m->request_id());
        out.ok = m->ok();
        out.code = str(m->code());
        out.message = str(m->message());
        out.body = str(m->body());
        return ok_result();
      });
}

// ---- ApiAuth ----

Bytes encode(const ApiAuth& m) {
  flatbuffers::FlatBufferBuilder fbb(128 + m.method.size() + m.path.size());
  auto method = fbb.CreateString(m.method);
  auto path = fbb.CreateString(m.path);
  auto audience = make_bytes(fbb, m.audience_public_key);
  fbb.Finish(fbp::CreateApiAuth(fbb, m.schema_version, method, path, audience));
  return finish(fbb);
}

template <>
Result<ApiAuth> decode<ApiAuth>(ByteView bytes, size_t max_size) {
  constexpr std::string_view what = "api auth";
  return decode_with<fbp::ApiAuth, ApiAuth>(
      bytes, max_size, what, [&](const fbp::ApiAuth* m, ApiAuth& out) -> Result<void> {
        out.method = str(m->method());
        out.path = str(m->path());
        auto audience = fixed<32>(m->audience_public_key(), what, "audience_public_key");
        if (!audience) return audience.error();
        out.audience_public_key = *audience;
        return ok_result();
      });
}

}  // namespace beemesh::protocol
