// Mesh membership: admin-signed certificates, join tickets, the revocation list, and what
// Membership::verify accepts and refuses (one code per refusal).
#include "crypto/membership.h"

#include <gtest/gtest.h>

#include <thread>

#include "crypto/grants.h"
#include "crypto/records.h"

namespace beemesh::crypto {
namespace {

constexpr int64_t kHour = 3'600'000;

class MembershipTest : public ::testing::Test {
 protected:
  ManualClock clock;
  Identity admin = Identity::generate();
  Identity alice = Identity::generate();
  Identity node = Identity::generate();
  Identity ticket_key = Identity::generate();
  Identity stranger = Identity::generate();
  Membership membership{admin.public_key(), "prod", clock};

  CertificateBody body(CertKind kind, const Identity& subject, std::string name = "n1") {
    return CertificateBody{.kind = kind,
                           .subject = subject.public_key(),
                           .name = std::move(name),
                           .mesh_id = "prod",
                           .issued_ms = clock.now_ms(),
                           .expires_ms = clock.now_ms() + kHour};
  }
  CertificateBody user_body(Role role = Role::kDeployer, std::vector<std::string> ns = {}) {
    CertificateBody b = body(CertKind::kUser, alice, "alice");
    b.role = role;
    b.namespaces = std::move(ns);
    return b;
  }
  Bytes user_credential(Role role = Role::kDeployer, std::vector<std::string> ns = {}) {
    return make_credential(issue_certificate(admin, user_body(role, std::move(ns))));
  }
  Bytes ticket(int64_t ttl_ms = kHour) {
    CertificateBody b = body(CertKind::kJoinTicket, ticket_key, "join-ticket");
    b.expires_ms = clock.now_ms() + ttl_ms;
    return issue_certificate(admin, b);
  }
  // What `beemesh machine --join` does: the new node signs its own certificate with the
  // ticket key.
  Bytes joined_node_credential(const Bytes& ticket_cert) {
    return make_credential(issue_certificate(ticket_key, body(CertKind::kNode, node)), ticket_cert);
  }
  std::string verify(ByteView credential, const Identity& signer) {
    auto r = membership.verify(credential, signer.public_key());
    return r.ok() ? "ok" : r.error().code;
  }
  Bytes serial_of(ByteView certificate) { return open_certificate(certificate)->body.serial; }
  Bytes revocations(uint64_t sequence, std::vector<Bytes> serials = {},
                    std::vector<PublicKey> keys = {}, const std::string& mesh = "prod") {
    return sign_revocations(
        admin, RevocationList{mesh, sequence, clock.now_ms(), std::move(serials), std::move(keys)});
  }
  std::string update(ByteView list) {
    auto r = membership.update_revocations(list);
    if (!r.ok()) return r.error().code;
    return *r ? "installed" : "unchanged";
  }
};

// ---- accepted credentials ----

TEST_F(MembershipTest, AdminSignedUserCredentialMakesAMember) {
  auto m = membership.verify(user_credential(Role::kDeployer, {"team-a"}), alice.public_key());
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  EXPECT_EQ(m->kind, CertKind::kUser);
  EXPECT_EQ(m->role, Role::kDeployer);
  EXPECT_EQ(m->key, alice.public_key());
  EXPECT_EQ(m->name, "alice");
  EXPECT_EQ(m->namespaces, std::vector<std::string>{"team-a"});
  EXPECT_EQ(m->serial.size(), kSerialSize);
  EXPECT_EQ(m->expires_ms, clock.now_ms() + kHour);
}

TEST_F(MembershipTest, AdminSignedNodeCredentialMakesANodeMember) {
  Bytes cred = make_credential(issue_certificate(admin, body(CertKind::kNode, node)));
  auto m = membership.verify(cred, node.public_key());
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  EXPECT_EQ(m->kind, CertKind::kNode);
  EXPECT_EQ(m->role, Role::kNone);
}

TEST_F(MembershipTest, NodeCertificateSignedWithAJoinTicketIsAccepted) {
  auto m = membership.verify(joined_node_credential(ticket()), node.public_key());
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  EXPECT_EQ(m->kind, CertKind::kNode);
  EXPECT_EQ(m->key, node.public_key());
}

TEST_F(MembershipTest, NodeCertificateOutlivesItsTicket) {
  Bytes cred = joined_node_credential(ticket(60'000));
  clock.advance_ms(120'000);
  EXPECT_EQ(verify(cred, node), "ok");
}

// ---- one test per refusal code ----

TEST_F(MembershipTest, EmptyCredentialIsNoCredential) {
  EXPECT_EQ(verify(Bytes{}, alice), "no_credential");
}

TEST_F(MembershipTest, CredentialOverTheSizeLimitIsMalformed) {
  EXPECT_EQ(verify(Bytes(kMaxCredentialSize + 1, 0), alice), "malformed_credential");
}

TEST_F(MembershipTest, GarbageCredentialIsMalformed) {
  EXPECT_EQ(verify(Bytes(100, 0xff), alice), "malformed_credential");
}

TEST_F(MembershipTest, CredentialHoldingAnotherRecordTypeIsMalformed) {
  Bytes grant = issue_grant(admin, GrantAction::kApply, "m", alice.public_key(), 0, 1);
  EXPECT_EQ(verify(make_credential(grant), alice), "malformed_credential");
}

TEST_F(MembershipTest, CertificateSignedByAnotherKeyIsNotAMember) {
  Bytes cred = make_credential(issue_certificate(stranger, user_body()));
  EXPECT_EQ(verify(cred, alice), "not_a_member");
}

TEST_F(MembershipTest, CredentialRefusedOnceIsRefusedAgainWithoutVerifyingItsChainAgain) {
  // A stranger resending the same envelope must cost a hash, not a signature verification.
  Bytes cred = make_credential(issue_certificate(stranger, user_body()));
  EXPECT_EQ(verify(cred, alice), "not_a_member");
  EXPECT_EQ(verify(cred, alice), "not_a_member");
  EXPECT_EQ(membership.chain_verifications(), 1u);
}

TEST_F(MembershipTest, RememberedRefusalsAreBounded) {
  Bytes first = make_credential(issue_certificate(stranger, user_body()));
  EXPECT_EQ(verify(first, alice), "not_a_member");
  for (size_t i = 0; i < Membership::kRefusedEntries; ++i) {
    auto body = user_body();
    body.name = "stranger-" + std::to_string(i);
    (void)verify(make_credential(issue_certificate(stranger, body)), alice);
  }
  const uint64_t before = membership.chain_verifications();
  EXPECT_EQ(verify(first, alice), "not_a_member");  // forgotten: verified again
  EXPECT_EQ(membership.chain_verifications(), before + 1);
}

TEST_F(MembershipTest, TamperedCertificateIsNotAMember) {
  auto record = protocol::decode_signed_record(issue_certificate(admin, user_body())).value();
  record.body[record.body.size() / 2] ^= 1;
  EXPECT_EQ(verify(make_credential(protocol::encode_signed_record(record)), alice), "not_a_member");
}

TEST_F(MembershipTest, JoinTicketPresentedAsACredentialIsNotAMember) {
  EXPECT_EQ(verify(make_credential(ticket()), ticket_key), "not_a_member");
}

TEST_F(MembershipTest, JoinTicketCannotSignUserCertificates) {
  CertificateBody b = user_body(Role::kAdmin);
  Bytes cred = make_credential(issue_certificate(ticket_key, b), ticket());
  EXPECT_EQ(verify(cred, alice), "not_a_member");
}

TEST_F(MembershipTest, NodeCertificateCarryingARoleIsNotAMember) {
  // A ticket holder must not be able to mint a node that passes for an admin.
  CertificateBody b = body(CertKind::kNode, node);
  b.role = Role::kAdmin;
  EXPECT_EQ(verify(make_credential(issue_certificate(ticket_key, b), ticket()), node),
            "not_a_member");
}

TEST_F(MembershipTest, TicketNotSignedByTheAdminIsNotAMember) {
  Bytes forged_ticket = issue_certificate(stranger, body(CertKind::kJoinTicket, ticket_key));
  EXPECT_EQ(verify(joined_node_credential(forged_ticket), node), "not_a_member");
}

TEST_F(MembershipTest, UserCertificateCannotActAsATicket) {
  Bytes user_cert = issue_certificate(admin, body(CertKind::kUser, ticket_key));
  EXPECT_EQ(verify(joined_node_credential(user_cert), node), "not_a_member");
}

TEST_F(MembershipTest, NodeCertificateNotSignedByItsTicketKeyIsNotAMember) {
  Bytes cred = make_credential(issue_certificate(stranger, body(CertKind::kNode, node)), ticket());
  EXPECT_EQ(verify(cred, node), "not_a_member");
}

TEST_F(MembershipTest, CertificateForAnotherMeshIsWrongMesh) {
  CertificateBody b = user_body();
  b.mesh_id = "staging";
  EXPECT_EQ(verify(make_credential(issue_certificate(admin, b)), alice), "wrong_mesh");
}

TEST_F(MembershipTest, TicketForAnotherMeshIsWrongMesh) {
  CertificateBody t = body(CertKind::kJoinTicket, ticket_key);
  t.mesh_id = "staging";
  EXPECT_EQ(verify(joined_node_credential(issue_certificate(admin, t)), node), "wrong_mesh");
}

TEST_F(MembershipTest, CredentialOfAnotherKeyIsCredentialMismatch) {
  EXPECT_EQ(verify(user_credential(), stranger), "credential_mismatch");
}

TEST_F(MembershipTest, ExpiredCertificateIsCredentialExpired) {
  Bytes cred = user_credential();
  clock.advance_ms(kHour + 1);
  EXPECT_EQ(verify(cred, alice), "credential_expired");
}

TEST_F(MembershipTest, ExpiryIsRecheckedWhenTheVerificationIsCached) {
  Bytes cred = user_credential();
  EXPECT_EQ(verify(cred, alice), "ok");
  clock.advance_ms(kHour);
  EXPECT_EQ(verify(cred, alice), "ok");
  clock.advance_ms(1);
  EXPECT_EQ(verify(cred, alice), "credential_expired");
}

TEST_F(MembershipTest, CertificateIssuedAfterItsTicketExpiredIsCredentialExpired) {
  Bytes t = ticket(60'000);
  clock.advance_ms(60'001);
  EXPECT_EQ(verify(joined_node_credential(t), node), "credential_expired");
}

TEST_F(MembershipTest, CertificateIssuedMoreThan30SecondsAheadIsNotYetValid) {
  CertificateBody b = user_body();
  b.issued_ms = clock.now_ms() + 30'001;
  EXPECT_EQ(verify(make_credential(issue_certificate(admin, b)), alice),
            "credential_not_yet_valid");
}

TEST_F(MembershipTest, CertificateIssuedWithin30SecondsAheadIsAccepted) {
  CertificateBody b = user_body();
  b.issued_ms = clock.now_ms() + 30'000;
  EXPECT_EQ(verify(make_credential(issue_certificate(admin, b)), alice), "ok");
}

TEST_F(MembershipTest, RevokedSerialIsCredentialRevoked) {
  Bytes cert = issue_certificate(admin, user_body());
  ASSERT_EQ(update(revocations(1, {serial_of(cert)})), "installed");
  EXPECT_EQ(verify(make_credential(cert), alice), "credential_revoked");
}

TEST_F(MembershipTest, RevokedKeyIsCredentialRevokedWhateverItsCertificate) {
  ASSERT_EQ(update(revocations(1, {}, {alice.public_key()})), "installed");
  EXPECT_EQ(verify(user_credential(Role::kViewer), alice), "credential_revoked");
  EXPECT_EQ(verify(user_credential(Role::kAdmin), alice), "credential_revoked");
}

TEST_F(MembershipTest, RevokedTicketRevokesEveryNodeItAdmitted) {
  Bytes t = ticket();
  Bytes cred = joined_node_credential(t);
  ASSERT_EQ(verify(cred, node), "ok");
  ASSERT_EQ(update(revocations(1, {serial_of(t)})), "installed");
  EXPECT_EQ(verify(cred, node), "credential_revoked");
}

TEST_F(MembershipTest, RevocationUpdateClearsTheCachedVerification) {
  Bytes cert = issue_certificate(admin, user_body());
  Bytes cred = make_credential(cert);
  ASSERT_EQ(verify(cred, alice), "ok");
  ASSERT_EQ(update(revocations(1, {serial_of(cert)})), "installed");
  EXPECT_EQ(verify(cred, alice), "credential_revoked");
}

// ---- revocation list updates ----

TEST_F(MembershipTest, NewerRevocationListReplacesTheInstalledOne) {
  ASSERT_EQ(update(revocations(1, {}, {alice.public_key()})), "installed");
  EXPECT_EQ(update(revocations(2)), "installed");
  EXPECT_EQ(membership.revocation_sequence(), 2u);
  EXPECT_EQ(verify(user_credential(), alice), "ok");
}

TEST_F(MembershipTest, OlderRevocationListIsStale) {
  ASSERT_EQ(update(revocations(2)), "installed");
  EXPECT_EQ(update(revocations(1, {}, {alice.public_key()})), "stale_revocations");
  EXPECT_EQ(membership.revocation_sequence(), 2u);
  EXPECT_EQ(verify(user_credential(), alice), "ok");
}

TEST_F(MembershipTest, DifferentListWithTheSameSequenceIsStale) {
  ASSERT_EQ(update(revocations(1)), "installed");
  EXPECT_EQ(update(revocations(1, {}, {alice.public_key()})), "stale_revocations");
}

TEST_F(MembershipTest, TheInstalledListSeenAgainIsUnchangedNotAnError) {
  Bytes list = revocations(1);
  ASSERT_EQ(update(list), "installed");
  EXPECT_EQ(update(list), "unchanged");
}

TEST_F(MembershipTest, RevocationListSignedByAnotherKeyIsBadSignature) {
  Bytes list = sign_revocations(stranger, RevocationList{"prod", 5, 0, {}, {}});
  EXPECT_EQ(update(list), "bad_signature");
  EXPECT_EQ(membership.revocation_sequence(), 0u);
}

TEST_F(MembershipTest, TamperedRevocationListIsBadSignature) {
  auto record = protocol::decode_signed_record(revocations(1)).value();
  record.body[record.body.size() / 2] ^= 1;
  EXPECT_EQ(update(protocol::encode_signed_record(record)), "bad_signature");
}

TEST_F(MembershipTest, RevocationListForAnotherMeshIsWrongMesh) {
  EXPECT_EQ(update(revocations(1, {}, {}, "staging")), "wrong_mesh");
}

TEST_F(MembershipTest, GarbageRevocationListIsMalformed) {
  EXPECT_EQ(update(Bytes(64, 0xff)), "malformed");
}

TEST_F(MembershipTest, CertificateRecordIsNotARevocationList) {
  EXPECT_EQ(update(issue_certificate(admin, user_body())), "malformed");
}

TEST_F(MembershipTest, RevocationListWithTooManyEntriesIsMalformed) {
  std::vector<PublicKey> keys(kMaxRevocations + 1, PublicKey{});
  EXPECT_EQ(update(revocations(1, {}, keys)), "malformed");
}

TEST_F(MembershipTest, RevocationsReturnsTheInstalledSignedList) {
  EXPECT_TRUE(membership.revocations().empty());
  Bytes list = revocations(1, {Bytes(kSerialSize, 7)}, {alice.public_key()});
  ASSERT_EQ(update(list), "installed");
  EXPECT_EQ(membership.revocations(), list);
  auto opened = open_revocations(membership.revocations(), admin.public_key());
  ASSERT_TRUE(opened.ok()) << opened.error().to_string();
  EXPECT_EQ(opened->serials, std::vector<Bytes>{Bytes(kSerialSize, 7)});
  EXPECT_EQ(opened->subject_keys, std::vector<PublicKey>{alice.public_key()});
}

TEST_F(MembershipTest, VerifyAndUpdateMayRunOnManyThreads) {
  Bytes cred = user_credential();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) EXPECT_EQ(verify(cred, alice), "ok");
    });
  }
  for (uint64_t seq = 1; seq <= 20; ++seq) EXPECT_EQ(update(revocations(seq)), "installed");
  for (auto& t : threads) t.join();
}

// ---- certificates, roles, namespaces ----

TEST_F(MembershipTest, OpenCertificateReturnsTheBodyAndItsIssuer) {
  CertificateBody b = user_body(Role::kViewer, {"a", "b"});
  b.serial = Bytes(kSerialSize, 0x42);
  auto opened = open_certificate(issue_certificate(admin, b));
  ASSERT_TRUE(opened.ok()) << opened.error().to_string();
  EXPECT_EQ(opened->issuer, admin.public_key());
  EXPECT_EQ(opened->body.serial, b.serial);
  EXPECT_EQ(opened->body.subject, alice.public_key());
  EXPECT_EQ(opened->body.role, Role::kViewer);
  EXPECT_EQ(opened->body.namespaces, b.namespaces);
  EXPECT_EQ(opened->body.expires_ms, b.expires_ms);
}

TEST_F(MembershipTest, EachCertificateGetsItsOwnRandomSerial) {
  EXPECT_NE(serial_of(issue_certificate(admin, user_body())),
            serial_of(issue_certificate(admin, user_body())));
}

TEST(Roles, AreOrderedFromNoneToAdmin) {
  EXPECT_LT(Role::kNone, Role::kViewer);
  EXPECT_LT(Role::kViewer, Role::kDeployer);
  EXPECT_LT(Role::kDeployer, Role::kAdmin);
}

TEST(Roles, NamesParseBackExceptNone) {
  for (Role r : {Role::kViewer, Role::kDeployer, Role::kAdmin}) {
    EXPECT_EQ(parse_role(role_name(r)), r);
  }
  EXPECT_EQ(role_name(Role::kNone), "none");
  EXPECT_EQ(parse_role("none"), std::nullopt);
  EXPECT_EQ(parse_role("root"), std::nullopt);
  EXPECT_EQ(cert_kind_name(CertKind::kJoinTicket), "join_ticket");
}

TEST(MemberNamespaces, MemberWithoutNamespacesMayUseEveryNamespace) {
  Member m;
  m.kind = CertKind::kUser;
  EXPECT_TRUE(m.may_use_namespace("default"));
  EXPECT_TRUE(m.may_use_namespace("anything"));
}

TEST(MemberNamespaces, MemberWithNamespacesMayUseOnlyThose) {
  Member m;
  m.kind = CertKind::kUser;
  m.namespaces = {"team-a", "team-b"};
  EXPECT_TRUE(m.may_use_namespace("team-b"));
  EXPECT_FALSE(m.may_use_namespace("default"));
  EXPECT_FALSE(m.may_use_namespace("team"));
}

}  // namespace
}  // namespace beemesh::crypto
