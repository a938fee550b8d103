// tests/e2e/suite.h — what the Podman suites (tests/e2e, tests/hostile, tests/security) and
// the hostile benchmark do around their cases: start the shared mesh, report a failed CLI run
// or REST call, write a manifest file, address every node over RPC, sign a REST apply.
//
// Usage:
//   auto mesh = e2e::start_mesh_on_podman(options);
//   if (!mesh) setup_error_ = mesh.error().message;      // "Podman is not usable: ..."
//   ASSERT_TRUE(r && r->success()) << e2e::describe(r);  // r: a mesh->cli(...) result
//   std::cerr << e2e::log_tails(*mesh, 40);              // when a case failed
//
// Promise:
//  * start_mesh_on_podman() checks Podman (check_podman_ready) and then starts the mesh
//    (Mesh::start). On failure the Error keeps the code of what failed and its message is
//    the line a suite reports: "Podman is not usable: <error>" or
//    "mesh did not start: <error>", <error> being the cause's to_string().
//  * apply_and_track() runs `beemesh apply -f <manifest_path> --replicas <n> -o json` through
//    node `node`, parses the outcome and tracks its manifest id (Mesh::track_manifest). On
//    failure the Error's message is the line a suite reports: "beemesh apply failed: <describe>"
//    or "apply printed no outcome: <error>\n<stdout>".
//  * log_tails() is, for every node in order, "---- log of <name>\n" and the last `lines`
//    lines of its log.
//  * describe() says what came back: "could not run: <error>" or the exit code, stdout and
//    stderr of a process; "no answer: <error>" or "HTTP <status> <body>" of a REST call.
//  * write_manifest() writes `yaml` to a file of its own under the mesh's work directory
//    (manifest-<n>.yaml, n counting up per process) and returns its path.
//  * target_nodes() is every node of the mesh as an RPC target, in mesh order;
//    index_of_node() the mesh index of the node with that id, -1 when none has it.
//  * add_apply_grant() adds what the CLI adds to a REST apply (X-Beemesh-Owner,
//    X-Beemesh-Token): the owner's apply grant for `manifest_id` naming the node, bound to
//    the content as the CLI signs it (the YAML, no env or limits, one replica).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "api/json.h"
#include "common/process.h"
#include "common/result.h"
#include "crypto/identity.h"
#include "e2e/direct_rpc.h"
#include "e2e/mesh.h"
#include "e2e/rest.h"

namespace beemesh::e2e {

Result<std::unique_ptr<Mesh>> start_mesh_on_podman(const MeshOptions& options);

Result<api::ApplyOutcome> apply_and_track(Mesh& mesh, int node, const std::string& manifest_path,
                                          int replicas);

std::string log_tails(Mesh& mesh, size_t lines);

std::string describe(const Result<ProcessResult>& r);
std::string describe(const Result<RestReply>& r);

std::string write_manifest(const Mesh& mesh, const std::string& yaml);

Result<std::vector<TargetNode>> target_nodes(Mesh& mesh);
int index_of_node(Mesh& mesh, const std::string& node_id);

Result<void> add_apply_grant(HeaderMap& headers, const crypto::Identity& owner,
                             const std::string& manifest_id, const std::string& node_public_key_hex,
                             const std::string& yaml);

}  // namespace beemesh::e2e
