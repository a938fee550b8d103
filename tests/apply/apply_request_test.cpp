// An ApplyRequest sent by hand to node B (key shares on A and C): what B deploys, who
// discovers it, and every way a request is refused before anything is deployed.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "apply/intent_authorization.h"
#include "crypto/grants.h"
#include "crypto/membership.h"
#include "mesh_fixture.h"
#include "protocol/envelope.h"
#include "runtime/runtime.h"

namespace beemesh::apply_test {
namespace {

class ApplyRequestTest : public MeshTest {
 protected:
  // A manifest for B whose key shares are held by A and C (n = 2, k = 2).
  PreparedApply prepare_for_b(std::string_view name) {
    auto prepared = entry.prepare(pod_yaml(name), b(), {&a(), &c()}, 2);
    EXPECT_TRUE(prepared) << prepared.error().to_string();
    return prepared ? std::move(*prepared) : PreparedApply{};
  }

  // The refusal carries `code`, is signed by B, names the request, and B deployed nothing.
  void expect_refused(const Result<protocol::ApplyResponse>& response, std::string_view code,
                      const PreparedApply& prepared) {
    ASSERT_TRUE(response) << response.error().to_string();
    EXPECT_FALSE(response->ok);
    EXPECT_EQ(response->code, code) << response->message;
    EXPECT_EQ(response->node_id, b().id());
    EXPECT_TRUE(response->workload_id.empty());
    EXPECT_EQ(b().engine->workload_count(), 0u);
    EXPECT_EQ(b().engine->deploy_calls(), 0);
    EXPECT_TRUE(b()->workloads().list().empty());
    EXPECT_FALSE(b().engine->get_workload_manifest(prepared.request.workload_id).has_value());
  }

  // The same request, correctly signed now, is accepted: only the change was wrong.
  void expect_untouched_request_accepted(const PreparedApply& prepared) {
    auto response = entry.send_apply(b(), entry.sign(prepared.request));
    ASSERT_TRUE(response) << response.error().to_string();
    EXPECT_TRUE(response->ok) << response->code << ": " << response->message;
    EXPECT_EQ(b().engine->workload_count(), 1u);
  }
};

// Changes one field of a signed envelope and re-encodes it, keeping the signature.
Bytes tamper(const Bytes& wire, const std::function<void(protocol::Envelope&)>& change) {
  auto envelope = protocol::decode_envelope(wire);
  EXPECT_TRUE(envelope) << envelope.error().to_string();
  if (!envelope) return wire;
  change(*envelope);
  return protocol::encode_envelope(*envelope);
}

TEST_F(ApplyRequestTest, ApplyDeploysExactlyTheSubmittedManifestAndEveryNodeDiscoversTheTarget) {
  auto prepared = prepare_for_b("web");
  auto& req = prepared.request;
  req.replicas = 2;
  req.total_replicas = 2;
  req.env = {{"GREETING", "hello"}};
  req.labels = {{"team", "bees"}};
  req.memory_limit_bytes = 48LL << 20;
  req.cpu_limit_millis = 150;
  entry.regrant(prepared);  // the owner signed for exactly these replicas, env and limits

  auto response = entry.send_apply(b(), entry.sign(req));

  ASSERT_TRUE(response) << response.error().to_string();
  ASSERT_TRUE(response->ok) << response->code << ": " << response->message;
  EXPECT_EQ(response->code, "ok");
  EXPECT_EQ(response->request_id, req.request_id);
  EXPECT_EQ(response->manifest_id, prepared.manifest_id);
  EXPECT_EQ(response->workload_id, req.workload_id);
  EXPECT_EQ(response->node_id, b().id());

  EXPECT_EQ(b().engine->workload_count(), 1u);
  EXPECT_EQ(b().engine->get_workload_manifest(req.workload_id), prepared.yaml);
  auto config = b().engine->get_workload_config(req.workload_id);
  ASSERT_TRUE(config.has_value());
  EXPECT_EQ(config->manifest_id, prepared.manifest_id);
  EXPECT_EQ(config->workload_id, req.workload_id);
  EXPECT_EQ(config->replicas, 2);
  EXPECT_EQ(config->env, req.env);
  // The request's labels, plus the content version the target computed itself.
  auto labels = req.labels;
  labels[std::string(workload::kContentVersionLabel)] = apply::content_version_label(prepared.yaml);
  EXPECT_EQ(config->labels, labels);
  EXPECT_EQ(config->memory_limit_bytes, req.memory_limit_bytes);
  EXPECT_EQ(config->cpu_limit_millis, req.cpu_limit_millis);
  auto records = b()->workloads().workloads_of(prepared.manifest_id);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].owner, to_hex(entry.owner().public_key()));
  // Holders only hold shares; they deploy nothing.
  EXPECT_EQ(a().engine->workload_count(), 0u);
  EXPECT_EQ(c().engine->workload_count(), 0u);

