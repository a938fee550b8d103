#include "app/rpc_tls.h"

#include <string>

#include "crypto/tls_identity.h"

namespace beemesh::app {

net::PeerVerifier member_node_verifier(const crypto::Membership& membership) {
  return [&membership](const net::PeerCertificate& peer,
                       std::string_view expected) -> Result<void> {
    const crypto::PublicKey& key = peer.public_key;
    std::string node_id = crypto::node_id_of(key);
    if (!expected.empty() && node_id != expected) {
      return make_error("peer_mismatch",
                        "the peer is node " + node_id + ", expected " + std::string(expected));
    }
    auto member = membership.verify(peer.extension, key);
    if (!member.ok()) {
      return make_error(member.error().code, "TLS peer " + node_id + ": " + member.error().message);
    }
    if (member->kind != crypto::CertKind::kNode) {
      return make_error("not_a_node", "TLS peer " + node_id + " holds a " +
                                          std::string(crypto::cert_kind_name(member->kind)) +
                                          " certificate, not a node certificate");
    }
    return ok_result();
  };
}

Result<net::TlsOptions> make_rpc_tls(const crypto::Identity& identity,
                                     const crypto::Membership& membership) {
  if (identity.credential().empty()) {
    return make_error("no_credential", "node " + identity.node_id() +
                                           " has no membership credential for its TLS certificate");
  }
  auto certificate = crypto::make_tls_certificate(identity, identity.credential());
  if (!certificate.ok()) return certificate.error();
  auto context =
      net::make_tls_context(certificate->certificate.get(), certificate->private_key.get());
  if (!context.ok()) return context.error();
  // The context holds its own references to the certificate and the key.
  return net::TlsOptions{.context = std::move(context).value(),
                         .extension_oid = std::string(crypto::kTlsCredentialOid),
                         .verify = member_node_verifier(membership)};
}

}  // namespace beemesh::app
