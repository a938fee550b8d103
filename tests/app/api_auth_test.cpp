// The daemon's REST authenticator with a real Membership (admin identity, certificates,
// revocations) and real ApiAuth envelopes.
#include "app/api_auth.h"

#include <gtest/gtest.h>

#include "common/bytes.h"
#include "common/clock.h"
#include "crypto/envelope.h"
#include "crypto/membership.h"
#include "protocol/messages.h"

namespace beemesh::app {
namespace {

constexpr int64_t kDay = 86'400'000;
constexpr const char* kMesh = "test-mesh";

class ApiAuthTest : public ::testing::Test {
 protected:
  // An admin-signed credential of `kind` for `subject`.
  Bytes credential(const crypto::PublicKey& subject, crypto::Role role,
                   crypto::CertKind kind = crypto::CertKind::kUser,
                   std::vector<std::string> namespaces = {}) {
    crypto::CertificateBody body;
    body.kind = kind;
    body.subject = subject;
    body.name = "alice";
    body.role = kind == crypto::CertKind::kUser ? role : crypto::Role::kNone;
    body.namespaces = std::move(namespaces);
    body.mesh_id = kMesh;
    body.issued_ms = clock.now_ms();
    body.expires_ms = clock.now_ms() + kDay;
    return crypto::make_credential(crypto::issue_certificate(admin, std::move(body)));
  }

  // Hex of an ApiAuth envelope signed by `signer` for `method path` at `audience`.
  std::string token(const crypto::Identity& signer, std::string method, std::string path,
                    const crypto::PublicKey& audience) {
    protocol::ApiAuth auth;
    auth.method = std::move(method);
    auth.path = std::move(path);
    auth.audience_public_key = audience;
    return to_hex(crypto::sign_message(signer, auth, clock));
  }

  api::AuthRequest request(const Bytes& cred, const std::string& auth_hex,
                           std::string method = "GET", std::string path = "/workloads") {
    return api::AuthRequest{std::move(method), std::move(path), to_hex(cred), auth_hex};
  }

  // A well-formed request by `user` holding `role`.
  api::AuthRequest good_request(crypto::Role role, std::string method = "GET",
                                std::string path = "/workloads") {
    return request(credential(user.public_key(), role),
                   token(user, method, path, node.public_key()), method, path);
  }