  EXPECT_TRUE(discovers_exactly(a(), prepared.manifest_id, {b().id()}));
  EXPECT_TRUE(discovers_exactly(c(), prepared.manifest_id, {b().id()}));
  EXPECT_TRUE(discovers_exactly(b(), prepared.manifest_id, {b().id()}));
}

TEST_F(ApplyRequestTest, ReplayedRequestIsRefusedAsReplayAndDeploysNothingMore) {
  auto prepared = prepare_for_b("replayed");
  Bytes wire = entry.sign(prepared.request);
  auto first = entry.send_apply(b(), wire);
  ASSERT_TRUE(first) << first.error().to_string();
  ASSERT_TRUE(first->ok) << first->code << ": " << first->message;

  auto again = entry.send_apply(b(), wire);

  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_FALSE(again->ok);
  EXPECT_EQ(again->code, "replay") << again->message;
  EXPECT_EQ(b().engine->workload_count(), 1u);
  EXPECT_EQ(b().engine->deploy_calls(), 1);
  EXPECT_EQ(b()->workloads().list().size(), 1u);
}

TEST_F(ApplyRequestTest, FlippedSignatureByteOnTheWireIsRefusedAsBadSignature) {
  auto prepared = prepare_for_b("forged");
  Bytes wire = entry.sign(prepared.request);
  auto envelope = protocol::decode_envelope(wire);
  ASSERT_TRUE(envelope);
  auto at =
      std::search(wire.begin(), wire.end(), envelope->signature.begin(), envelope->signature.end());
  ASSERT_NE(at, wire.end());
  Bytes forged = wire;
  forged[static_cast<size_t>(at - wire.begin()) + 17] ^= 0x01;

  expect_refused(entry.send_apply(b(), forged), "bad_signature", prepared);
  expect_untouched_request_accepted(prepared);
}

TEST_F(ApplyRequestTest, TamperedPayloadByteIsRefusedAsBadSignature) {
  // The envelope stays well-formed (the payload is an opaque byte vector to it) and the
  // signature is checked before the payload is decoded, so the change is a bad signature.
  auto prepared = prepare_for_b("payload");
  Bytes wire = tamper(entry.sign(prepared.request),
                      [](protocol::Envelope& e) { e.payload[e.payload.size() / 2] ^= 0x01; });

  expect_refused(entry.send_apply(b(), wire), "bad_signature", prepared);
  expect_untouched_request_accepted(prepared);
}

TEST_F(ApplyRequestTest, TamperedNonceByteIsRefusedAsBadSignature) {
  auto prepared = prepare_for_b("nonce");
  Bytes wire = tamper(entry.sign(prepared.request), [](protocol::Envelope& e) { e.nonce[0] ^= 1; });

  expect_refused(entry.send_apply(b(), wire), "bad_signature", prepared);
  expect_untouched_request_accepted(prepared);
}

TEST_F(ApplyRequestTest, TamperedTimestampIsRefusedAsBadSignature) {
  // Moved by 1 ms: still inside the 30 s window, so the signature check is what fails.
  auto prepared = prepare_for_b("timestamp");
  Bytes wire =
      tamper(entry.sign(prepared.request), [](protocol::Envelope& e) { ++e.timestamp_ms; });

  expect_refused(entry.send_apply(b(), wire), "bad_signature", prepared);
  expect_untouched_request_accepted(prepared);
}

