// TLS 1.3 on the transport, with the membership check a node uses (app/rpc_tls.h): who gets
// a connection, who is refused at the handshake, and that nothing of a refused peer reaches
// a handler.
#include <gtest/gtest.h>

#include <openssl/ssl.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/ssl/context.hpp>
#include <asio/ssl/stream.hpp>
#include <asio/write.hpp>

#include "app/rpc_tls.h"
#include "common/clock.h"
#include "crypto/identity.h"
#include "crypto/membership.h"
#include "crypto/tls_identity.h"
#include "net/client.h"
#include "net/endpoint.h"
#include "net/event_loop.h"
#include "net/server.h"
#include "net/tls.h"
#include "net_test_support.h"
#include "raw_peer.h"
#include "tls_test_mesh.h"

namespace beemesh::net {
namespace {

using namespace std::chrono_literals;
using crypto::CertKind;
using crypto::Identity;
using testing::eventually;
using testing::TestMesh;

class TlsTransport : public ::testing::Test {
 protected:
  void SetUp() override { start_server({}); }

  void start_server(ServerOptions options) {
    server_.reset();
    if (!options.tls) options.tls = mesh_.member_tls(server_id_);
    server_ = std::make_unique<Server>(loop_, std::move(options));
    ASSERT_TRUE(server_
                    ->handle("echo",
                             [this](const PeerInfo&, Bytes b) -> asio::awaitable<Result<Bytes>> {
                               handled_.fetch_add(1);
                               co_return b;
                             })
                    .ok());
    ASSERT_TRUE(server_->listen().ok());
  }

  Result<Bytes> call(const TlsOptions& tls, const std::string& endpoint) {
    Client client(loop_, {.connect_timeout = 3s, .tls = tls});
    return client.request_sync(endpoint, "echo", as_bytes_copy("hello"), 5s);
  }

  static Bytes as_bytes_copy(std::string_view s) { return Bytes(s.begin(), s.end()); }

  std::string endpoint() const { return server_->endpoint(); }
  std::string pinned(const Identity& id) const {
    return pinned_endpoint(id.node_id(), server_->endpoint());
  }

  TestMesh mesh_;
  Identity server_id_ = Identity::generate();
  Identity client_id_ = Identity::generate();
  EventLoop loop_{1};
  std::atomic<int> handled_{0};
  std::unique_ptr<Server> server_;
};

TEST_F(TlsTransport, MembersExchangeRequestsOverTls) {
  auto reply = call(mesh_.member_tls(client_id_), endpoint());
  ASSERT_TRUE(reply.ok()) << reply.error().to_string();
  EXPECT_EQ(*reply, as_bytes_copy("hello"));
  EXPECT_EQ(handled_.load(), 1);
}

TEST_F(TlsTransport, PinnedEndpointOfTheNodeThatAnswersIsAccepted) {
  auto reply = call(mesh_.member_tls(client_id_), pinned(server_id_));
  ASSERT_TRUE(reply.ok()) << reply.error().to_string();
}

TEST_F(TlsTransport, PinnedEndpointOfAnotherNodeIsRefusedAsPeerMismatchBeforeSending) {
  Identity other = Identity::generate();
  auto reply = call(mesh_.member_tls(client_id_), pinned(other));
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.error().code, "peer_mismatch");
  EXPECT_EQ(handled_.load(), 0);
}

TEST_F(TlsTransport, ServerThatIsNotAMemberIsRefusedByTheClient) {
  Identity stranger_admin = Identity::generate();
  server_.reset();
  ServerOptions options;
  options.tls =
      mesh_.tls(server_id_, mesh_.credential(server_id_, CertKind::kNode, &stranger_admin));
  server_ = std::make_unique<Server>(loop_, std::move(options));
  ASSERT_TRUE(server_->listen().ok());
  auto reply = call(mesh_.member_tls(client_id_), endpoint());
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.error().code, "not_a_member");
}

TEST_F(TlsTransport, ClientWithSelfIssuedCertificateIsRefusedWithoutReachingAHandler) {
  Identity stranger_admin = Identity::generate();
  auto tls = mesh_.tls(client_id_, mesh_.credential(client_id_, CertKind::kNode, &stranger_admin));
  auto reply = call(tls, endpoint());
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(handled_.load(), 0);
  EXPECT_TRUE(eventually([&] { return server_->stats().open == 0; }));
}

TEST_F(TlsTransport, ClientWithoutCredentialIsRefusedWithoutReachingAHandler) {
  auto reply = call(mesh_.tls(client_id_, {}), endpoint());
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(handled_.load(), 0);
}

