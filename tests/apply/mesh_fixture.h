// tests/apply/mesh_fixture.h — three real beemesh daemons in one test process, and the test
// itself acting as the user and as an entry node.
//
// Promise:
//  * MeshTest starts nodes A, B and C (app::Daemon), each with its own temporary data
//    directory, identity, RPC, API and DHT port (all 0 = ephemeral, 127.0.0.1), a private
//    random DHT network id per test, and a MockEngine named "mock" (kept here for
//    verification; it survives stop()/restart() like a real container runtime would).
//    B and C bootstrap to A (C also to B). Options per test: override options().
//  * The mesh is admitted the product's way: SetUp makes an admin directory
//    (app::mesh_admin::init, like `beemesh mesh init`) and one join token
//    (create_join_token, like `beemesh mesh admit`); every node starts with
//    NodeConfig::join_token (a restart reuses the membership kept in its data dir).
//    SetUp returns once every node's directory lists A, B and C (holders must be members
//    the target knows).
//  * Entry is the test's own roles: the user U (owner of every manifest, Ed25519 key, a
//    user credential of role deployer from mesh_admin::issue_user) and an entry node E
//    (another key, a node credential from mesh_admin::admit_node + join) that encrypts
//    manifests, stores key shares on holders and builds ApplyRequests by hand, exactly
//    like apply::Publisher does, so tests can tamper with every byte before sending.
//    Envelopes signed by U or E carry their credentials (Identity::set_credential).
//  * member_node() / member_user() make further members (another entry node, another
//    deployer); crypto::Identity::generate() alone is a stranger (no credential).
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "api/client.h"
#include "app/config.h"
#include "app/daemon.h"
#include "common/bytes.h"
#include "common/clock.h"
#include "common/result.h"
#include "crypto/envelope.h"
#include "crypto/identity.h"
#include "crypto/membership.h"
#include "net/client.h"
#include "net/event_loop.h"
#include "protocol/messages.h"
#include "provider/provider.h"
#include "runtime/mock/mock_engine.h"
#include "workload/workload_manager.h"

namespace beemesh::apply_test {

using namespace std::chrono_literals;

// Calls `condition` every `step` until it is true or `deadline` has passed.
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds deadline,
                std::chrono::milliseconds step = 200ms);

// Manifests named `name` running busybox: a Pod, and a Deployment with limits
// (32Mi, 100m per container).
std::string pod_yaml(std::string_view name);
std::string deployment_yaml(std::string_view name, int replicas);

struct MeshOptions {
  int key_share_count = 3;
  int key_share_threshold = 2;
  int max_concurrent_deployments = 10;
  std::chrono::milliseconds deploy_delay{0};  // of every node's Mock engine
};

struct Node {
  std::string name;
  std::filesystem::path data_dir;
  std::shared_ptr<runtime::MockEngine> engine;  // outlives daemon restarts
  std::unique_ptr<app::Daemon> daemon;          // null while stopped

  app::Daemon* operator->() const { return daemon.get(); }
  const crypto::PublicKey& key() const;
  std::string id() const { return daemon->node_id(); }
};

// A manifest prepared for one target node: encrypted by E, shares stored on the holders,
// and the ApplyRequest that E would sign (unsigned: tests may change it first).
struct PreparedApply {
  std::string manifest_id;
  std::string yaml;
  protocol::ApplyRequest request;
};

class Entry {
 public:
  Entry();
  ~Entry();
  Entry(const Entry&) = delete;
  Entry& operator=(const Entry&) = delete;

  const crypto::Identity& owner() const { return owner_; }  // the user U
  const crypto::Identity& node() const { return entry_; }   // the entry node E
  // Gives U and E their credentials (MeshTest::SetUp does) and opens E's RPC client: TLS as
  // node E, checking that the nodes it reaches are members of the mesh of `admin`/`mesh_id`.
  void admit(Bytes owner_credential, Bytes entry_credential, const crypto::PublicKey& admin,
             const std::string& mesh_id);
  std::string owner_credential_hex() const { return to_hex(owner_.credential()); }

  // manifest::manifest_id(hex(U), parsed yaml).
  std::string manifest_id_of(std::string_view yaml) const;
  // Grant(kApply) for `manifest_id` signed by `signer`, naming `grantee`, valid 10 min,
  // binding `content_hash` (none when empty).
  Bytes apply_grant(const crypto::Identity& signer, const std::string& manifest_id,
                    const crypto::PublicKey& grantee, ByteView content_hash = {}) const;
  // crypto::apply_content_hash of what `request` asks to deploy of `yaml` (env, limits,
  // total replicas): what the owner's apply grant must bind.
  static Bytes content_hash(std::string_view yaml, const protocol::ApplyRequest& request);
  // Re-issues the owner grant U -> E binding the request's current content (after a test
  // changed env, limits or replicas the way an owner would have asked for them).
  void regrant(PreparedApply& prepared) const;

