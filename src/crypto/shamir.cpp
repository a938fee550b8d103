#include "crypto/shamir.h"

extern "C" {
#include <libgfshare.h>
}
#include <sodium.h>

#include <memory>
#include <string>

#include "crypto/sodium_init.h"

namespace beemesh::crypto {

namespace {

void fill_random(unsigned char* buffer, unsigned int count) {
  randombytes_buf(buffer, count);
}

// libgfshare draws polynomial coefficients from the global gfshare_fill_rand hook; point it
// at libsodium's CSPRNG once (its default is NULL, and its fallback uses random()).
void ensure_gfshare() {
  static const bool ready = [] {
    detail::ensure_sodium();
    gfshare_fill_rand = fill_random;
    return true;
  }();
  (void)ready;
}

struct CtxFree {
  void operator()(gfshare_ctx* ctx) const { gfshare_ctx_free(ctx); }
};
using Ctx = std::unique_ptr<gfshare_ctx, CtxFree>;

}  // namespace

SecretKey::~SecretKey() {
  sodium_memzero(bytes_.data(), bytes_.size());
}

SecretKey SecretKey::random() {
  detail::ensure_sodium();
  SecretKey key;
  randombytes_buf(key.bytes_.data(), key.bytes_.size());
  return key;
}

bool SecretKey::operator==(const SecretKey& other) const {
  return sodium_memcmp(bytes_.data(), other.bytes_.data(), bytes_.size()) == 0;
}

KeyShare::~KeyShare() {
  sodium_memzero(data.data(), data.size());
}

Result<std::vector<KeyShare>> split_key(const SecretKey& key, unsigned n, unsigned k) {
  ensure_gfshare();
  if (k < 1 || n < k || n > 255) {
    return make_error("bad_share_parameters", "cannot split a key into n=" + std::to_string(n) +
                                                  " shares with threshold k=" + std::to_string(k) +
                                                  " (need 1 <= k <= n <= 255)");
  }
  std::vector<unsigned char> indexes(n);
  for (unsigned i = 0; i < n; ++i) indexes[i] = static_cast<unsigned char>(i + 1);
  Ctx ctx(
      gfshare_ctx_init_enc(indexes.data(), n, static_cast<unsigned char>(k), kSymmetricKeySize));
  if (!ctx) return make_error("bad_share_parameters", "libgfshare refused the parameters");
  SecretKey secret = key;  // gfshare_ctx_enc_setsecret takes a non-const pointer
  gfshare_ctx_enc_setsecret(ctx.get(), secret.mutable_bytes().data());
  std::vector<KeyShare> shares(n);
  for (unsigned i = 0; i < n; ++i) {
    shares[i].index = indexes[i];
    gfshare_ctx_enc_getshare(ctx.get(), static_cast<unsigned char>(i), shares[i].data.data());
  }
  return shares;
}

Result<SecretKey> combine_shares(std::span<const KeyShare> shares, unsigned k) {
  ensure_gfshare();
  if (k < 1 || k > 255) {
    return make_error("bad_share_parameters",
                      "threshold k=" + std::to_string(k) + " outside 1..255");
  }
  std::vector<const KeyShare*> chosen;
  std::array<bool, 256> seen{};
  for (const auto& share : shares) {
    if (share.index == 0) return make_error("bad_share", "share index 0 is not a valid share");
    if (seen[share.index]) continue;
    seen[share.index] = true;
    chosen.push_back(&share);
    if (chosen.size() == k) break;
  }
  if (chosen.size() < k) {
    return make_error("too_few_shares", "have " + std::to_string(chosen.size()) +
                                            " distinct shares, need " + std::to_string(k));
  }
  std::vector<unsigned char> indexes(k);
  for (unsigned i = 0; i < k; ++i) indexes[i] = chosen[i]->index;
  Ctx ctx(gfshare_ctx_init_dec(indexes.data(), k, kSymmetricKeySize));
  if (!ctx) return make_error("bad_share", "libgfshare refused the share indexes");
  for (unsigned i = 0; i < k; ++i) {
    KeyShare copy = *chosen[i];  // gfshare_ctx_dec_giveshare takes a non-const pointer
    gfshare_ctx_dec_giveshare(ctx.get(), static_cast<unsigned char>(i), copy.data.data());
  }
  SecretKey key;
  gfshare_ctx_dec_extract(ctx.get(), key.mutable_bytes().data());
  return key;
}

}  // namespace beemesh::crypto