TEST_F(TlsTransport, ClientPresentingAnotherNodesCredentialIsRefused) {
  Identity member = Identity::generate();
  auto reply = call(mesh_.tls(client_id_, mesh_.credential(member)), endpoint());
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(handled_.load(), 0);
}

TEST_F(TlsTransport, UserCertificateIsRefusedAsNotANode) {
  auto server_side = mesh_.member_tls(server_id_);
  PeerCertificate peer{.public_key = client_id_.public_key(),
                       .extension = mesh_.credential(client_id_, CertKind::kUser)};
  auto verdict = server_side.verify(peer, "");
  ASSERT_FALSE(verdict.ok());
  EXPECT_EQ(verdict.error().code, "not_a_node");
}

TEST_F(TlsTransport, RevokedNodeIsRefused) {
  crypto::RevocationList list{.mesh_id = "tls-mesh",
                              .sequence = 1,
                              .issued_ms = mesh_.clock.now_ms(),
                              .subject_keys = {client_id_.public_key()}};
  ASSERT_TRUE(
      mesh_.membership.update_revocations(crypto::sign_revocations(mesh_.admin, list)).ok());
  auto reply = call(mesh_.member_tls(client_id_), endpoint());
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(handled_.load(), 0);
}

TEST_F(TlsTransport, PlaintextClientIsRefusedWithoutReachingAHandler) {
  Client plain(loop_, {.connect_timeout = 3s});
  auto reply = plain.request_sync(endpoint(), "echo", as_bytes_copy("hello"), 5s);
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(handled_.load(), 0);
}

TEST_F(TlsTransport, PlaintextFrameIsAnsweredByClosingTheConnection) {
  testing::RawPeer raw(server_->port());
  (void)raw.send(encode_frame(1, FrameKind::request, "echo", as_bytes_copy("hello")));
  EXPECT_TRUE(raw.closed_by_server());
  EXPECT_EQ(handled_.load(), 0);
}

TEST_F(TlsTransport, TlsClientToAPlaintextServerFailsTheHandshake) {
  Server plain(loop_, {});
  ASSERT_TRUE(plain.listen().ok());
  auto reply = call(mesh_.member_tls(client_id_), plain.endpoint());
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.error().code, "handshake_failed");
}

TEST_F(TlsTransport, Tls12ClientIsRefused) {
  auto cert = crypto::make_tls_certificate(client_id_, mesh_.credential(client_id_));
  ASSERT_TRUE(cert.ok());
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  SSL_CTX_set_max_proto_version(ctx.native_handle(), TLS1_2_VERSION);
  SSL_CTX_use_certificate(ctx.native_handle(), cert->certificate.get());
  SSL_CTX_use_PrivateKey(ctx.native_handle(), cert->private_key.get());
  ctx.set_verify_mode(asio::ssl::verify_none);
  asio::io_context io;
  asio::ssl::stream<asio::ip::tcp::socket> stream(io, ctx);
  stream.lowest_layer().connect(
      asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), server_->port()));
  std::error_code ec;
  stream.handshake(asio::ssl::stream_base::client, ec);
  EXPECT_TRUE(ec) << "a TLS 1.2 handshake succeeded";
  EXPECT_EQ(handled_.load(), 0);
}

TEST_F(TlsTransport, HandshakeNotFinishedWithinTheDeadlineIsClosed) {
  ServerOptions options;
  options.tls = mesh_.member_tls(server_id_);
  options.tls->handshake_timeout = 200ms;
  start_server(options);
  testing::RawPeer silent(server_->port());
  auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE(silent.closed_by_server());
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  EXPECT_TRUE(eventually([&] { return server_->stats().open == 0; }));
}

TEST_F(TlsTransport, ConnectionsStillInTheHandshakeArePendingAndEvictedFirst) {
  start_server({.max_pending_connections = 2});
  testing::RawPeer first(server_->port());
  testing::RawPeer second(server_->port());
  ASSERT_TRUE(eventually([&] { return server_->stats().pending == 2; }));
  testing::RawPeer third(server_->port());
  EXPECT_TRUE(first.closed_by_server());
  EXPECT_TRUE(eventually([&] { return server_->stats().evicted == 1; }));
}

TEST_F(TlsTransport, PooledConnectionPaysTheHandshakeOnce) {
  Client client(loop_, {.tls = mesh_.member_tls(client_id_)});
  for (int i = 0; i < 5; ++i) {
    auto reply = client.request_sync(pinned(server_id_), "echo", as_bytes_copy("x"), 5s);
    ASSERT_TRUE(reply.ok()) << reply.error().to_string();
  }
  EXPECT_EQ(client.stats(pinned(server_id_)).connections_opened, 1u);
  EXPECT_EQ(server_->stats().accepted, 1u);
}

}  // namespace
}  // namespace beemesh::net
