#include "e2e/suite.h"

#include <atomic>
#include <fstream>

#include "cli/owner_auth.h"
#include "common/clock.h"
#include "crypto/grants.h"

namespace beemesh::e2e {

Result<std::unique_ptr<Mesh>> start_mesh_on_podman(const MeshOptions& options) {
  if (auto ready = check_podman_ready(); !ready) {
    return make_error(ready.error().code, "Podman is not usable: " + ready.error().to_string());
  }
  auto mesh = Mesh::start(options);
  if (!mesh) {
    return make_error(mesh.error().code, "mesh did not start: " + mesh.error().to_string());
  }
  return std::move(*mesh);
}

Result<api::ApplyOutcome> apply_and_track(Mesh& mesh, int node, const std::string& manifest_path,
                                          int replicas) {
  auto applied = mesh.cli(
      node, {"apply", "-f", manifest_path, "--replicas", std::to_string(replicas), "-o", "json"});
  if (!applied || !applied->success()) {
    return make_error("apply_failed", "beemesh apply failed: " + describe(applied));
  }
  auto json = api::parse_json(applied->out);
  auto outcome =
      json ? api::apply_outcome_from_json(*json) : Result<api::ApplyOutcome>(json.error());
  if (!outcome) {
    return make_error(outcome.error().code, "apply printed no outcome: " +
                                                outcome.error().to_string() + "\n" + applied->out);
  }
  mesh.track_manifest(outcome->manifest_id);
  return outcome;
}

std::string log_tails(Mesh& mesh, size_t lines) {
  std::string out;
  for (int i = 0; i < mesh.size(); ++i) {
    out += "---- log of " + mesh.node(i).name + "\n" + mesh.log_tail(i, lines);
  }
  return out;
}

std::string describe(const Result<ProcessResult>& r) {
  if (!r) return "could not run: " + r.error().to_string();
  return "exit " + std::to_string(r->exit_code) + "\nstdout:\n" + r->out + "\nstderr:\n" + r->err;
}

std::string describe(const Result<RestReply>& r) {
  if (!r) return "no answer: " + r.error().to_string();
  return "HTTP " + std::to_string(r->status) + " " + r->body;
}

std::string write_manifest(const Mesh& mesh, const std::string& yaml) {
  static std::atomic<int> count{0};
  auto path = mesh.work_dir() / ("manifest-" + std::to_string(++count) + ".yaml");
  std::ofstream(path) << yaml;
  return path.string();
}

Result<std::vector<TargetNode>> target_nodes(Mesh& mesh) {
  std::vector<TargetNode> out;
  for (int i = 0; i < mesh.size(); ++i) {
    auto t = target_node(mesh.node(i).public_key_hex, mesh.node(i).rpc_endpoint());
    if (!t) return t.error();
    out.push_back(*t);
  }
  return out;
}

int index_of_node(Mesh& mesh, const std::string& node_id) {
  for (int i = 0; i < mesh.size(); ++i) {
    if (mesh.node(i).node_id == node_id) return i;
  }
  return -1;
}

Result<void> add_apply_grant(HeaderMap& headers, const crypto::Identity& owner,
                             const std::string& manifest_id, const std::string& node_public_key_hex,
                             const std::string& yaml) {
  auto grant = cli::apply_auth(owner, manifest_id, node_public_key_hex, system_clock(),
                               crypto::apply_content_hash(yaml, {}, 0, 0, 1));
  if (!grant) return grant.error();
  headers.emplace("X-Beemesh-Owner", grant->owner_public_key_hex);
  headers.emplace("X-Beemesh-Token", grant->token_hex);
  return {};
}

}  // namespace beemesh::e2e
