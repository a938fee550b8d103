#include "cli/commands.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>
#include <thread>

#include "api/json.h"
#include "api/version.h"
#include "cli/credential.h"
#include "cli/owner_auth.h"
#include "common/safe_text.h"
#include "crypto/grants.h"
#include "crypto/intent.h"
#include "manifest/manifest.h"

namespace beemesh::cli {

namespace {

constexpr auto kWaitPoll = std::chrono::milliseconds(500);

Result<std::string> read_manifest_file(const std::string& file) {
  if (file == "-") {
    std::ostringstream text;
    text << std::cin.rdbuf();
    return text.str();
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) return make_error("io_error", "cannot read " + file + ": " + std::strerror(errno));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return make_error("io_error", "cannot read " + file + ": " + std::strerror(errno));
  return text;
}

struct LocalManifest {
  std::string yaml;
  manifest::Manifest parsed;
};

Result<LocalManifest> load_manifest(const std::string& file) {
  auto yaml = read_manifest_file(file);
  if (!yaml) return yaml.error();
  auto parsed = manifest::parse(*yaml, file == "-" ? "stdin" : file);
  if (!parsed) return parsed.error();
  return LocalManifest{std::move(*yaml), std::move(*parsed)};
}

Result<UserIdentity> user_identity(const Context& ctx) {
  std::filesystem::path path = ctx.identity_path;
  if (path.empty()) {
    auto fallback = default_identity_path();
    if (!fallback) return fallback.error();
    path = *fallback;
  }
  auto user = load_user_identity(path);
  if (!user) return user.error();
  if (user->created) {
    ctx.io.err << "created user identity " << path.string() << " (owner "
               << public_key_hex(user->identity) << ")\n";
  }
  return user;
}

api::ClientOptions client_options(const Context& ctx) {
  api::ClientOptions options;
  options.ca_cert_file = ctx.ca_cert_file;
  return options;
}

Result<std::filesystem::path> credential_path(const Context& ctx) {
  if (!ctx.credential_path.empty()) return ctx.credential_path;
  return default_credential_path();
}

// One authenticated conversation with a node: the user's credential and key, and the
// node's public key (from GET /health) that every request's ApiAuth names.
struct Session {
  explicit Session(const Context& ctx) : client(ctx.server, client_options(ctx)) {}
  api::ApiClient client;
  LoadedCredential credential;
  std::optional<UserIdentity> user;
  api::HealthInfo node;
};

Result<std::unique_ptr<Session>> open_session(const Context& ctx) {
  auto session = std::make_unique<Session>(ctx);
  auto path = credential_path(ctx);
  if (!path) return path.error();
  auto credential = read_credential_file(*path);
  if (!credential) return credential.error();
  session->credential = std::move(*credential);
  auto user = user_identity(ctx);
  if (!user) return user.error();
  if (session->credential.info.subject != user->identity.public_key()) {
    return make_error("credential_mismatch",
                      "the credential at " + path->string() + " is for key " +
                          to_hex(session->credential.info.subject) + ", not for your key " +
                          public_key_hex(user->identity));
  }
  session->user.emplace(std::move(*user));
  // Envelopes the user signs (a delete token travels to every node) carry the credential.
  session->user->identity.set_credential(session->credential.bytes);
  auto node = session->client.health();
  if (!node) return node.error();
  session->node = std::move(*node);
  session->client.set_signer(request_signer(session->user->identity, session->credential.hex,
                                            session->node.public_key_hex, ctx.io.clock));
  return session;
}

// Prints a document (json/yaml) or a table, whichever was asked for.
int print(const Context& ctx, const api::Json& document, const std::string& table) {
  ctx.io.out << (ctx.format == OutputFormat::kTable ? table
                                                    : render_document(document, ctx.format));
  return 0;
}

// Polls the workloads of the successful placements until all run, one fails or time is up.
int wait_for_running(const Context& ctx, api::ApiClient& client, const api::ApplyOutcome& outcome,
                     int timeout_s) {
  std::vector<std::string> pending;
  std::map<std::string, std::string> node_of;  // workload id -> the node it was placed on
  for (const auto& p : outcome.placements) {
    if (p.ok && !p.workload_id.empty()) {
      pending.push_back(p.workload_id);
      node_of[p.workload_id] = p.node_id;
    }
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  ctx.info() << "waiting for " << pending.size() << " workload(s) to be Running\n";
  std::map<std::string, std::string> last_state;
  while (true) {
    for (auto it = pending.begin(); it != pending.end();) {
      auto w = client.workload(*it, node_of[*it]);  // asks that node only, not the mesh
      if (!w) {
        if (w.error().code != "not_found") return ctx.fail(w.error());
        last_state[*it] = "not found yet";
        ++it;
        continue;
      }
      if (w->info.state == runtime::WorkloadState::Running) {
        ctx.info() << "workload " << printable(*it, 128) << " is Running on "
                   << printable(w->node_id, 128) << "\n";
        it = pending.erase(it);
        continue;
      }
      if (w->info.state == runtime::WorkloadState::Failed) {
        return ctx.fail(make_error("deploy_failed", "workload " + *it + " on " + w->node_id +
                                                        " failed: " + w->info.message));
      }
      last_state[*it] = std::string(api::workload_state_name(w->info.state));
      ++it;
    }
    if (pending.empty()) return 0;
    if (std::chrono::steady_clock::now() >= deadline) {
      std::string which;
      for (const auto& id : pending) {
        which += (which.empty() ? "" : ", ") + id + " (" + last_state[id] + ")";
      }
      return ctx.fail(
          make_error("timeout", "timed out after " + std::to_string(timeout_s) +
                                    " s waiting for workloads to be Running: " + which));
    }
    std::this_thread::sleep_for(kWaitPoll);
  }
}

}  // namespace

int Context::fail(const Error& error) const {
  // Messages and codes often come from a remote node: escaped, one line, bounded.
  std::string text = printable(error.message.empty() ? error.code : error.message, 2048);
  // Codes of errors the user cannot act on better by reading them are left out.
  if (error.code != "unreachable" && error.code != "io_error" && !error.code.empty() &&
      !error.message.empty()) {
    text += " (" + printable(error.code, 64) + ")";
  }
  io.err << "error: " << text << "\n";
  return 1;
}

int apply_command(const Context& ctx, const ApplyArgs& args) {
  auto local = load_manifest(args.file);  // before any network call
  if (!local) return ctx.fail(local.error());
  auto session = open_session(ctx);
  if (!session) return ctx.fail(session.error());
  const UserIdentity* user = &*(*session)->user;
  auto manifest_id = manifest_id_for(user->identity, local->parsed);
  if (!manifest_id) return ctx.fail(manifest_id.error());

  api::ApiClient& client = (*session)->client;
  const api::HealthInfo* entry = &(*session)->node;
  // The grant binds exactly what is applied: the manifest and the replica count.
  const auto* workload = local->parsed.primary();
  int replicas = args.replicas >= 0 ? args.replicas : (workload ? workload->replicas : 1);
  auto content = crypto::apply_content_hash(local->yaml, {}, 0, 0, replicas);
  auto auth =
      apply_auth(user->identity, *manifest_id, entry->public_key_hex, ctx.io.clock, content);
  if (!auth) return ctx.fail(auth.error());
  auth->intent_hex = intent_hex(user->identity, *manifest_id, local->parsed, local->yaml, replicas,
                                args.node, ctx.io.clock);

  api::ApplyOptions options;
  options.replicas = args.replicas;
  options.node = args.node;
  options.source = std::filesystem::path(args.file).filename().string();
  auto outcome = client.apply(local->yaml, options, *auth, [&](std::string_view step) {
    ctx.info() << printable(step, 256) << "\n";
    ctx.info().flush();
  });
  if (!outcome) return ctx.fail(outcome.error());

  std::string name = workload ? workload->kind + "/" + workload->name : args.file;
  if (outcome->result != "created" && ctx.format == OutputFormat::kTable) {
    // "unchanged" or "configured" (kubectl's words), with what the entry node did.
    ctx.io.out << name << " " << printable(outcome->result, 32) << ": manifest "
               << printable(outcome->manifest_id, 128);
    if (!outcome->message.empty()) ctx.io.out << " (" << printable(outcome->message, 512) << ")";
    ctx.io.out << "\n";
    if (!outcome->placements.empty()) ctx.io.out << placements_table(outcome->placements);
  } else if (ctx.format == OutputFormat::kTable) {
    ctx.io.out << name << " created: manifest " << printable(outcome->manifest_id, 128) << ", "
               << outcome->replicas_placed << "/" << outcome->replicas_requested
               << " replicas placed\n";
    if (!outcome->placements.empty()) ctx.io.out << placements_table(outcome->placements);
  } else {
    ctx.io.out << render_document(api::apply_outcome_to_json(*outcome), ctx.format);
  }
  if (outcome->replicas_placed < outcome->replicas_requested) {
    return ctx.fail(
        make_error("partially_placed", "only " + std::to_string(outcome->replicas_placed) + " of " +
                                           std::to_string(outcome->replicas_requested) +
                                           " replicas of " + name + " were placed"));
  }
  if (args.wait) return wait_for_running(ctx, client, *outcome, args.timeout_s);
  return 0;
}

int delete_command(const Context& ctx, const DeleteArgs& args) {
  std::optional<LocalManifest> local;
  if (!args.file.empty()) {
    auto loaded = load_manifest(args.file);
    if (!loaded) return ctx.fail(loaded.error());
    local = std::move(*loaded);
  }
  auto session = open_session(ctx);
  if (!session) return ctx.fail(session.error());
  const UserIdentity* user = &*(*session)->user;
  std::string manifest_id = args.manifest_id;
  if (local) {
    auto id = manifest_id_for(user->identity, local->parsed);
    if (!id) return ctx.fail(id.error());
    manifest_id = *id;
  }

  api::ApiClient& client = (*session)->client;
  api::OwnerAuth auth = delete_auth(user->identity, manifest_id, ctx.io.clock);
  auth.intent_hex = tombstone_hex(user->identity, manifest_id, ctx.io.clock);
  auto outcome = client.delete_manifest(manifest_id, auth);
  if (!outcome) return ctx.fail(outcome.error());
  if (ctx.format == OutputFormat::kTable) {
    ctx.io.out << "manifest " << printable(manifest_id, 128) << " deleted: " << outcome->removed
               << " workload(s) removed on " << outcome->nodes.size() << " node(s)\n";
    if (!outcome->nodes.empty()) ctx.io.out << placements_table(outcome->nodes);
  } else {
    ctx.io.out << render_document(api::delete_outcome_to_json(*outcome), ctx.format);
  }
  int failed = 0;
  for (const auto& n : outcome->nodes) failed += n.ok ? 0 : 1;
  if (failed > 0) {
    return ctx.fail(make_error("partially_deleted", std::to_string(failed) + " of " +
                                                        std::to_string(outcome->nodes.size()) +
                                                        " node(s) did not delete manifest " +
                                                        manifest_id));
  }
  return 0;
}

int rollout_status_command(const Context& ctx, const std::string& file) {
  auto local = load_manifest(file);
  if (!local) return ctx.fail(local.error());
  auto session = open_session(ctx);
  if (!session) return ctx.fail(session.error());
  auto manifest_id = manifest_id_for((*session)->user->identity, local->parsed);
  if (!manifest_id) return ctx.fail(manifest_id.error());
  api::ApiClient& client = (*session)->client;
  auto desired = client.desired_state(*manifest_id);
  if (!desired) return ctx.fail(desired.error());
  auto providers = client.providers(*manifest_id);
  if (!providers) return ctx.fail(providers.error());
  const int running = static_cast<int>(providers->size());
  const bool file_is_current =
      !desired->tombstone &&
      desired->content_version == to_hex(crypto::content_version(local->yaml));
  const bool complete = !desired->tombstone && running >= desired->replicas;
  api::Json doc{{"desired", api::desired_to_json(*desired)},
                {"running", running},
                {"file_is_current_version", file_is_current},
                {"complete", complete}};
  std::string table;
  if (desired->tombstone) {
    table = printable(*manifest_id, 128) + ": deleted (tombstone); " + std::to_string(running) +
            " provider(s) still announced\n";
  } else {
    table = printable(desired->name, 256) + " (manifest " + printable(*manifest_id, 128) +
            "): desired " + std::to_string(desired->replicas) + " replica(s) of version " +
            desired->content_version.substr(0, 12) +
            (file_is_current ? " (this file)" : " (not this file)") + ", running " +
            std::to_string(running) + " — " + (complete ? "complete" : "in progress") + "\n";
  }
  print(ctx, doc, table);
  return complete || desired->tombstone ? 0 : 1;
}

int get_workloads_command(const Context& ctx) {
  auto session = open_session(ctx);
  if (!session) return ctx.fail(session.error());
  api::ApiClient& client = (*session)->client;
  auto list = client.workloads();
  if (!list) return ctx.fail(list.error());
  api::Json items = api::Json::array();
  for (const auto& w : *list) items.push_back(api::workload_to_json(w));
  return print(ctx, api::Json{{"workloads", items}}, workloads_table(*list, ctx.io.clock.now_ms()));
}

int get_nodes_command(const Context& ctx) {
  auto session = open_session(ctx);
  if (!session) return ctx.fail(session.error());
  api::ApiClient& client = (*session)->client;
  auto list = client.nodes();
  if (!list) return ctx.fail(list.error());
  api::Json items = api::Json::array();
  for (const auto& n : *list) items.push_back(api::node_to_json(n));
  return print(ctx, api::Json{{"nodes", items}}, nodes_table(*list, ctx.io.clock.now_ms()));
}

int get_providers_command(const Context& ctx, const std::string& manifest_id) {
  auto session = open_session(ctx);
  if (!session) return ctx.fail(session.error());
  api::ApiClient& client = (*session)->client;
  auto list = client.providers(manifest_id);
  if (!list) return ctx.fail(list.error());
  api::Json items = api::Json::array();
  for (const auto& p : *list) items.push_back(api::provider_to_json(p));
  return print(ctx, api::Json{{"manifest_id", manifest_id}, {"providers", items}},
               providers_table(*list, ctx.io.clock.now_ms()));
}

int describe_workload_command(const Context& ctx, const std::string& workload_id) {
  auto session = open_session(ctx);
  if (!session) return ctx.fail(session.error());
  api::ApiClient& client = (*session)->client;
  auto w = client.workload(workload_id);
  if (!w) return ctx.fail(w.error());
  return print(ctx, api::workload_to_json(*w), describe_workload(*w, ctx.io.clock.now_ms()));
}

int logs_command(const Context& ctx, const std::string& workload_id, int tail) {
  auto session = open_session(ctx);
  if (!session) return ctx.fail(session.error());
  api::ApiClient& client = (*session)->client;
  auto text = client.logs(workload_id, tail);
  if (!text) return ctx.fail(text.error());
  // Log text is the workload's own output: line breaks kept, terminal controls escaped.
  ctx.io.out << printable_lines(*text);
  if (!text->empty() && text->back() != '\n') ctx.io.out << "\n";
  return 0;
}

int version_command(const Context& ctx, bool client_only) {
  api::Json doc{{"client", {{"version", std::string(api::kVersion)}}}};
  std::string table = "client: " + std::string(api::kVersion) + "\n";
  if (!client_only) {
    api::ClientOptions quick = client_options(ctx);
    quick.connect_timeout = std::chrono::seconds(2);
    quick.read_timeout = std::chrono::seconds(5);
    api::ApiClient client(ctx.server, quick);
    auto health = client.health();
    if (health) {
      doc["server"] = {{"url", client.server()},
                       {"version", health->version},
                       {"node_id", health->node_id},
                       {"name", health->name}};
      table += "server: " + printable(health->version, 64) + " (node " +
               printable(health->name, 128) + " " + printable(health->node_id, 128) + " at " +
               client.server() + ")\n";
    } else {
      doc["server"] = {{"url", client.server()}, {"error", health.error().message}};
      table += "server: " + printable(health.error().message, 1024) + "\n";
    }
  }
  return print(ctx, doc, table);
}

namespace {

std::string format_expiry(int64_t ms) {
  if (ms <= 0) return "never";
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

api::Json credential_json(const CredentialInfo& info, bool matches_key) {
  return api::Json{{"name", info.name},
                   {"role", std::string(crypto::role_name(info.role))},
                   {"namespaces", info.namespaces},
                   {"mesh_id", info.mesh_id},
                   {"public_key", to_hex(info.subject)},
                   {"issued_ms", info.issued_ms},
                   {"expires_ms", info.expires_ms},
                   {"matches_key", matches_key}};
}

std::string credential_line(const CredentialInfo& info) {
  std::string namespaces;
  for (const auto& ns : info.namespaces) namespaces += (namespaces.empty() ? "" : ",") + ns;
  return printable(info.name, 64) + ", role " + std::string(crypto::role_name(info.role)) +
         ", namespaces " + (namespaces.empty() ? "all" : printable(namespaces, 256)) + ", mesh " +
         printable(info.mesh_id, 64) + ", expires " + format_expiry(info.expires_ms);
}

}  // namespace

int login_command(const Context& ctx, const LoginArgs& args) {
  auto credential = read_credential_file(args.credential_file);
  if (!credential) return ctx.fail(credential.error());
  auto user = user_identity(ctx);
  if (!user) return ctx.fail(user.error());
  if (credential->info.subject != user->identity.public_key()) {
    return ctx.fail(make_error("credential_mismatch",
                               args.credential_file + " is a credential for key " +
                                   to_hex(credential->info.subject) + ", not for your key " +
                                   public_key_hex(user->identity) + " (`beemesh whoami`)"));
  }
  auto path = credential_path(ctx);
  if (!path) return ctx.fail(path.error());
  if (auto saved = save_credential(*path, *credential); !saved) return ctx.fail(saved.error());
  api::Json doc{{"credential_file", path->string()},
                {"credential", credential_json(credential->info, true)}};
  return print(ctx, doc,
               "logged in as " + credential_line(credential->info) + "\ncredential saved to " +
                   path->string() + "\n");
}

int whoami_command(const Context& ctx) {
  auto user = user_identity(ctx);
  if (!user) return ctx.fail(user.error());
  auto path = credential_path(ctx);
  if (!path) return ctx.fail(path.error());
  const std::string key = public_key_hex(user->identity);
  api::Json doc{{"public_key", key}, {"credential", nullptr}};
  std::string table = "public key: " + key + "\n";
  auto credential = read_credential_file(*path);
  if (credential) {
    bool matches = credential->info.subject == user->identity.public_key();
    doc["credential"] = credential_json(credential->info, matches);
    table += "credential: " + credential_line(credential->info) + "\n";
    if (!matches) {
      table += "warning: the credential is for key " + to_hex(credential->info.subject) +
               ", not for this key\n";
    }
  } else if (credential.error().code == "no_credential") {
    table +=
        "credential: none (give the public key to the mesh admin, then run `beemesh login "
        "--credential FILE`)\n";
  } else {
    doc["credential_error"] = credential.error().message;
    table += "credential: " + printable(credential.error().message, 512) + "\n";
  }
  return print(ctx, doc, table);
}

}  // namespace beemesh::cli
