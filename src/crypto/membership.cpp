// Membership::verify (chain, mesh, signer, time, revocation) with its bounded cache, and the
// installed revocation list (crypto/membership.h).
#include "crypto/membership.h"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <deque>
#include <map>
#include <mutex>
#include <set>

#include "crypto/sodium_init.h"

namespace beemesh::crypto {

namespace {

constexpr int64_t kFutureSkewMs = 30'000;

using CacheKey = std::array<uint8_t, 32>;

// What the signatures of one credential proved: independent of the time, the signer it is
// presented for and the revocation list, so it can be cached.
struct Chain {
  Member member;
  protocol::SerialBytes serial{};
  int64_t issued_ms = 0;
  bool has_ticket = false;
  protocol::SerialBytes ticket_serial{};
  PublicKey ticket_key{};
  int64_t ticket_issued_ms = 0;
  int64_t ticket_expires_ms = 0;
};

CacheKey hash_of(ByteView bytes) {
  detail::ensure_sodium();
  CacheKey key{};
  crypto_generichash(key.data(), key.size(), bytes.data(), bytes.size(), nullptr, 0);
  return key;
}

protocol::SerialBytes serial_of(const Bytes& serial) {
  protocol::SerialBytes out{};
  std::copy_n(serial.begin(), std::min(serial.size(), out.size()), out.begin());
  return out;
}

std::string describe(const CertificateBody& body) {
  return std::string(cert_kind_name(body.kind)) + " '" + body.name + "' (" +
         node_id_of(body.subject) + ")";
}

std::string describe(const Member& m) {
  return std::string(cert_kind_name(m.kind)) + " '" + m.name + "' (" + node_id_of(m.key) + ")";
}

// open_certificate's failures: a bad signature means "not a member", the rest "malformed".
Error certificate_error(const Error& e, std::string_view which) {
  const std::string message = std::string(which) + ": " + e.message;
  if (e.code == "bad_signature") return make_error("not_a_member", message);
  return make_error("malformed_credential", message);
}

Result<Chain> verify_chain(ByteView credential_bytes, const PublicKey& admin,
                           const std::string& mesh_id) {
  auto credential = protocol::decode_credential(credential_bytes, kMaxCredentialSize);
  if (!credential) return make_error("malformed_credential", credential.error().message);
  auto cert = open_certificate(credential->certificate);
  if (!cert) return certificate_error(cert.error(), "certificate");
  std::optional<OpenedCertificate> ticket;
  if (!credential->ticket.empty()) {
    auto opened = open_certificate(credential->ticket);
    if (!opened) return certificate_error(opened.error(), "join ticket");
    ticket = std::move(*opened);
  }
  const CertificateBody& body = cert->body;
  const std::string who = describe(body);
  if (body.kind == CertKind::kJoinTicket) {
    return make_error("not_a_member", who + ": a join ticket is not a member credential");
  }
  if (body.kind != CertKind::kUser && (body.role != Role::kNone || !body.namespaces.empty())) {
    return make_error("not_a_member", who + ": only user certificates carry a role or namespaces");
  }
  if (ticket) {
    const CertificateBody& t = ticket->body;
    if (ticket->issuer != admin) {
      return make_error("not_a_member", who + ": its join ticket is not signed by the mesh admin");
    }
    if (t.kind != CertKind::kJoinTicket) {
      return make_error("not_a_member", who + ": it is signed by a " +
                                            std::string(cert_kind_name(t.kind)) +
                                            " certificate, not a join ticket");
    }
    if (t.role != Role::kNone || !t.namespaces.empty()) {
      return make_error("not_a_member", who + ": its join ticket carries a role or namespaces");
    }
    if (cert->issuer != t.subject) {
      return make_error("not_a_member", who + ": not signed by the key of its join ticket");
    }
    if (body.kind != CertKind::kNode) {
      return make_error("not_a_member", who + ": a join ticket may sign node certificates only");
    }
  } else if (cert->issuer != admin) {
    return make_error("not_a_member", who + ": signed by " + node_id_of(cert->issuer) +
                                          ", not by the mesh admin " + node_id_of(admin));
  }
  if (body.mesh_id != mesh_id) {
    return make_error("wrong_mesh",
                      who + ": belongs to mesh '" + body.mesh_id + "', not '" + mesh_id + "'");
  }
  if (ticket && ticket->body.mesh_id != mesh_id) {
    return make_error("wrong_mesh", who + ": its join ticket belongs to mesh '" +
                                        ticket->body.mesh_id + "', not '" + mesh_id + "'");
  }
  Chain chain;
  chain.member.kind = body.kind;
  chain.member.role = body.role;
  chain.member.key = body.subject;
  chain.member.name = body.name;
  chain.member.namespaces = body.namespaces;
  chain.member.serial = body.serial;
  chain.member.expires_ms = body.expires_ms;
  chain.serial = serial_of(body.serial);
  chain.issued_ms = body.issued_ms;
  if (ticket) {
    chain.has_ticket = true;
    chain.ticket_serial = serial_of(ticket->body.serial);
    chain.ticket_key = ticket->body.subject;
    chain.ticket_issued_ms = ticket->body.issued_ms;
    chain.ticket_expires_ms = ticket->body.expires_ms;
  }
  return chain;
}

}  // namespace

struct Membership::State {
  mutable std::mutex mutex;
  std::map<CacheKey, Chain> cache;
  std::deque<CacheKey> cache_order;  // oldest first
  Bytes revocations;                 // the installed signed list
  uint64_t sequence = 0;
  std::set<protocol::SerialBytes> revoked_serials;
  std::set<PublicKey> revoked_keys;

