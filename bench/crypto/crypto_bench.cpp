// Crypto benchmarks: sign, verify (raw and the full EnvelopeVerifier path), manifest
// encryption/decryption of a 4 KiB manifest, Shamir split/combine (k=3, n=5), share release.
// Results: docs/notes/bench-crypto.md.
#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

#include "crypto/envelope.h"
#include "crypto/grants.h"
#include "crypto/manifest_crypto.h"
#include "crypto/records.h"
#include "crypto/shamir.h"

namespace beemesh::crypto {
namespace {

constexpr size_t kManifestSize = 4096;

Bytes manifest_bytes() {
  Bytes b(kManifestSize);
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<uint8_t>('a' + i % 26);
  return b;
}

struct Holders {
  std::vector<Identity> ids;
  std::vector<protocol::ShareHolder> records;
  explicit Holders(int n) {
    for (int i = 0; i < n; ++i) {
      ids.push_back(Identity::generate());
      records.push_back({ids.back().node_id(), ids.back().public_key(), "127.0.0.1:7401", 0});
    }
  }
};

void BM_Sign(benchmark::State& state) {
  auto id = Identity::generate();
  Bytes msg(static_cast<size_t>(state.range(0)), 0x42);
  for (auto _ : state) benchmark::DoNotOptimize(id.sign(msg));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Sign)->Arg(256)->Arg(4096);

void BM_VerifySignature(benchmark::State& state) {
  auto id = Identity::generate();
  Bytes msg(static_cast<size_t>(state.range(0)), 0x42);
  auto sig = id.sign(msg);
  for (auto _ : state) benchmark::DoNotOptimize(verify_signature(id.public_key(), msg, sig));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_VerifySignature)->Arg(256)->Arg(4096);

void BM_SignEnvelope(benchmark::State& state) {
  auto id = Identity::generate();
  ManualClock clock;
  Bytes payload(static_cast<size_t>(state.range(0)), 0x42);
  for (auto _ : state) {
    benchmark::DoNotOptimize(sign_envelope(id, PayloadType::kApplyRequest, payload, clock));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SignEnvelope)->Arg(256)->Arg(4096);

// The full receive path: size check, FlatBuffers Verifier, decode, type, timestamp window,
// Ed25519 signature, replay cache insert. Every iteration verifies a distinct envelope
// (a repeated one would be a replay); when the pre-signed pool runs out the verifier is
// replaced (timing paused).
void BM_EnvelopeVerifierVerify(benchmark::State& state) {
  constexpr size_t kPool = 20'000;
  auto id = Identity::generate();
  ManualClock clock;
  Bytes payload(static_cast<size_t>(state.range(0)), 0x42);
  std::vector<Bytes> pool;
  pool.reserve(kPool);
  for (size_t i = 0; i < kPool; ++i) {
    pool.push_back(sign_envelope(id, PayloadType::kApplyRequest, payload, clock));
  }
  auto verifier = std::make_unique<EnvelopeVerifier>(clock);
  size_t next = 0;
  for (auto _ : state) {
    if (next == kPool) {
      state.PauseTiming();
      verifier = std::make_unique<EnvelopeVerifier>(clock);
      next = 0;
      state.ResumeTiming();
    }
    auto r = verifier->verify(pool[next++], PayloadType::kApplyRequest);
    if (!r.ok()) state.SkipWithError(r.error().to_string().c_str());
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(pool[0].size()));
}
BENCHMARK(BM_EnvelopeVerifierVerify)->Arg(256)->Arg(1024)->Arg(4096);

// Verification against a replay cache that already holds 100,000 live entries.
void BM_EnvelopeVerifierVerifyFullCache(benchmark::State& state) {
  constexpr size_t kPool = 20'000;
  auto id = Identity::generate();
  ManualClock clock;
  Bytes payload(256, 0x42);
  std::vector<Bytes> warm, pool;
  for (size_t i = 0; i < 100'000; ++i) {
    warm.push_back(sign_envelope(id, PayloadType::kApplyRequest, payload, clock));
  }
  for (size_t i = 0; i < kPool; ++i) {
    pool.push_back(sign_envelope(id, PayloadType::kApplyRequest, payload, clock));
  }
  EnvelopeVerifier::Options options;
  options.replay_capacity = 200'000;
  auto make = [&] {
    auto v = std::make_unique<EnvelopeVerifier>(clock, options);
    for (const auto& w : warm) (void)v->verify(w, PayloadType::kApplyRequest);
    return v;
  };
  auto verifier = make();
  size_t next = 0;
  for (auto _ : state) {
    if (next == kPool) {
      state.PauseTiming();
      verifier = make();
      next = 0;
      state.ResumeTiming();
    }
    auto r = verifier->verify(pool[next++], PayloadType::kApplyRequest);
    if (!r.ok()) state.SkipWithError(r.error().to_string().c_str());
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EnvelopeVerifierVerifyFullCache);

void BM_EncryptManifest4KiB(benchmark::State& state) {
  auto owner = Identity::generate();
  Holders holders(5);
  Bytes manifest = manifest_bytes();
  for (auto _ : state) {
    auto enc = encrypt_manifest("0123456789abcdef0123456789abcdef", owner.public_key(), manifest,
                                holders.records, {.n = 5, .k = 3}, 1);
    benchmark::DoNotOptimize(enc);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(kManifestSize));
}
BENCHMARK(BM_EncryptManifest4KiB);

// Deploying node: open 3 shares sealed to it, combine, check commitment, decrypt.
void BM_DecryptManifest4KiB(benchmark::State& state) {
  auto owner = Identity::generate();
  auto deployer = Identity::generate();
  Holders holders(5);
  auto enc = encrypt_manifest("0123456789abcdef0123456789abcdef", owner.public_key(),
                              manifest_bytes(), holders.records, {.n = 5, .k = 3}, 1)
                 .value();
  // Shares as the deployer receives them: re-sealed to its key.
  std::vector<std::pair<uint8_t, Bytes>> sealed;
  for (size_t i = 0; i < 3; ++i) {
    auto share =
        open_share(holders.ids[i], enc.shares[i].sealed, enc.shares[i].holder.share_index).value();
    sealed.emplace_back(share.index, seal_share(share, deployer.x25519_public_key()));
  }
  for (auto _ : state) {
    std::vector<KeyShare> shares;
    for (const auto& [index, bytes] : sealed)
      shares.push_back(open_share(deployer, bytes, index).value());
    auto plain = decrypt_manifest(enc.applied, shares);
    if (!plain.ok()) state.SkipWithError(plain.error().to_string().c_str());
    benchmark::DoNotOptimize(plain);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(kManifestSize));
}
BENCHMARK(BM_DecryptManifest4KiB);

// The symmetric part alone: XChaCha20-Poly1305 open of 4 KiB with a known key.
void BM_AeadOpen4KiB(benchmark::State& state) {
  auto owner = Identity::generate();
  Holders holders(1);
  auto enc = encrypt_manifest("m", owner.public_key(), manifest_bytes(), holders.records,
                              {.n = 1, .k = 1}, 1)
                 .value();
  auto share = open_share(holders.ids[0], enc.shares[0].sealed, 1).value();
  std::vector<KeyShare> one{share};
  SecretKey key = reconstruct_key(enc.applied, one).value();
  for (auto _ : state) benchmark::DoNotOptimize(decrypt_manifest(enc.applied, key));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(kManifestSize));
}
BENCHMARK(BM_AeadOpen4KiB);

void BM_SplitKey_k3_n5(benchmark::State& state) {
  SecretKey key = SecretKey::random();
  for (auto _ : state) benchmark::DoNotOptimize(split_key(key, 5, 3));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SplitKey_k3_n5);

void BM_CombineShares_k3_n5(benchmark::State& state) {
  auto shares = split_key(SecretKey::random(), 5, 3).value();
  std::vector<KeyShare> three{shares[0], shares[2], shares[4]};
  for (auto _ : state) benchmark::DoNotOptimize(combine_shares(three, 3));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CombineShares_k3_n5);

// Key holder answering a KeyShareRequest: check the grant, open, re-seal.
void BM_ReleaseShare(benchmark::State& state) {
  ManualClock clock;
  auto owner = Identity::generate();
  auto deployer = Identity::generate();
  Holders holders(5);
  auto enc =
      encrypt_manifest("m", owner.public_key(), manifest_bytes(), holders.records, {}, 1).value();
  Bytes grant = issue_grant(owner, GrantAction::kKeyShare, "m", deployer.public_key(),
                            clock.now_ms(), clock.now_ms() + 60'000);
  StoredShare stored{"m", owner.public_key(), enc.shares[0].holder.share_index,
                     enc.shares[0].sealed};
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        release_share(holders.ids[0], stored, deployer.public_key(), grant, clock));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ReleaseShare);

void BM_OpenProviderRecord(benchmark::State& state) {
  auto id = Identity::generate();
  protocol::ProviderRecord rec;
  rec.manifest_id = "0123456789abcdef0123456789abcdef";
  rec.node_id = id.node_id();
  rec.signer_public_key = id.public_key();
  rec.rpc_endpoint = "127.0.0.1:7401";
  rec.engine = "podman";
  Bytes value = sign_provider_record(id, rec);
  for (auto _ : state) benchmark::DoNotOptimize(open_provider_record(value));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_OpenProviderRecord);

}  // namespace
}  // namespace beemesh::crypto

BENCHMARK_MAIN();
