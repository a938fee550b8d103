// Signed envelopes: what is signed, and every way verification refuses an envelope.
#include "crypto/envelope.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "protocol/samples.h"

namespace beemesh::crypto {
namespace {

using protocol::Envelope;

class EnvelopeTest : public ::testing::Test {
 protected:
  Identity alice = Identity::generate();
  ManualClock clock;
  EnvelopeVerifier verifier{clock};
  Bytes payload = to_bytes("apply this, please");

  Bytes signed_envelope(PayloadType type = PayloadType::kApplyRequest) {
    return sign_envelope(alice, type, payload, clock);
  }
  std::string code_of(ByteView bytes, PayloadType expected = PayloadType::kApplyRequest) {
    auto r = verifier.verify(bytes, expected);
    return r.ok() ? "ok" : r.error().code;
  }
};

TEST_F(EnvelopeTest, ValidEnvelopeVerifiesAndYieldsItsContents) {
  Bytes wire = signed_envelope();
  auto v = verifier.verify(wire, PayloadType::kApplyRequest);
  ASSERT_TRUE(v.ok()) << v.error().to_string();
  EXPECT_EQ(v->payload, payload);
  EXPECT_EQ(v->signer, alice.public_key());
  EXPECT_EQ(v->signer_node_id, alice.node_id());
  EXPECT_EQ(v->timestamp_ms, clock.now_ms());
  EXPECT_EQ(v->nonce.size(), kEnvelopeNonceSize);
  EXPECT_EQ(v->payload_type, PayloadType::kApplyRequest);
}

TEST_F(EnvelopeTest, SignatureCoversTheDocumentedByteLayout) {
  Bytes wire = signed_envelope();
  auto env = protocol::decode_envelope(wire);
  ASSERT_TRUE(env.ok());
  Bytes expected = to_bytes("beemesh-envelope-v1");
  expected.insert(expected.end(), {0x00, 0x01, 16});  // payload type 1, nonce length 16
  expected.insert(expected.end(), env->nonce.begin(), env->nonce.end());
  for (int shift = 56; shift >= 0; shift -= 8) {
    expected.push_back(static_cast<uint8_t>(static_cast<uint64_t>(env->timestamp_ms) >> shift));
  }
  expected.insert(expected.end(), alice.public_key().begin(), alice.public_key().end());
  expected.insert(expected.end(), {0, 0, 0, static_cast<uint8_t>(payload.size())});
  expected.insert(expected.end(), payload.begin(), payload.end());
  EXPECT_EQ(envelope_signing_bytes(env->payload_type, env->nonce, env->timestamp_ms,
                                   env->signer_public_key, env->payload),
            expected);
  EXPECT_TRUE(verify_signature(alice.public_key(), expected, env->signature));
}

TEST_F(EnvelopeTest, OpenMessageVerifiesAndDecodesTheInnerMessage) {
  auto req = protocol::samples::apply_request();
  Bytes wire = sign_message(alice, req, clock);
  auto got = open_message<protocol::ApplyRequest>(verifier, wire);
  ASSERT_TRUE(got.ok()) << got.error().to_string();
  EXPECT_EQ(got->message, req);
  EXPECT_EQ(got->envelope.signer_node_id, alice.node_id());
}

TEST_F(EnvelopeTest, OversizedInputIsRefusedBeforeParsing) {
  EnvelopeVerifier small(clock, {.max_envelope_size = 64});
  auto r = small.verify(signed_envelope(), PayloadType::kApplyRequest);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "oversized");
}

TEST_F(EnvelopeTest, GarbageIsMalformed) {
  EXPECT_EQ(code_of(Bytes(100, 0x42)), "malformed");
  EXPECT_EQ(code_of(Bytes{}), "malformed");
}

TEST_F(EnvelopeTest, UnexpectedPayloadTypeIsRefused) {
  EXPECT_EQ(code_of(signed_envelope(PayloadType::kDeleteRequest), PayloadType::kApplyRequest),
            "unexpected_payload_type");
}

TEST_F(EnvelopeTest, VerifyAnyAcceptsOnlyTheListedTypes) {
  std::vector<PayloadType> allowed{PayloadType::kKeyShareRequest, PayloadType::kDeleteRequest};
  EXPECT_TRUE(verifier.verify_any(signed_envelope(PayloadType::kDeleteRequest), allowed).ok());
  EXPECT_EQ(verifier.verify_any(signed_envelope(PayloadType::kApplyRequest), allowed).error().code,
            "unexpected_payload_type");
}

TEST_F(EnvelopeTest, TimestampTooOldIsRefused) {
  Bytes wire = signed_envelope();
  clock.advance_ms(30'001);
  EXPECT_EQ(code_of(wire), "timestamp_out_of_window");
}

TEST_F(EnvelopeTest, TimestampTooFarInTheFutureIsRefused) {
  Bytes wire = signed_envelope();
  clock.advance_ms(-30'001);
  EXPECT_EQ(code_of(wire), "timestamp_out_of_window");
}

TEST_F(EnvelopeTest, TimestampAtTheEdgeOfTheWindowIsAccepted) {
  Bytes wire = signed_envelope();
  clock.advance_ms(30'000);
  EXPECT_EQ(code_of(wire), "ok");
}

TEST_F(EnvelopeTest, WindowIsConfigurable) {
  EnvelopeVerifier strict(clock, {.window = std::chrono::milliseconds(1'000)});
  Bytes wire = signed_envelope();
  clock.advance_ms(1'001);
  EXPECT_EQ(strict.verify(wire, PayloadType::kApplyRequest).error().code,
            "timestamp_out_of_window");
}

TEST_F(EnvelopeTest, ExtremeTimestampsAreRefusedWithoutOverflow) {
  for (int64_t ts : {INT64_MIN, INT64_MAX, int64_t{0}}) {
    auto env = protocol::decode_envelope(signed_envelope()).value();
    env.timestamp_ms = ts;
    EXPECT_EQ(code_of(protocol::encode_envelope(env)), "timestamp_out_of_window") << ts;
  }
}

TEST_F(EnvelopeTest, VerifiedEnvelopeRecordsTheSignersClock) {
  ClockSkewTable skew(clock);
  EnvelopeVerifier v(clock, {.clock_skew = &skew});
  Bytes wire = signed_envelope();
  clock.advance_ms(4'000);
  ASSERT_TRUE(v.verify(wire, PayloadType::kApplyRequest).ok());
  EXPECT_EQ(skew.get(alice.node_id())->skew_ms, -4'000);
}

TEST_F(EnvelopeTest, OutOfWindowEnvelopeIsRecordedAndStillRefused) {
  ClockSkewTable skew(clock);
  EnvelopeVerifier v(clock, {.clock_skew = &skew});
  Bytes wire = signed_envelope();
  clock.advance_ms(-45'000);
  EXPECT_EQ(v.verify(wire, PayloadType::kApplyRequest).error().code, "timestamp_out_of_window");
  EXPECT_EQ(skew.get(alice.node_id())->skew_ms, 45'000);
}

TEST_F(EnvelopeTest, ForgedOutOfWindowEnvelopeIsNotRecorded) {
  ClockSkewTable skew(clock);
  EnvelopeVerifier v(clock, {.clock_skew = &skew});
  auto env = protocol::decode_envelope(signed_envelope()).value();
  env.timestamp_ms += 60'000;
  EXPECT_EQ(v.verify(protocol::encode_envelope(env), PayloadType::kApplyRequest).error().code,
            "timestamp_out_of_window");
  EXPECT_EQ(skew.size(), 0u);
}

TEST_F(EnvelopeTest, BadSignatureIsRefused) {
  auto env = protocol::decode_envelope(signed_envelope()).value();
  env.signature[10] ^= 1;
  EXPECT_EQ(code_of(protocol::encode_envelope(env)), "bad_signature");
}

TEST_F(EnvelopeTest, SignatureByAnotherKeyIsRefused) {
  Identity mallory = Identity::generate();
  auto env = protocol::decode_envelope(signed_envelope()).value();
  env.signer_public_key = mallory.public_key();
  EXPECT_EQ(code_of(protocol::encode_envelope(env)), "bad_signature");
}

TEST_F(EnvelopeTest, ReplayInsideTheWindowIsRefused) {
  Bytes wire = signed_envelope();
  EXPECT_EQ(code_of(wire), "ok");
  EXPECT_EQ(code_of(wire), "replay");
  clock.advance_ms(29'000);
  EXPECT_EQ(code_of(wire), "replay");
}

TEST_F(EnvelopeTest, SameNonceFromAnotherSignerIsNotAReplay) {
  Identity bob = Identity::generate();
  auto env = protocol::decode_envelope(signed_envelope()).value();
  EXPECT_EQ(code_of(protocol::encode_envelope(env)), "ok");
  env.signer_public_key = bob.public_key();
  env.signature = bob.sign(envelope_signing_bytes(env.payload_type, env.nonce, env.timestamp_ms,
                                                  env.signer_public_key, env.payload));
  EXPECT_EQ(code_of(protocol::encode_envelope(env)), "ok");
}

TEST_F(EnvelopeTest, ReplayCacheForgetsEntriesAfterTheWindow) {
  Bytes wire = signed_envelope();
  EXPECT_EQ(code_of(wire), "ok");
  EXPECT_EQ(verifier.replay_cache_size(), 1u);
  clock.advance_ms(30'001);
  EXPECT_EQ(verifier.replay_cache_size(), 0u);
  // And the old envelope is still refused: now by its timestamp.
  EXPECT_EQ(code_of(wire), "timestamp_out_of_window");
}

TEST_F(EnvelopeTest, FullReplayCacheRefusesNewEnvelopesUntilEntriesExpire) {
  EnvelopeVerifier tiny(clock, {.replay_capacity = 3});
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(tiny.verify(signed_envelope(), PayloadType::kApplyRequest).ok());
  }
  Bytes fourth = signed_envelope();
  auto r = tiny.verify(fourth, PayloadType::kApplyRequest);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "replay_cache_full");
  EXPECT_EQ(tiny.replay_cache_size(), 3u);
  clock.advance_ms(30'001);
  EXPECT_TRUE(tiny.verify(signed_envelope(), PayloadType::kApplyRequest).ok());
  EXPECT_EQ(tiny.replay_cache_size(), 1u);
}

TEST_F(EnvelopeTest, RejectedEnvelopesDoNotEnterTheReplayCache) {
  auto env = protocol::decode_envelope(signed_envelope()).value();
  env.signature[0] ^= 1;
  EXPECT_EQ(code_of(protocol::encode_envelope(env)), "bad_signature");
  EXPECT_EQ(code_of(signed_envelope(PayloadType::kDeleteRequest)), "unexpected_payload_type");
  EXPECT_EQ(verifier.replay_cache_size(), 0u);
}

// ---- credential ------------------------------------------------------------------------

TEST_F(EnvelopeTest, SignEnvelopeAttachesTheIdentitysCredential) {
  alice.set_credential(to_bytes("alice's credential"));
  auto env = protocol::decode_envelope(signed_envelope()).value();
  EXPECT_EQ(env.credential, to_bytes("alice's credential"));
}

TEST_F(EnvelopeTest, CredentialIsNotCoveredByTheSignature) {
  alice.set_credential(to_bytes("first"));
  auto env = protocol::decode_envelope(signed_envelope()).value();
  env.credential = to_bytes("swapped");
  EXPECT_EQ(code_of(protocol::encode_envelope(env)), "ok");
}

// ---- per-signer replay quota ------------------------------------------------------------

TEST_F(EnvelopeTest, SignerOverItsReplayQuotaIsRefused) {
  EnvelopeVerifier v(clock, {.replay_capacity = 100, .replay_quota_per_signer = 3});
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(v.verify(signed_envelope(), PayloadType::kApplyRequest));
  auto r = v.verify(signed_envelope(), PayloadType::kApplyRequest);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "replay_quota_exceeded");
  EXPECT_EQ(v.replay_cache_size(), 3u);
}

TEST_F(EnvelopeTest, FloodingSignerDoesNotBlockAnotherSigner) {
  EnvelopeVerifier v(clock, {.replay_capacity = 100, .replay_quota_per_signer = 10});
  for (int i = 0; i < 50; ++i) (void)v.verify(signed_envelope(), PayloadType::kApplyRequest);
  Identity bob = Identity::generate();
  auto r = v.verify(sign_envelope(bob, PayloadType::kApplyRequest, payload, clock),
                    PayloadType::kApplyRequest);
  EXPECT_TRUE(r.ok()) << r.error().to_string();
}

TEST_F(EnvelopeTest, ReplayQuotaFreesAsTheSignersEntriesExpire) {
  EnvelopeVerifier v(clock, {.replay_capacity = 100, .replay_quota_per_signer = 2});
  for (int i = 0; i < 2; ++i) EXPECT_TRUE(v.verify(signed_envelope(), PayloadType::kApplyRequest));
  clock.advance_ms(30'001);
  EXPECT_TRUE(v.verify(signed_envelope(), PayloadType::kApplyRequest));
}

TEST_F(EnvelopeTest, ReplayIsReportedAsReplayEvenWhenTheSignerIsOverQuota) {
  EnvelopeVerifier v(clock, {.replay_capacity = 100, .replay_quota_per_signer = 1});
  Bytes wire = signed_envelope();
  EXPECT_TRUE(v.verify(wire, PayloadType::kApplyRequest));
  EXPECT_EQ(v.verify(wire, PayloadType::kApplyRequest).error().code, "replay");
}

TEST_F(EnvelopeTest, ZeroReplayQuotaMeansNoPerSignerLimit) {
  EnvelopeVerifier v(clock, {.replay_capacity = 100, .replay_quota_per_signer = 0});
  for (int i = 0; i < 50; ++i) EXPECT_TRUE(v.verify(signed_envelope(), PayloadType::kApplyRequest));
}

// ---- not_before ---------------------------------------------------------------------------

TEST_F(EnvelopeTest, EnvelopeSignedBeforeNotBeforeIsRefused) {
  Bytes before_restart = signed_envelope();
  clock.advance_ms(1'000);
  EnvelopeVerifier restarted(clock, {.not_before_ms = clock.now_ms()});
  auto r = restarted.verify(before_restart, PayloadType::kApplyRequest);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "replay_window_closed");
}

TEST_F(EnvelopeTest, EnvelopeSignedAtNotBeforeIsAccepted) {
  EnvelopeVerifier restarted(clock, {.not_before_ms = clock.now_ms()});
  EXPECT_TRUE(restarted.verify(signed_envelope(), PayloadType::kApplyRequest).ok());
}

// ---- replies ------------------------------------------------------------------------------

TEST_F(EnvelopeTest, VerifyReplyDoesNotUseTheReplayCache) {
  Bytes reply = signed_envelope(PayloadType::kApplyResponse);
  EXPECT_TRUE(verifier.verify_reply(reply, PayloadType::kApplyResponse).ok());
  EXPECT_TRUE(verifier.verify_reply(reply, PayloadType::kApplyResponse).ok());
  EXPECT_EQ(verifier.replay_cache_size(), 0u);
}

TEST_F(EnvelopeTest, VerifyReplySucceedsWhileStrangersFillTheReplayCache) {
  EnvelopeVerifier full(clock, {.replay_capacity = 2});
  for (int i = 0; i < 2; ++i) {
    Identity stranger = Identity::generate();
    EXPECT_TRUE(full.verify(sign_envelope(stranger, PayloadType::kApplyRequest, payload, clock),
                            PayloadType::kApplyRequest));
  }
  EXPECT_EQ(full.verify(signed_envelope(), PayloadType::kApplyRequest).error().code,
            "replay_cache_full");
  EXPECT_TRUE(
      full.verify_reply(signed_envelope(PayloadType::kApplyResponse), PayloadType::kApplyResponse));
}

TEST_F(EnvelopeTest, VerifyReplyStillChecksTheSignature) {
  auto env = protocol::decode_envelope(signed_envelope(PayloadType::kApplyResponse)).value();
  env.payload[0] ^= 1;
  auto r = verifier.verify_reply(protocol::encode_envelope(env), PayloadType::kApplyResponse);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "bad_signature");
}

TEST_F(EnvelopeTest, VerifyReplyStillChecksTheTimestampWindow) {
  Bytes reply = signed_envelope(PayloadType::kApplyResponse);
  clock.advance_ms(30'001);
  EXPECT_EQ(verifier.verify_reply(reply, PayloadType::kApplyResponse).error().code,
            "timestamp_out_of_window");
}

TEST_F(EnvelopeTest, OpenReplyDecodesTheResponse) {
  protocol::ApplyResponse response;
  response.request_id = "req-7";
  response.ok = true;
  auto got = open_reply<protocol::ApplyResponse>(verifier, sign_message(alice, response, clock));
  ASSERT_TRUE(got.ok()) << got.error().to_string();
  EXPECT_EQ(got->message, response);
}

// ---- membership ---------------------------------------------------------------------------

class EnvelopeMembershipTest : public EnvelopeTest {
 protected:
  Identity admin = Identity::generate();
  Membership membership{admin.public_key(), "prod", clock};
  EnvelopeVerifier members_only{clock, {.membership = &membership}};

  Bytes node_credential(const Identity& subject, int64_t expires_in_ms = 3'600'000) {
    return make_credential(
        issue_certificate(admin, CertificateBody{.kind = CertKind::kNode,
                                                 .subject = subject.public_key(),
                                                 .name = "n1",
                                                 .mesh_id = "prod",
                                                 .issued_ms = clock.now_ms(),
                                                 .expires_ms = clock.now_ms() + expires_in_ms}));
  }
  std::string member_code(ByteView wire) {
    auto r = members_only.verify(wire, PayloadType::kApplyRequest);
    return r.ok() ? "ok" : r.error().code;
  }
};

TEST_F(EnvelopeMembershipTest, MemberEnvelopeVerifiesAndNamesTheMember) {
  alice.set_credential(node_credential(alice));
  auto r = members_only.verify(signed_envelope(), PayloadType::kApplyRequest);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  ASSERT_TRUE(r->member.has_value());
  EXPECT_EQ(r->member->kind, CertKind::kNode);
  EXPECT_EQ(r->member->key, alice.public_key());
}

TEST_F(EnvelopeMembershipTest, WithoutMembershipNoMemberIsReported) {
  auto r = verifier.verify(signed_envelope(), PayloadType::kApplyRequest);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->member.has_value());
}

TEST_F(EnvelopeMembershipTest, EnvelopeWithoutCredentialIsRefusedWithNoCredential) {
  EXPECT_EQ(member_code(signed_envelope()), "no_credential");
}

TEST_F(EnvelopeMembershipTest, SelfIssuedCredentialIsRefusedWithNotAMember) {
  Identity stranger = Identity::generate();
  stranger.set_credential(make_credential(
      issue_certificate(stranger, CertificateBody{.kind = CertKind::kNode,
                                                  .subject = stranger.public_key(),
                                                  .name = "evil",
                                                  .mesh_id = "prod",
                                                  .issued_ms = clock.now_ms(),
                                                  .expires_ms = clock.now_ms() + 3'600'000})));
  EXPECT_EQ(member_code(sign_envelope(stranger, PayloadType::kApplyRequest, payload, clock)),
            "not_a_member");
}

TEST_F(EnvelopeMembershipTest, AnotherMembersCredentialIsRefusedWithCredentialMismatch) {
  Identity mallory = Identity::generate();
  mallory.set_credential(node_credential(alice));
  EXPECT_EQ(member_code(sign_envelope(mallory, PayloadType::kApplyRequest, payload, clock)),
            "credential_mismatch");
}

TEST_F(EnvelopeMembershipTest, RevokedMemberIsRefusedWithCredentialRevoked) {
  alice.set_credential(node_credential(alice));
  ASSERT_TRUE(membership
                  .update_revocations(sign_revocations(
                      admin, RevocationList{"prod", 1, clock.now_ms(), {}, {alice.public_key()}}))
                  .ok());
  EXPECT_EQ(member_code(signed_envelope()), "credential_revoked");
}

TEST_F(EnvelopeMembershipTest, ExpiredCredentialIsRefusedWithCredentialExpired) {
  alice.set_credential(node_credential(alice, /*expires_in_ms=*/10'000));
  clock.advance_ms(20'000);
  EXPECT_EQ(member_code(signed_envelope()), "credential_expired");
}

TEST_F(EnvelopeMembershipTest, MembershipIsCheckedBeforeTheSignature) {
  auto env = protocol::decode_envelope(signed_envelope()).value();
  env.signature[0] ^= 1;  // a stranger's forgery: refused as a non-member, not as a forgery
  EXPECT_EQ(member_code(protocol::encode_envelope(env)), "no_credential");
}

TEST_F(EnvelopeMembershipTest, MembershipIsCheckedAfterTheTimestampWindow) {
  Bytes wire = signed_envelope();
  clock.advance_ms(30'001);
  EXPECT_EQ(member_code(wire), "timestamp_out_of_window");
}

TEST_F(EnvelopeMembershipTest, StrangersDoNotEnterTheReplayCache) {
  for (int i = 0; i < 10; ++i) EXPECT_EQ(member_code(signed_envelope()), "no_credential");
  EXPECT_EQ(members_only.replay_cache_size(), 0u);
}

TEST_F(EnvelopeMembershipTest, ForgedEnvelopeWithAMembersCredentialIsRefusedAsBadSignature) {
  alice.set_credential(node_credential(alice));
  auto env = protocol::decode_envelope(signed_envelope()).value();
  env.payload[0] ^= 1;
  EXPECT_EQ(member_code(protocol::encode_envelope(env)), "bad_signature");
}

TEST_F(EnvelopeMembershipTest, VerifyReplyChecksMembershipToo) {
  auto r = members_only.verify_reply(signed_envelope(PayloadType::kApplyResponse),
                                     PayloadType::kApplyResponse);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "no_credential");
}

// Tampering with any byte of any signed field is caught.
class EnvelopeTamperTest : public EnvelopeTest {
 protected:
  void expect_caught(const Envelope& tampered, const std::string& what) {
    std::string code = code_of(protocol::encode_envelope(tampered));
    EXPECT_TRUE(code == "bad_signature" || code == "timestamp_out_of_window" || code == "malformed")
        << what << " -> " << code;
  }
};

TEST_F(EnvelopeTamperTest, AnyPayloadByteIsCaught) {
  Bytes wire = signed_envelope();
  auto env = protocol::decode_envelope(wire).value();
  for (size_t i = 0; i < env.payload.size(); ++i) {
    for (uint8_t bit : {0x01, 0x80}) {
      Envelope t = env;
      t.payload[i] ^= bit;
      EXPECT_EQ(code_of(protocol::encode_envelope(t)), "bad_signature") << "payload byte " << i;
    }
  }
  Envelope longer = env;
  longer.payload.push_back(0);
  EXPECT_EQ(code_of(protocol::encode_envelope(longer)), "bad_signature");
  EXPECT_EQ(code_of(wire), "ok");  // the original still verifies: nothing was cached
}

TEST_F(EnvelopeTamperTest, AnyNonceByteIsCaught) {
  Bytes wire = signed_envelope();
  auto env = protocol::decode_envelope(wire).value();
  for (size_t i = 0; i < env.nonce.size(); ++i) {
    Envelope t = env;
    t.nonce[i] ^= 0x01;
    EXPECT_EQ(code_of(protocol::encode_envelope(t)), "bad_signature") << "nonce byte " << i;
  }
  EXPECT_EQ(code_of(wire), "ok");
}

TEST_F(EnvelopeTamperTest, AnyTimestampByteIsCaught) {
  Bytes wire = signed_envelope();
  auto env = protocol::decode_envelope(wire).value();
  for (int byte = 0; byte < 8; ++byte) {
    Envelope t = env;
    t.timestamp_ms =
        static_cast<int64_t>(static_cast<uint64_t>(t.timestamp_ms) ^ (uint64_t{1} << (8 * byte)));
    expect_caught(t, "timestamp byte " + std::to_string(byte));
  }
  EXPECT_EQ(code_of(wire), "ok");
}

TEST_F(EnvelopeTamperTest, AnySignerByteIsCaught) {
  Bytes wire = signed_envelope();
  auto env = protocol::decode_envelope(wire).value();
  for (size_t i = 0; i < env.signer_public_key.size(); ++i) {
    Envelope t = env;
    t.signer_public_key[i] ^= 0x01;
    EXPECT_EQ(code_of(protocol::encode_envelope(t)), "bad_signature") << "signer byte " << i;
  }
  EXPECT_EQ(code_of(wire), "ok");
}

TEST_F(EnvelopeTamperTest, PayloadTypeChangeIsCaught) {
  auto env = protocol::decode_envelope(signed_envelope(PayloadType::kDeleteRequest)).value();
  env.payload_type = PayloadType::kApplyRequest;
  EXPECT_EQ(code_of(protocol::encode_envelope(env)), "bad_signature");
}

TEST_F(EnvelopeTamperTest, AnyWireByteFlipIsCaughtOrChangesNothingSigned) {
  Bytes wire = signed_envelope();
  const Envelope original = protocol::decode_envelope(wire).value();
  for (size_t i = 0; i < wire.size(); ++i) {
    Bytes t = wire;
    t[i] ^= 0x01;
    EnvelopeVerifier fresh(clock);
    auto r = fresh.verify(t, PayloadType::kApplyRequest);
    if (r.ok()) {
      // Only bytes the signature does not need (FlatBuffers padding/vtable slack) may flip
      // and still verify — and then every signed field is unchanged.
      EXPECT_EQ(r->payload, original.payload) << "wire byte " << i;
      EXPECT_EQ(r->nonce, original.nonce) << "wire byte " << i;
      EXPECT_EQ(r->timestamp_ms, original.timestamp_ms) << "wire byte " << i;
      EXPECT_EQ(r->signer, original.signer_public_key) << "wire byte " << i;
    }
  }
}

TEST_F(EnvelopeTest, ConcurrentVerifiersAcceptEachEnvelopeExactlyOnce) {
  constexpr int kEnvelopes = 100;
  constexpr int kThreads = 4;
  std::vector<Bytes> wires;
  for (int i = 0; i < kEnvelopes; ++i) wires.push_back(signed_envelope());
  std::atomic<int> accepted{0}, replays{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (const auto& w : wires) {
        auto r = verifier.verify(w, PayloadType::kApplyRequest);
        if (r.ok()) {
          ++accepted;
        } else if (r.error().code == "replay") {
          ++replays;
        } else {
          ++other;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(accepted.load(), kEnvelopes);
  EXPECT_EQ(replays.load(), kEnvelopes * (kThreads - 1));
  EXPECT_EQ(other.load(), 0);
}

}  // namespace
}  // namespace beemesh::crypto