  // Encrypts `yaml` with E as publisher (threshold k, one share per holder), stores the
  // shares on `holders` (every one must accept; owner U, U's grant and credential, expiry
  // in 1 h) and builds the ApplyRequest for `target`: owner U with U's credential, owner
  // grant U -> E binding the content (yaml, no env or limits, 1 replica), key-share grant
  // E -> target, replicas 1 of 1. `manifest_id` empty = manifest_id_of(yaml) (tests give
  // another one to mislabel the manifest).
  Result<PreparedApply> prepare(std::string_view yaml, const Node& target,
                                const std::vector<const Node*>& holders, unsigned k,
                                std::string manifest_id = {});

  Bytes sign(const protocol::ApplyRequest& request, const Clock& clock = system_clock()) const;
  Bytes sign_delete(const crypto::Identity& signer, const protocol::DeleteRequest& request) const;

  // Sends a raw envelope on protocol "apply"/"delete" and opens the reply, which must be
  // signed by `target`.
  Result<protocol::ApplyResponse> send_apply(const Node& target, Bytes wire);
  std::future<Result<Bytes>> send_apply_async(const Node& target, Bytes wire);
  Result<protocol::ApplyResponse> open_apply_response(const Node& target, const Bytes& reply);
  Result<protocol::DeleteResponse> send_delete(const Node& target, Bytes wire);
  // A CapacityRequest (1 replica, no demand) signed by E; the reply signed by `target`.
  Result<protocol::CapacityReply> capacity(const Node& target);
  // A StoreShareRequest signed by `signer` (E in prepare(); tests use others too).
  Result<protocol::StoreShareResponse> store_share(const crypto::Identity& signer,
                                                   const Node& holder,
                                                   const protocol::StoreShareRequest& request);
  // A KeyShareBatchRequest signed by `signer`, sent to `holder` on "keyshares".
  Result<protocol::KeyShareBatchResponse> key_share_batch(
      const crypto::Identity& signer, const Node& holder,
      const protocol::KeyShareBatchRequest& request);

 private:
  crypto::Identity owner_;
  crypto::Identity entry_;
  net::EventLoop loop_{1};
  std::unique_ptr<crypto::Membership> membership_;  // what E's client checks nodes against
  std::unique_ptr<net::Client> client_;             // set by admit()
  crypto::EnvelopeVerifier verifier_{system_clock()};
};

class MeshTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;
  virtual MeshOptions options() const { return {}; }

  Node& a() { return nodes_[0]; }
  Node& b() { return nodes_[1]; }
  Node& c() { return nodes_[2]; }

  // Stops the node's daemon (its workloads keep running in its Mock engine).
  void stop(Node& node);
  // Starts a new daemon on the same data directory and the same Mock engine, and waits
  // until its directory lists A, B and C again.
  Result<void> restart(Node& node);

  // The mesh admin's directory (admin.key, mesh.json).
  const std::filesystem::path& admin_dir() const { return admin_dir_; }
  // A new identity admitted as a member node (mesh_admin::admit_node, joined with it).
  crypto::Identity member_node(const std::string& name) const;
  // A new identity holding a user credential of `role` (mesh_admin::issue_user).
  crypto::Identity member_user(const std::string& name,
                               crypto::Role role = crypto::Role::kDeployer) const;
  // An API client for `node` signing every call as U (cli::request_signer).
  std::unique_ptr<api::ApiClient> api_as_owner(const Node& node) const;
  // Waits until `node`'s directory (REST /nodes) lists A, B and C.
  bool directory_complete(const Node& node, std::chrono::milliseconds deadline = 30s) const;

  // The providers of `manifest_id` as `observer` discovers them (REST API); nullopt when
  // the API call failed.
  std::optional<std::vector<provider::ProviderInfo>> providers_seen_by(
      Node& observer, const std::string& manifest_id);
  // Waits until `observer` discovers exactly `expected` (node ids); deadline 30 s.
  bool discovers_exactly(Node& observer, const std::string& manifest_id,
                         const std::set<std::string>& expected,
                         std::chrono::milliseconds deadline = 30s);

 private:
  Result<void> start(Node& node);
  app::NodeConfig config_for(const Node& node) const;

  std::filesystem::path root_;
  std::filesystem::path admin_dir_;
  std::string join_token_;
  uint32_t network_id_ = 0;
  std::array<Node, 3> nodes_;

 protected:
  Entry entry;  // U and E, admitted in SetUp
};

}  // namespace beemesh::apply_test
