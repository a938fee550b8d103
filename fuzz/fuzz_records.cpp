// fuzz_records: SignedRecord opening, every record decoder, grants, key shares, membership
// credentials and revocation lists.
// The first byte picks what to exercise; odd selectors sign the input first with a fixed
// identity so the typed decoders and signer checks behind the signature are reached.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "crypto/grants.h"
#include "crypto/heartbeat.h"
#include "crypto/intent.h"
#include "crypto/manifest_crypto.h"
#include "crypto/membership.h"
#include "crypto/records.h"
#include "fuzz_util.h"

namespace {

using namespace beemesh;  // NOLINT
using protocol::RecordType;

void check_code(const Error& e) {
  static const char* const kKnown[] = {"malformed",
                                       "oversized",
                                       "unsupported_version",
                                       "unexpected_record_type",
                                       "bad_signature",
                                       "signer_mismatch",
                                       "grant_wrong_owner",
                                       "grant_wrong_action",
                                       "grant_wrong_manifest",
                                       "grant_wrong_node",
                                       "grant_expired",
                                       "grant_not_yet_valid",
                                       "grant_wrong_content",
                                       "intent_mismatch",
                                       "no_credential",
                                       "malformed_credential",
                                       "not_a_member",
                                       "wrong_mesh",
                                       "credential_mismatch",
                                       "credential_expired",
                                       "credential_not_yet_valid",
                                       "credential_revoked",
                                       "stale_revocations",
                                       "bad_share",
                                       "too_few_shares",
                                       "bad_key_commitment",
                                       "decryption_failed",
                                       "bad_share_parameters",
                                       "bad_public_key"};
  for (const char* k : kKnown) {
    if (e.code == k) return;
  }
  fuzz::fail("unexpected error code");
}

template <typename R>
void expect_clean(const R& r) {
  if (!r.ok()) check_code(r.error());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  ByteView bytes(data + 1, size - 1);
  const auto& signer = fuzz::fixed_identity();
  ManualClock clock(1'700'000'000'000);
  switch (data[0] % 16) {
    case 0:
      expect_clean(protocol::decode_signed_record(bytes));
      break;
    case 1:
      expect_clean(crypto::open_provider_record(bytes));
      break;
    case 2:
      expect_clean(crypto::open_provider_record(
          crypto::sign_record(signer, RecordType::kProviderRecord, bytes)));
      break;
    case 3:
      expect_clean(crypto::open_peer_record(bytes));
      break;
    case 4:
      expect_clean(
          crypto::open_peer_record(crypto::sign_record(signer, RecordType::kPeerRecord, bytes)));
      break;
    case 5:
      expect_clean(crypto::open_applied_manifest(bytes));
      break;
    case 6: {
      auto applied = crypto::open_applied_manifest(
          crypto::sign_record(signer, RecordType::kAppliedManifest, bytes));
      expect_clean(applied);
      if (applied.ok()) {
        // A decoded manifest with no valid shares must fail cleanly, never decrypt.
        std::vector<crypto::KeyShare> none;
        auto plain = crypto::decrypt_manifest(*applied, none);
        if (plain.ok()) fuzz::fail("decrypted without shares");
        check_code(plain.error());
      }
      break;
    }
    case 7: {
      crypto::GrantExpectation expect{protocol::GrantAction::kKeyShare, "m", signer.public_key(),
                                      fuzz::fixed_identity(1).public_key()};
      expect_clean(crypto::check_grant(bytes, expect, clock));
      break;
    }
    case 8: {
      crypto::GrantExpectation expect{protocol::GrantAction::kKeyShare, "m", signer.public_key(),
                                      fuzz::fixed_identity(1).public_key()};
      auto g = crypto::check_grant(crypto::sign_record(signer, RecordType::kGrant, bytes), expect,
                                   clock);
      expect_clean(g);
      break;
    }
    case 9: {
      // Arbitrary sealed bytes to a holder.
      auto s = crypto::open_share(signer, bytes, size > 1 ? data[1] : 1);
      if (s.ok()) fuzz::fail("random bytes opened as a sealed share");
      check_code(s.error());
      break;
    }
    case 10: {
      // Arbitrary shares: 1 byte threshold, then 33-byte (index, data) shares.
      if (bytes.empty()) break;
      unsigned k = bytes[0];
      std::vector<crypto::KeyShare> shares;
      for (size_t off = 1; off + 33 <= bytes.size(); off += 33) {
        crypto::KeyShare s;
        s.index = bytes[off];
        std::copy(bytes.begin() + static_cast<std::ptrdiff_t>(off + 1),
                  bytes.begin() + static_cast<std::ptrdiff_t>(off + 33), s.data.begin());
        shares.push_back(s);
      }
      expect_clean(crypto::combine_shares(shares, k));
      break;
    }
    case 11:
      expect_clean(crypto::open_certificate(bytes));
      break;
    case 12: {
      // A credential built around a certificate body the fuzzer wrote, signed by the admin.
      crypto::Membership membership(signer.public_key(), "m", clock);
      Bytes cert = crypto::sign_record(signer, RecordType::kCertificate, bytes);
      expect_clean(crypto::open_certificate(cert));
      expect_clean(membership.verify(crypto::make_credential(cert), signer.public_key()));
      break;
    }
    case 13: {
      crypto::Membership membership(signer.public_key(), "m", clock);
      expect_clean(membership.verify(bytes, fuzz::fixed_identity(1).public_key()));
      break;
    }
    case 14: {
      crypto::Membership membership(signer.public_key(), "m", clock);
      expect_clean(membership.update_revocations(bytes));
      expect_clean(membership.update_revocations(
          crypto::sign_record(signer, RecordType::kRevocationList, bytes)));
      break;
    }
    default: {
      expect_clean(protocol::decode_certificate(bytes));
      expect_clean(protocol::decode_credential(bytes));
      expect_clean(protocol::decode_revocation_list(bytes));
      expect_clean(protocol::decode_grant(bytes));
      expect_clean(protocol::decode_provider_record(bytes));
      expect_clean(protocol::decode_peer_record(bytes));
      expect_clean(protocol::decode_applied_manifest(bytes));
      expect_clean(protocol::decode_desired_intent(bytes));
      expect_clean(protocol::decode_desired_state_record(bytes));
      expect_clean(crypto::open_desired_state(bytes, nullptr));
      expect_clean(protocol::decode_heartbeat(bytes));
      expect_clean(crypto::open_heartbeat(bytes));
      break;
    }
  }
  return 0;
}
