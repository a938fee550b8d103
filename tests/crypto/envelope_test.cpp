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