  // Chain failures, by credential hash: deterministic in the bytes, so never stale.
  std::map<CacheKey, Error> refused;
  std::deque<CacheKey> refused_order;  // oldest first
  uint64_t chain_verifications = 0;

  void remember_refusal(const CacheKey& key, const Error& error) {
    if (!refused.emplace(key, error).second) return;
    refused_order.push_back(key);
    while (refused_order.size() > kRefusedEntries) {
      refused.erase(refused_order.front());
      refused_order.pop_front();
    }
  }

  void remember(const CacheKey& key, const Chain& chain) {
    if (!cache.emplace(key, chain).second) return;
    cache_order.push_back(key);
    while (cache_order.size() > kCacheEntries) {
      cache.erase(cache_order.front());
      cache_order.pop_front();
    }
  }
};

Membership::Membership(const PublicKey& admin, std::string mesh_id, const Clock& clock)
    : admin_(admin),
      mesh_id_(std::move(mesh_id)),
      clock_(clock),
      state_(std::make_unique<State>()) {}

Membership::~Membership() = default;

Result<Member> Membership::verify(ByteView credential, const PublicKey& signer) const {
  if (credential.empty()) {
    return make_error("no_credential", node_id_of(signer) + " presented no credential");
  }
  if (credential.size() > kMaxCredentialSize) {
    return make_error("malformed_credential", "credential of " + node_id_of(signer) + ": " +
                                                  std::to_string(credential.size()) +
                                                  " bytes exceeds " +
                                                  std::to_string(kMaxCredentialSize));
  }
  const CacheKey key = hash_of(credential);
  std::optional<Chain> chain;
  {
    std::lock_guard lock(state_->mutex);
    if (auto it = state_->cache.find(key); it != state_->cache.end()) {
      chain = it->second;
    } else if (auto r = state_->refused.find(key); r != state_->refused.end()) {
      return r->second;
    }
  }
  if (!chain) {
    auto verified = verify_chain(credential, admin_, mesh_id_);
    std::lock_guard lock(state_->mutex);
    ++state_->chain_verifications;
    if (!verified) {
      state_->remember_refusal(key, verified.error());
      return verified.error();
    }
    chain = std::move(*verified);
    state_->remember(key, *chain);
  }
  const Member& m = chain->member;
  const std::string who = describe(m);
  if (m.key != signer) {
    return make_error("credential_mismatch", who + ": presented by " + node_id_of(signer));
  }
  const int64_t now = clock_.now_ms();
  if (now > m.expires_ms) {
    return make_error("credential_expired", who + ": expired at " + std::to_string(m.expires_ms) +
                                                " ms (now " + std::to_string(now) + " ms)");
  }
  if (chain->has_ticket && chain->issued_ms > chain->ticket_expires_ms) {
    return make_error("credential_expired", who + ": issued at " +
                                                std::to_string(chain->issued_ms) +
                                                " ms, after its join ticket expired at " +
                                                std::to_string(chain->ticket_expires_ms) + " ms");
  }
  if (chain->issued_ms > now + kFutureSkewMs ||
      (chain->has_ticket && chain->ticket_issued_ms > now + kFutureSkewMs)) {
    return make_error("credential_not_yet_valid",
                      who + ": issued in the future (now " + std::to_string(now) + " ms)");
  }
  std::lock_guard lock(state_->mutex);
  const auto& serials = state_->revoked_serials;
  const auto& keys = state_->revoked_keys;
  if (serials.contains(chain->serial) || keys.contains(m.key)) {
    return make_error("credential_revoked",
                      who + ": revoked (list sequence " + std::to_string(state_->sequence) + ")");
  }
  if (chain->has_ticket &&
      (serials.contains(chain->ticket_serial) || keys.contains(chain->ticket_key))) {
    return make_error("credential_revoked", who + ": its join ticket is revoked (list sequence " +
                                                std::to_string(state_->sequence) + ")");
  }
  return m;
}

Result<bool> Membership::update_revocations(ByteView signed_list) {
  auto list = open_revocations(signed_list, admin_);
  if (!list) return list.error();
  if (list->mesh_id != mesh_id_) {
    return make_error("wrong_mesh", "revocation list " + std::to_string(list->sequence) +
                                        " is for mesh '" + list->mesh_id + "', not '" + mesh_id_ +
                                        "'");
  }
  std::lock_guard lock(state_->mutex);
  if (std::equal(signed_list.begin(), signed_list.end(), state_->revocations.begin(),
                 state_->revocations.end())) {
    return false;
  }
  if (list->sequence <= state_->sequence) {
    return make_error("stale_revocations", "revocation list " + std::to_string(list->sequence) +
                                               " is not newer than the installed list " +
                                               std::to_string(state_->sequence));
  }
  state_->revoked_serials.clear();
  for (const auto& s : list->serials) state_->revoked_serials.insert(serial_of(s));
  state_->revoked_keys = std::set<PublicKey>(list->subject_keys.begin(), list->subject_keys.end());
  state_->sequence = list->sequence;
  state_->revocations.assign(signed_list.begin(), signed_list.end());
  state_->cache.clear();
  state_->cache_order.clear();
  return true;
}

Bytes Membership::revocations() const {
  std::lock_guard lock(state_->mutex);
  return state_->revocations;
}

uint64_t Membership::revocation_sequence() const {
  std::lock_guard lock(state_->mutex);
  return state_->sequence;
}

uint64_t Membership::chain_verifications() const {
  std::lock_guard lock(state_->mutex);
  return state_->chain_verifications;
}

}  // namespace beemesh::crypto
