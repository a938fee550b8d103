// A test mesh for TLS transport tests: its admin, its membership view, and node certificates.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "app/rpc_tls.h"
#include "common/clock.h"
#include "crypto/identity.h"
#include "crypto/membership.h"
#include "crypto/tls_identity.h"
#include "net/tls.h"

namespace beemesh::net::testing {

using crypto::CertKind;
using crypto::Identity;

inline constexpr int64_t kHour = 3'600'000;

// A mesh: its admin, its membership view, and certificates for identities.
struct TestMesh {
  Identity admin = Identity::generate();
  const Clock& clock = system_clock();
  crypto::Membership membership{admin.public_key(), "tls-mesh", clock};

  Bytes credential(const Identity& who, CertKind kind = CertKind::kNode,
                   const Identity* issuer = nullptr, std::string mesh_id = "tls-mesh") {
    crypto::CertificateBody body{
        .kind = kind,
        .subject = who.public_key(),
        .name = "n1",
        .role = kind == CertKind::kUser ? crypto::Role::kDeployer : crypto::Role::kNone,
        .mesh_id = std::move(mesh_id),
        .issued_ms = clock.now_ms() - 1000,
        .expires_ms = clock.now_ms() + kHour};
    return crypto::make_credential(crypto::issue_certificate(issuer ? *issuer : admin, body));
  }

  // TLS options presenting `who` with `credential`, checking peers against this mesh.
  TlsOptions tls(const Identity& who, const Bytes& credential) {
    auto cert = crypto::make_tls_certificate(who, credential);
    EXPECT_TRUE(cert.ok());
    auto ctx = make_tls_context(cert->certificate.get(), cert->private_key.get());
    EXPECT_TRUE(ctx.ok());
    return TlsOptions{.context = *ctx,
                      .extension_oid = std::string(crypto::kTlsCredentialOid),
                      .verify = app::member_node_verifier(membership)};
  }
  TlsOptions member_tls(const Identity& who) { return tls(who, credential(who)); }
};

}  // namespace beemesh::net::testing
