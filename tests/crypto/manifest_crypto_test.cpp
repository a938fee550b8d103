// Encrypted manifests: encryption bound to manifest id and owner, shares sealed per holder,
// reconstruction checked against the key commitment.
#include "crypto/manifest_crypto.h"

#include <gtest/gtest.h>

#include "crypto/holders.h"

namespace beemesh::crypto {
namespace {

const std::string kManifestId = "0123456789abcdef0123456789abcdef";
const std::string kYaml = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n";

class ManifestCryptoTest : public ::testing::Test {
 protected:
  Identity owner = Identity::generate();
  testing::Holders holders{5};

  EncryptedManifest encrypt(ShareParams params = {}, int holder_count = 5) {
    std::span<const protocol::ShareHolder> hs(holders.records.data(), holder_count);
    auto enc = encrypt_manifest(kManifestId, owner.public_key(), as_bytes(kYaml), hs, params, 1);
    EXPECT_TRUE(enc.ok()) << enc.error().to_string();
    return std::move(enc).value();
  }

  // Each holder opens its own sealed share.
  std::vector<KeyShare> open_all(const EncryptedManifest& enc) {
    std::vector<KeyShare> out;
    for (size_t i = 0; i < enc.shares.size(); ++i) {
      auto s = open_share(holders.ids[i], enc.shares[i].sealed, enc.shares[i].holder.share_index);
      EXPECT_TRUE(s.ok()) << s.error().to_string();
      out.push_back(*s);
    }
    return out;
  }
};

TEST_F(ManifestCryptoTest, DefaultsAreFiveSharesThresholdThree) {
  auto enc = encrypt();
  EXPECT_EQ(enc.applied.threshold, 3);
  ASSERT_EQ(enc.applied.share_holders.size(), 5u);
  ASSERT_EQ(enc.shares.size(), 5u);
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(enc.applied.share_holders[i].share_index, i + 1);
    EXPECT_EQ(enc.applied.share_holders[i].node_id, holders.ids[i].node_id());
    EXPECT_EQ(enc.shares[i].holder, enc.applied.share_holders[i]);
  }
  EXPECT_EQ(enc.applied.manifest_id, kManifestId);
  EXPECT_EQ(enc.applied.owner_public_key, owner.public_key());
}

TEST_F(ManifestCryptoTest, CiphertextDoesNotContainThePlaintext) {
  auto enc = encrypt();
  std::string ct(enc.applied.ciphertext.begin(), enc.applied.ciphertext.end());
  EXPECT_EQ(ct.find("kind: Pod"), std::string::npos);
}

TEST_F(ManifestCryptoTest, AnyThreeHoldersSharesDecrypt) {
  auto enc = encrypt();
  auto shares = open_all(enc);
  for (unsigned mask = 0; mask < 32; ++mask) {
    if (__builtin_popcount(mask) != 3) continue;
    std::vector<KeyShare> picked;
    for (int i = 0; i < 5; ++i) {
      if (mask & (1u << i)) picked.push_back(shares[i]);
    }
    auto plain = decrypt_manifest(enc.applied, picked);
    ASSERT_TRUE(plain.ok()) << plain.error().to_string();
    EXPECT_EQ(as_string(*plain), kYaml);
  }
}

TEST_F(ManifestCryptoTest, TwoSharesAreTooFew) {
  auto enc = encrypt();
  auto shares = open_all(enc);
  std::vector<KeyShare> two{shares[0], shares[3]};
  EXPECT_EQ(decrypt_manifest(enc.applied, two).error().code, "too_few_shares");
}

TEST_F(ManifestCryptoTest, TamperedShareFailsTheKeyCommitment) {
  auto enc = encrypt();
  auto shares = open_all(enc);
  std::vector<KeyShare> picked{shares[0], shares[1], shares[2]};
  picked[2].data[5] ^= 0x10;
  EXPECT_EQ(decrypt_manifest(enc.applied, picked).error().code, "bad_key_commitment");
}

TEST_F(ManifestCryptoTest, ShareOfAnotherManifestFailsTheKeyCommitment) {
  auto a = encrypt();
  auto b = encrypt();
  auto sa = open_all(a);
  auto sb = open_all(b);
  std::vector<KeyShare> mixed{sa[0], sa[1], sb[2]};
  EXPECT_EQ(decrypt_manifest(a.applied, mixed).error().code, "bad_key_commitment");
}

TEST_F(ManifestCryptoTest, TamperedSealedShareIsABadShare) {
  auto enc = encrypt();
  Bytes sealed = enc.shares[0].sealed;
  sealed[sealed.size() / 2] ^= 1;
  EXPECT_EQ(open_share(holders.ids[0], sealed, 1).error().code, "bad_share");
}

TEST_F(ManifestCryptoTest, ShareSealedToAnotherHolderDoesNotOpen) {
  auto enc = encrypt();
  EXPECT_EQ(open_share(holders.ids[1], enc.shares[0].sealed, 1).error().code, "bad_share");
}

TEST_F(ManifestCryptoTest, ShareUnderTheWrongIndexIsABadShare) {
  auto enc = encrypt();
  EXPECT_EQ(open_share(holders.ids[0], enc.shares[0].sealed, 2).error().code, "bad_share");
}

// Shares released in one batch answer: one ephemeral key for all, each share its own box.
class ShareBatchTest : public ::testing::Test {
 protected:
  Identity requester = Identity::generate();
  Identity stranger = Identity::generate();
  KeyShare share(uint8_t index) const {
    std::array<uint8_t, kSymmetricKeySize> data{};
    data.fill(static_cast<uint8_t>(0x10 + index));
    return KeyShare(index, data);
  }
  ShareBatchSealer sealer() const {
    auto s = ShareBatchSealer::to(requester.x25519_public_key());
    EXPECT_TRUE(s) << s.error().to_string();
    return std::move(*s);
  }
  static Bytes key_of(const ShareBatchSealer& s) {
    return Bytes(s.ephemeral_public_key().begin(), s.ephemeral_public_key().end());
  }
};

TEST_F(ShareBatchTest, TheRequesterOpensEveryShareOfTheBatchWithOneKey) {
  auto batch = sealer();
  Bytes first = batch.seal(share(1));
  Bytes second = batch.seal(share(2));
  auto opener = ShareBatchOpener::from(requester, key_of(batch));
  ASSERT_TRUE(opener) << opener.error().to_string();
  auto one = opener->open(first, 1);
  auto two = opener->open(second, 2);
  ASSERT_TRUE(one) << one.error().to_string();
  ASSERT_TRUE(two) << two.error().to_string();
  EXPECT_EQ(one->data, share(1).data);
  EXPECT_EQ(two->data, share(2).data);
  EXPECT_EQ(first.size(), kBatchSealedShareSize);
  EXPECT_NE(first, second);
}

TEST_F(ShareBatchTest, AnotherIdentityCannotOpenTheBatch) {
  auto batch = sealer();
  Bytes sealed = batch.seal(share(1));
  auto opener = ShareBatchOpener::from(stranger, key_of(batch));
  ASSERT_TRUE(opener);
  EXPECT_EQ(opener->open(sealed, 1).error().code, "bad_share");
}

TEST_F(ShareBatchTest, AShareOfAnotherBatchDoesNotOpen) {
  auto a = sealer();
  auto b = sealer();
  EXPECT_NE(key_of(a), key_of(b)) << "a fresh ephemeral key per batch";
  auto opener = ShareBatchOpener::from(requester, key_of(a));
  ASSERT_TRUE(opener);
  EXPECT_EQ(opener->open(b.seal(share(1)), 1).error().code, "bad_share");
}

TEST_F(ShareBatchTest, AlteredWrongSizeOrWrongIndexIsABadShare) {
  auto batch = sealer();
  Bytes sealed = batch.seal(share(3));
  auto opener = ShareBatchOpener::from(requester, key_of(batch));
  ASSERT_TRUE(opener);
  Bytes altered = sealed;
  altered[altered.size() - 1] ^= 1;
  EXPECT_EQ(opener->open(altered, 3).error().code, "bad_share");
  EXPECT_EQ(opener->open(ByteView(sealed).first(sealed.size() - 1), 3).error().code, "bad_share");
  EXPECT_EQ(opener->open(sealed, 2).error().code, "bad_share");
  EXPECT_EQ(opener->open(sealed, 0).error().code, "bad_share");
}

TEST_F(ShareBatchTest, AnEphemeralKeyOfTheWrongSizeOrOfLowOrderIsRefused) {
  EXPECT_EQ(ShareBatchOpener::from(requester, Bytes(31, 9)).error().code, "bad_share");
  EXPECT_EQ(ShareBatchOpener::from(requester, Bytes(32, 0)).error().code, "bad_share");
  EXPECT_FALSE(ShareBatchSealer::to(X25519PublicKey{}));
}

TEST_F(ManifestCryptoTest, TamperedCiphertextFailsToDecrypt) {
  auto enc = encrypt();
  auto shares = open_all(enc);
  enc.applied.ciphertext[3] ^= 1;
  EXPECT_EQ(decrypt_manifest(enc.applied, shares).error().code, "decryption_failed");
}

TEST_F(ManifestCryptoTest, TamperedNonceFailsToDecrypt) {
  auto enc = encrypt();
  auto shares = open_all(enc);
  enc.applied.nonce[0] ^= 1;
  EXPECT_EQ(decrypt_manifest(enc.applied, shares).error().code, "decryption_failed");
}

TEST_F(ManifestCryptoTest, CiphertextIsBoundToManifestIdAndOwner) {
  auto enc = encrypt();
  auto shares = open_all(enc);
  auto key = reconstruct_key(enc.applied, shares).value();
  auto moved = enc.applied;
  moved.manifest_id = "ffffffffffffffffffffffffffffffff";
  EXPECT_EQ(decrypt_manifest(moved, key).error().code, "decryption_failed");
  auto other_owner = enc.applied;
  other_owner.owner_public_key = Identity::generate().public_key();
  EXPECT_EQ(decrypt_manifest(other_owner, key).error().code, "decryption_failed");
  // Through the shares, the key commitment catches the move first.
  EXPECT_EQ(decrypt_manifest(moved, shares).error().code, "bad_key_commitment");
}

TEST_F(ManifestCryptoTest, SharesAreCappedByTheHoldersAvailable) {
  auto enc = encrypt({.n = 5, .k = 3}, 2);
  EXPECT_EQ(enc.applied.share_holders.size(), 2u);
  EXPECT_EQ(enc.applied.threshold, 2);
  auto shares = open_all(enc);
  EXPECT_EQ(as_string(decrypt_manifest(enc.applied, shares).value()), kYaml);
}

TEST_F(ManifestCryptoTest, SingleNodeUsesOneShareOfOne) {
  auto enc = encrypt({.n = 1, .k = 1}, 1);
  EXPECT_EQ(enc.applied.threshold, 1);
  auto shares = open_all(enc);
  ASSERT_EQ(shares.size(), 1u);
  EXPECT_EQ(as_string(decrypt_manifest(enc.applied, shares).value()), kYaml);
}

TEST_F(ManifestCryptoTest, NoHoldersIsAnError) {
  auto enc = encrypt_manifest(kManifestId, owner.public_key(), as_bytes(kYaml), {}, {}, 1);
  EXPECT_EQ(enc.error().code, "no_share_holders");
}

TEST_F(ManifestCryptoTest, ThresholdAboveShareCountIsAnError) {
  auto enc = encrypt_manifest(kManifestId, owner.public_key(), as_bytes(kYaml), holders.records,
                              {.n = 2, .k = 3}, 1);
  EXPECT_EQ(enc.error().code, "bad_share_parameters");
}

TEST_F(ManifestCryptoTest, EachManifestGetsAFreshKeyAndNonce) {
  auto a = encrypt();
  auto b = encrypt();
  EXPECT_NE(a.applied.key_commitment, b.applied.key_commitment);
  EXPECT_NE(a.applied.nonce, b.applied.nonce);
  EXPECT_NE(a.applied.ciphertext, b.applied.ciphertext);
}

}  // namespace
}  // namespace beemesh::crypto