  ManualClock clock;
  crypto::Identity admin = crypto::Identity::generate();
  crypto::Identity node = crypto::Identity::generate();
  crypto::Identity user = crypto::Identity::generate();
  crypto::Membership membership{admin.public_key(), kMesh, clock};
  ApiAuthenticator auth{membership, node.public_key(), clock};
};

TEST_F(ApiAuthTest, AUserWithAValidCredentialAndTokenIsTheCaller) {
  auto caller = auth.authenticate(good_request(crypto::Role::kDeployer));
  ASSERT_TRUE(caller.ok()) << caller.error().to_string();
  EXPECT_EQ(caller->role, crypto::Role::kDeployer);
  EXPECT_EQ(caller->name, "alice");
  EXPECT_EQ(caller->user_key_hex, to_hex(user.public_key()));
  EXPECT_TRUE(caller->namespaces.empty());
}

TEST_F(ApiAuthTest, TheCallerCarriesTheCredentialsNamespaces) {
  auto cred = credential(user.public_key(), crypto::Role::kViewer, crypto::CertKind::kUser,
                         {"team-a", "team-b"});
  auto caller =
      auth.authenticate(request(cred, token(user, "GET", "/workloads", node.public_key())));
  ASSERT_TRUE(caller.ok()) << caller.error().to_string();
  EXPECT_EQ(caller->namespaces, (std::vector<std::string>{"team-a", "team-b"}));
}

TEST_F(ApiAuthTest, MissingCredentialIsNoCredential) {
  auto r = good_request(crypto::Role::kViewer);
  r.credential_hex.clear();
  auto caller = auth.authenticate(r);
  ASSERT_FALSE(caller.ok());
  EXPECT_EQ(caller.error().code, "no_credential");
}

TEST_F(ApiAuthTest, OversizedCredentialIsMalformedBeforeDecoding) {
  auto r = good_request(crypto::Role::kViewer);
  r.credential_hex = std::string(2 * crypto::kMaxCredentialSize + 2, 'a');
  auto caller = auth.authenticate(r);
  ASSERT_FALSE(caller.ok());
  EXPECT_EQ(caller.error().code, "malformed_credential");
}

TEST_F(ApiAuthTest, AuthThatIsNotAnEnvelopeIsMalformed) {
  auto r = good_request(crypto::Role::kViewer);
  r.auth_hex = "00ff00ff";
  auto caller = auth.authenticate(r);
  ASSERT_FALSE(caller.ok());
  EXPECT_EQ(caller.error().code, "malformed");
}

TEST_F(ApiAuthTest, ACredentialSignedByAnotherAdminIsNotAMember) {
  auto stranger_admin = crypto::Identity::generate();
  crypto::CertificateBody body;
  body.kind = crypto::CertKind::kUser;
  body.subject = user.public_key();
  body.name = "mallory";
  body.role = crypto::Role::kAdmin;
  body.mesh_id = kMesh;
  body.issued_ms = clock.now_ms();
  body.expires_ms = clock.now_ms() + kDay;
  Bytes forged = crypto::make_credential(crypto::issue_certificate(stranger_admin, body));
  auto caller =
      auth.authenticate(request(forged, token(user, "GET", "/workloads", node.public_key())));
  ASSERT_FALSE(caller.ok());
  EXPECT_EQ(caller.error().code, "not_a_member");
}

TEST_F(ApiAuthTest, SomeoneElsesCredentialDoesNotAuthenticateAnotherKey) {
  auto thief = crypto::Identity::generate();
  auto victims = credential(user.public_key(), crypto::Role::kAdmin);
  auto caller =
      auth.authenticate(request(victims, token(thief, "GET", "/workloads", node.public_key())));
  ASSERT_FALSE(caller.ok());
  EXPECT_EQ(caller.error().code, "credential_mismatch");
}

TEST_F(ApiAuthTest, ANodeCredentialCannotUseTheApi) {
  auto cred = credential(user.public_key(), crypto::Role::kNone, crypto::CertKind::kNode);
  auto caller =
      auth.authenticate(request(cred, token(user, "GET", "/workloads", node.public_key())));
  ASSERT_FALSE(caller.ok());
  EXPECT_EQ(caller.error().code, "not_a_user");
}

TEST_F(ApiAuthTest, AnExpiredCredentialIsRefused) {
  auto cred = credential(user.public_key(), crypto::Role::kDeployer);
  clock.advance_ms(kDay + 1);
  auto caller =
      auth.authenticate(request(cred, token(user, "GET", "/workloads", node.public_key())));
  ASSERT_FALSE(caller.ok());
  EXPECT_EQ(caller.error().code, "credential_expired");
}

TEST_F(ApiAuthTest, ARevokedUserIsRefused) {
  crypto::RevocationList list;
  list.mesh_id = kMesh;
  list.sequence = 1;
  list.issued_ms = clock.now_ms();
  list.subject_keys = {user.public_key()};
  ASSERT_TRUE(membership.update_revocations(crypto::sign_revocations(admin, list)).ok());
  auto caller = auth.authenticate(good_request(crypto::Role::kAdmin));
  ASSERT_FALSE(caller.ok());
  EXPECT_EQ(caller.error().code, "credential_revoked");
}

TEST_F(ApiAuthTest, ATokenIsGoodForOneRequestOnly) {
  auto r = good_request(crypto::Role::kViewer);
  ASSERT_TRUE(auth.authenticate(r).ok());
  auto again = auth.authenticate(r);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, "replay");
}

TEST_F(ApiAuthTest, AnOldTokenIsOutsideTheWindow) {
  auto r = good_request(crypto::Role::kViewer);
  clock.advance_ms(31'000);
  auto caller = auth.authenticate(r);
  ASSERT_FALSE(caller.ok());
  EXPECT_EQ(caller.error().code, "timestamp_out_of_window");
}

TEST_F(ApiAuthTest, ATokenSignedBeforeTheDaemonStartedIsRefused) {
  auto r = good_request(crypto::Role::kViewer);
  clock.advance_ms(1'000);
  ApiAuthenticator restarted(membership, node.public_key(), clock,
                             ApiAuthenticator::Options{.not_before_ms = clock.now_ms()});
  auto caller = restarted.authenticate(r);
  ASSERT_FALSE(caller.ok());
  EXPECT_EQ(caller.error().code, "replay_window_closed");
}

TEST_F(ApiAuthTest, ATokenForAnotherPathIsRefused) {
  auto r = request(credential(user.public_key(), crypto::Role::kAdmin),
                   token(user, "GET", "/workloads", node.public_key()), "DELETE", "/manifests/m1");
  auto caller = auth.authenticate(r);
  ASSERT_FALSE(caller.ok());
  EXPECT_EQ(caller.error().code, "auth_mismatch");
}

TEST_F(ApiAuthTest, ATokenForAnotherMethodIsRefused) {
  auto r = request(credential(user.public_key(), crypto::Role::kAdmin),
                   token(user, "GET", "/apply", node.public_key()), "POST", "/apply");
  auto caller = auth.authenticate(r);
  ASSERT_FALSE(caller.ok());
  EXPECT_EQ(caller.error().code, "auth_mismatch");
}

TEST_F(ApiAuthTest, ATokenForAnotherNodeIsRefused) {
  auto other_node = crypto::Identity::generate();
  auto r = request(credential(user.public_key(), crypto::Role::kAdmin),
                   token(user, "GET", "/workloads", other_node.public_key()));
  auto caller = auth.authenticate(r);
  ASSERT_FALSE(caller.ok());
  EXPECT_EQ(caller.error().code, "auth_mismatch");
}

TEST_F(ApiAuthTest, AnotherMessageTypeIsNotAnApiAuth) {
  protocol::QueryRequest query;
  query.request_id = "q1";
  query.kind = "logs";
  auto r = request(credential(user.public_key(), crypto::Role::kAdmin),
                   to_hex(crypto::sign_message(user, query, clock)));
  auto caller = auth.authenticate(r);
  ASSERT_FALSE(caller.ok());
  EXPECT_EQ(caller.error().code, "unexpected_payload_type");
}

TEST_F(ApiAuthTest, ANonMembersTokensNeverEnterTheReplayCache) {
  auto stranger = crypto::Identity::generate();
  auto forged = credential(user.public_key(), crypto::Role::kAdmin);  // not the stranger's
  for (int i = 0; i < 50; ++i) {
    auto r = request(forged, token(stranger, "GET", "/workloads", node.public_key()));
    ASSERT_FALSE(auth.authenticate(r).ok());
  }
  // A member still gets in: the strangers took no cache room (quota is per signer anyway).
  EXPECT_TRUE(auth.authenticate(good_request(crypto::Role::kViewer)).ok());
}

}  // namespace
}  // namespace beemesh::app