TEST_F(ApplyRequestTest, TruncatedEnvelopeIsRefusedAsMalformed) {
  // Cut in half, the FlatBuffers verifier rejects the envelope's structure before any
  // signature check.
  auto prepared = prepare_for_b("truncated");
  Bytes wire = entry.sign(prepared.request);
  wire.resize(wire.size() / 2);

  expect_refused(entry.send_apply(b(), wire), "malformed", prepared);
  expect_untouched_request_accepted(prepared);
}

TEST_F(ApplyRequestTest, RequestSignedSixtySecondsAgoIsRefusedAsExpired) {
  auto prepared = prepare_for_b("expired");
  ManualClock past(system_clock().now_ms() - 60'000);

  expect_refused(entry.send_apply(b(), entry.sign(prepared.request, past)), "expired", prepared);
  expect_untouched_request_accepted(prepared);
}

TEST_F(ApplyRequestTest, OwnerGrantNamingAnotherNodeIsRefusedAsUnauthorized) {
  // The owner allowed node C, not the entry node that signed the request, to place it.
  auto prepared = prepare_for_b("other-node");
  auto request = prepared.request;
  request.owner_grant = entry.apply_grant(entry.owner(), prepared.manifest_id, c().key(),
                                          Entry::content_hash(prepared.yaml, request));

  auto response = entry.send_apply(b(), entry.sign(request));

  expect_refused(response, "unauthorized", prepared);
  if (response) {
    EXPECT_NE(response->message.find("grant_wrong_node"), std::string::npos);
  }
  expect_untouched_request_accepted(prepared);
}

TEST_F(ApplyRequestTest, OwnerGrantSignedByANonOwnerIsRefusedAsUnauthorized) {
  auto prepared = prepare_for_b("not-owner");
  auto stranger = crypto::Identity::generate();
  auto request = prepared.request;
  request.owner_grant = entry.apply_grant(stranger, prepared.manifest_id, entry.node().public_key(),
                                          Entry::content_hash(prepared.yaml, request));

  auto response = entry.send_apply(b(), entry.sign(request));

  expect_refused(response, "unauthorized", prepared);
  if (response) {
    EXPECT_NE(response->message.find("grant_wrong_owner"), std::string::npos);
  }
  expect_untouched_request_accepted(prepared);
}

TEST_F(ApplyRequestTest, RequestWithoutOwnerGrantIsRefusedAsUnauthorized) {
  auto prepared = prepare_for_b("no-grant");
  auto request = prepared.request;
  request.owner_grant.clear();

  expect_refused(entry.send_apply(b(), entry.sign(request)), "unauthorized", prepared);
  expect_untouched_request_accepted(prepared);
}

TEST_F(ApplyRequestTest, RecordPublishedByAnotherNodeIsRefusedAsUnauthorized) {
  // A second entry node (a member) the owner did authorise re-sends E's encrypted record
  // as its own.
  auto prepared = prepare_for_b("borrowed");
  auto other_entry = member_node("entry-e2");
  auto request = prepared.request;
  request.owner_grant =
      entry.apply_grant(entry.owner(), prepared.manifest_id, other_entry.public_key(),
                        Entry::content_hash(prepared.yaml, request));
  const int64_t now = system_clock().now_ms();
  request.grant = crypto::issue_grant(other_entry, protocol::GrantAction::kKeyShare,
                                      prepared.manifest_id, b().key(), now, now + 60'000);

  auto response = entry.send_apply(b(), crypto::sign_message(other_entry, request, system_clock()));

  expect_refused(response, "unauthorized", prepared);
  if (response) {
    EXPECT_NE(response->message.find("not published by the requesting node"), std::string::npos)
        << response->message;
  }
  expect_untouched_request_accepted(prepared);
}

TEST_F(ApplyRequestTest, OwnerGrantBindingOtherContentIsRefusedAsGrantWrongContent) {
  // The owner signed for the manifest alone, one replica; the entry node changes what is
  // deployed (or the grant binds another manifest). B recomputes the content hash after
  // decrypting and deploys nothing.
  auto prepared = prepare_for_b("content");
  struct Case {
    std::string what;
    std::function<void(protocol::ApplyRequest&)> change;
  };
  const std::vector<Case> cases = {
      {"env added",
       [](protocol::ApplyRequest& r) {
         r.env = {{"INJECTED", "1"}};
       }},
      {"memory limit set", [](protocol::ApplyRequest& r) { r.memory_limit_bytes = 64LL << 20; }},
      {"cpu limit set", [](protocol::ApplyRequest& r) { r.cpu_limit_millis = 250; }},
      {"total replicas raised", [](protocol::ApplyRequest& r) { r.total_replicas = 3; }},
      {"grant binds another manifest",
       [&](protocol::ApplyRequest& r) {
         r.owner_grant =
             entry.apply_grant(entry.owner(), prepared.manifest_id, entry.node().public_key(),
                               Entry::content_hash(pod_yaml("something-else"), r));
       }},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    auto request = prepared.request;
    request.request_id = runtime::new_workload_id();
    c.change(request);

    auto response = entry.send_apply(b(), entry.sign(request));

    expect_refused(response, "unauthorized", prepared);
    if (response) {
      EXPECT_NE(response->message.find("grant_wrong_content"), std::string::npos)
          << response->message;
    }
  }
  expect_untouched_request_accepted(prepared);
}

TEST_F(ApplyRequestTest, OwnerGrantBindingNoContentIsRefusedAsUnauthorized) {
  auto prepared = prepare_for_b("unbound");
  auto request = prepared.request;
  request.owner_grant =
      entry.apply_grant(entry.owner(), prepared.manifest_id, entry.node().public_key());

  auto response = entry.send_apply(b(), entry.sign(request));

  expect_refused(response, "unauthorized", prepared);
  if (response) {
    EXPECT_NE(response->message.find("binds no content hash"), std::string::npos)
        << response->message;
  }
  expect_untouched_request_accepted(prepared);
}

TEST_F(ApplyRequestTest, ApplyFromANodeThatIsNotAMemberIsRefusedBeforeAnyShareIsFetched) {
  // A stranger node S sends E's request as its own, with everything else in order: the
  // owner's apply grant names S and binds the content, S grants B the key shares. B must
  // refuse it on the envelope's membership check, before the signature, the handler and
  // any key-share request to the holders. Shown by the membership code (a bad signature
  // does not change it: the signature is not even checked) and by the holders still
  // releasing their shares to E's untouched request afterwards.
  auto prepared = prepare_for_b("stranger-node");
  auto self_made = crypto::Identity::generate();
  {
    // A "node certificate" the stranger issued itself, for this mesh id.
    const int64_t now = system_clock().now_ms();
    crypto::CertificateBody body;
    body.kind = crypto::CertKind::kNode;
    body.subject = self_made.public_key();
    body.name = "stranger";
    body.mesh_id = "apply-test";
    body.issued_ms = now;
    body.expires_ms = now + 3'600'000;
    self_made.set_credential(crypto::make_credential(crypto::issue_certificate(self_made, body)));
  }
  auto bare = crypto::Identity::generate();
  struct Case {
    std::string what;
    const crypto::Identity* stranger;
    std::string code;
  };
  for (const auto& c : {Case{"self-issued credential", &self_made, "not_a_member"},
                        Case{"no credential", &bare, "no_credential"}}) {
    SCOPED_TRACE(c.what);
    auto request = prepared.request;
    request.request_id = runtime::new_workload_id();
    request.owner_grant =
        entry.apply_grant(entry.owner(), prepared.manifest_id, c.stranger->public_key(),
                          Entry::content_hash(prepared.yaml, request));
    const int64_t now = system_clock().now_ms();
    request.grant = crypto::issue_grant(*c.stranger, protocol::GrantAction::kKeyShare,
                                        prepared.manifest_id, b().key(), now, now + 60'000);
    Bytes wire = crypto::sign_message(*c.stranger, request, system_clock());
    Bytes forged = tamper(wire, [](protocol::Envelope& e) { e.signature[3] ^= 0x01; });

    for (const auto& [label, bytes] : {std::pair<std::string, Bytes>{"signed", wire},
                                       std::pair<std::string, Bytes>{"bad signature", forged}}) {
      SCOPED_TRACE(label);
      auto response = entry.send_apply(b(), bytes);
      expect_refused(response, c.code, prepared);
    }
  }
  expect_untouched_request_accepted(prepared);
}

TEST_F(ApplyRequestTest, ManifestThatDoesNotMatchItsIdIsRefusedAsInvalidManifest) {
  // Everything is signed and granted for the id of "labelled", but the encrypted manifest
  // is "smuggled": B notices after decrypting, before deploying.
  auto labelled_id = entry.manifest_id_of(pod_yaml("labelled"));
  auto prepared = entry.prepare(pod_yaml("smuggled"), b(), {&a(), &c()}, 2, labelled_id);
  ASSERT_TRUE(prepared) << prepared.error().to_string();

  expect_refused(entry.send_apply(b(), entry.sign(prepared->request)), "invalid_manifest",
                 *prepared);
}

TEST_F(ApplyRequestTest, RequestForBSentToCIsRefusedAsNotInItsPlacement) {
  // The request places the manifest on B only: C refuses before it asks for any share.
  auto prepared = prepare_for_b("misplaced");

  auto response = entry.send_apply(c(), entry.sign(prepared.request));

  ASSERT_TRUE(response) << response.error().to_string();
  EXPECT_FALSE(response->ok);
  EXPECT_EQ(response->code, "malformed") << response->message;
  EXPECT_NE(response->message.find("not in its placement"), std::string::npos) << response->message;
  EXPECT_EQ(c().engine->deploy_calls(), 0);
  expect_untouched_request_accepted(prepared);
}

TEST_F(ApplyRequestTest, RequestForBSentToCGetsNoSharesAndDeploysNothing) {
  // Even with C put in the placement, the key-share grant names B: the holders refuse
  // C, so C cannot decrypt (too_few_shares, each holder saying grant_wrong_node).
  auto prepared = prepare_for_b("misdirected");
  auto to_c = prepared.request;
  to_c.placement = {c().id()};

  auto response = entry.send_apply(c(), entry.sign(to_c));

  ASSERT_TRUE(response) << response.error().to_string();
  EXPECT_FALSE(response->ok);
  EXPECT_EQ(response->code, "too_few_shares") << response->message;
  EXPECT_NE(response->message.find("grant_wrong_node"), std::string::npos) << response->message;
  EXPECT_EQ(c().engine->workload_count(), 0u);
  EXPECT_EQ(c().engine->deploy_calls(), 0);
  expect_untouched_request_accepted(prepared);
}

TEST_F(ApplyRequestTest, SecondDeploymentUnderTheSameOwnerGrantIsRefusedAsGrantReused) {
  // A compromised entry node cannot turn one owner grant into more copies on a node.
  auto prepared = prepare_for_b("reused");
  auto first = entry.send_apply(b(), entry.sign(prepared.request));
  ASSERT_TRUE(first) << first.error().to_string();
  ASSERT_TRUE(first->ok) << first->code << ": " << first->message;
  auto again = prepared.request;
  again.request_id = runtime::new_workload_id();
  again.workload_id = runtime::new_workload_id();

  auto response = entry.send_apply(b(), entry.sign(again));

  ASSERT_TRUE(response) << response.error().to_string();
  EXPECT_FALSE(response->ok);
  EXPECT_EQ(response->code, "unauthorized") << response->message;
  EXPECT_NE(response->message.find("grant_reused"), std::string::npos) << response->message;
  EXPECT_EQ(b().engine->workload_count(), 1u);
}

}  // namespace
}  // namespace beemesh::apply_test
