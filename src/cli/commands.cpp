#include "cli/commands.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <thread>

#include "api/json.h"
#include "api/version.h"
#include "cli/owner_auth.h"
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

api::ApiClient client_for(const Context& ctx) {
  return api::ApiClient(ctx.server);
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
  for (const auto& p : outcome.placements) {
    if (p.ok && !p.workload_id.empty()) pending.push_back(p.workload_id);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  ctx.info() << "waiting for " << pending.size() << " workload(s) to be Running\n";
  std::map<std::string, std::string> last_state;
  while (true) {
    for (auto it = pending.begin(); it != pending.end();) {
      auto w = client.workload(*it);
      if (!w) {
        if (w.error().code != "not_found") return ctx.fail(w.error());
        last_state[*it] = "not found yet";
        ++it;
        continue;
      }
      if (w->info.state == runtime::WorkloadState::Running) {
        ctx.info() << "workload " << *it << " is Running on " << w->node_id << "\n";
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
  std::string text = error.message.empty() ? error.code : error.message;
  // Codes of errors the user cannot act on better by reading them are left out.
  if (error.code != "unreachable" && error.code != "io_error" && !error.code.empty() &&
      !error.message.empty()) {
    text += " (" + error.code + ")";
  }
  io.err << "error: " << text << "\n";
  return 1;
}

int apply_command(const Context& ctx, const ApplyArgs& args) {
  auto local = load_manifest(args.file);  // before any network call
  if (!local) return ctx.fail(local.error());
  auto user = user_identity(ctx);
  if (!user) return ctx.fail(user.error());
  auto manifest_id = manifest_id_for(user->identity, local->parsed);
  if (!manifest_id) return ctx.fail(manifest_id.error());

  auto client = client_for(ctx);
  auto entry = client.health();
  if (!entry) return ctx.fail(entry.error());
  auto auth = apply_auth(user->identity, *manifest_id, entry->public_key_hex, ctx.io.clock);
  if (!auth) return ctx.fail(auth.error());

  api::ApplyOptions options;
  options.replicas = args.replicas;
  options.node = args.node;
  options.source = std::filesystem::path(args.file).filename().string();
  auto outcome = client.apply(local->yaml, options, *auth, [&](std::string_view step) {
    ctx.info() << step << "\n";
    ctx.info().flush();
  });
  if (!outcome) return ctx.fail(outcome.error());

  const auto* primary = local->parsed.primary();
  std::string name = primary ? primary->kind + "/" + primary->name : args.file;
  if (ctx.format == OutputFormat::kTable) {
    ctx.io.out << name << " applied: manifest " << outcome->manifest_id << ", "
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
  auto user = user_identity(ctx);
  if (!user) return ctx.fail(user.error());
  std::string manifest_id = args.manifest_id;
  if (local) {
    auto id = manifest_id_for(user->identity, local->parsed);
    if (!id) return ctx.fail(id.error());
    manifest_id = *id;
  }

  auto client = client_for(ctx);
  auto outcome =
      client.delete_manifest(manifest_id, delete_auth(user->identity, manifest_id, ctx.io.clock));
  if (!outcome) return ctx.fail(outcome.error());
  if (ctx.format == OutputFormat::kTable) {
    ctx.io.out << "manifest " << manifest_id << " deleted: " << outcome->removed
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

int get_workloads_command(const Context& ctx) {
  auto client = client_for(ctx);
  auto list = client.workloads();
  if (!list) return ctx.fail(list.error());
  api::Json items = api::Json::array();
  for (const auto& w : *list) items.push_back(api::workload_to_json(w));
  return print(ctx, api::Json{{"workloads", items}}, workloads_table(*list, ctx.io.clock.now_ms()));
}

int get_nodes_command(const Context& ctx) {
  auto client = client_for(ctx);
  auto list = client.nodes();
  if (!list) return ctx.fail(list.error());
  api::Json items = api::Json::array();
  for (const auto& n : *list) items.push_back(api::node_to_json(n));
  return print(ctx, api::Json{{"nodes", items}}, nodes_table(*list, ctx.io.clock.now_ms()));
}

int get_providers_command(const Context& ctx, const std::string& manifest_id) {
  auto client = client_for(ctx);
  auto list = client.providers(manifest_id);
  if (!list) return ctx.fail(list.error());
  api::Json items = api::Json::array();
  for (const auto& p : *list) items.push_back(api::provider_to_json(p));
  return print(ctx, api::Json{{"manifest_id", manifest_id}, {"providers", items}},
               providers_table(*list, ctx.io.clock.now_ms()));
}

int describe_workload_command(const Context& ctx, const std::string& workload_id) {
  auto client = client_for(ctx);
  auto w = client.workload(workload_id);
  if (!w) return ctx.fail(w.error());
  return print(ctx, api::workload_to_json(*w), describe_workload(*w, ctx.io.clock.now_ms()));
}

int logs_command(const Context& ctx, const std::string& workload_id, int tail) {
  auto client = client_for(ctx);
  auto text = client.logs(workload_id, tail);
  if (!text) return ctx.fail(text.error());
  ctx.io.out << *text;
  if (!text->empty() && text->back() != '\n') ctx.io.out << "\n";
  return 0;
}

int version_command(const Context& ctx, bool client_only) {
  api::Json doc{{"client", {{"version", std::string(api::kVersion)}}}};
  std::string table = "client: " + std::string(api::kVersion) + "\n";
  if (!client_only) {
    api::ClientOptions quick;
    quick.connect_timeout = std::chrono::seconds(2);
    quick.read_timeout = std::chrono::seconds(5);
    api::ApiClient client(ctx.server, quick);
    auto health = client.health();
    if (health) {
      doc["server"] = {{"url", client.server()},
                       {"version", health->version},
                       {"node_id", health->node_id},
                       {"name", health->name}};
      table += "server: " + health->version + " (node " + health->name + " " + health->node_id +
               " at " + client.server() + ")\n";
    } else {
      doc["server"] = {{"url", client.server()}, {"error", health.error().message}};
      table += "server: " + health.error().message + "\n";
    }
  }
  return print(ctx, doc, table);
}

}  // namespace beemesh::cli
