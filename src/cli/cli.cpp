#include "cli/cli.h"

#include <CLI/CLI.hpp>

#include <exception>
#include <iostream>

#include "cli/commands.h"

namespace beemesh::cli {

namespace {

constexpr const char* kDefaultServer = "http://127.0.0.1:7480";

int run(int argc, const char* const* argv, const CliIo& io,
        const std::vector<ExtraCommand>& extra) {
  CLI::App app{"beemesh: a decentralized machine plane. Apply Kubernetes manifests to any node.",
               "beemesh"};
  app.require_subcommand(1);
  app.fallthrough();  // global options may follow the command, as with kubectl

  std::string server = kDefaultServer;
  std::string output = "table";
  std::string identity;
  std::string credential;
  std::string ca_cert;
  app.add_option("--server", server, "API of the node to talk to")
      ->envname("BEEMESH_SERVER")
      ->capture_default_str();
  app.add_option("-o,--output", output, "Output format")
      ->check(CLI::IsMember({"table", "json", "yaml"}))
      ->capture_default_str();
  app.add_option("--identity", identity,
                 "User key file (default $BEEMESH_HOME/user.key or ~/.beemesh/user.key)");
  app.add_option("--credential-file", credential,
                 "User credential file (default $BEEMESH_HOME/credential or "
                 "~/.beemesh/credential)")
      ->envname("BEEMESH_CREDENTIAL");
  app.add_option("--ca-cert", ca_cert, "CA certificates (PEM) for an https:// server")
      ->envname("BEEMESH_CA_CERT");

  ApplyArgs apply_args;
  auto* apply = app.add_subcommand("apply", "Apply a manifest to the mesh");
  apply->add_option("-f,--filename", apply_args.file, "Manifest file ('-' for stdin)")->required();
  apply->add_option("--replicas", apply_args.replicas, "Replicas (default: the manifest's)")
      ->check(CLI::Range(1, 10'000));
  apply->add_option("--node", apply_args.node, "Place only on this node (id or name)");
  apply->add_flag("--wait", apply_args.wait, "Wait until every workload is Running");
  apply->add_option("--timeout", apply_args.timeout_s, "Seconds --wait waits")
      ->check(CLI::Range(1, 86'400))
      ->capture_default_str();

  ApplyArgs scale_args;
  auto* scale = app.add_subcommand("scale", "Change a manifest's replica count (a new intent)");
  auto* scale_file = scale->add_option("-f,--filename", scale_args.file, "Manifest file");
  auto* scale_pos = scale->add_option("manifest", scale_args.file, "Manifest file");
  scale_file->excludes(scale_pos);
  scale_pos->excludes(scale_file);
  scale->add_option("--replicas", scale_args.replicas, "Replicas")
      ->required()
      ->check(CLI::Range(0, 1'000));

  std::string rollout_file;
  auto* rollout = app.add_subcommand("rollout", "Desired state of a manifest");
  rollout->require_subcommand(1);
  auto* rollout_status =
      rollout->add_subcommand("status", "Desired replicas and version against what runs");
  auto* rollout_f = rollout_status->add_option("-f,--filename", rollout_file, "Manifest file");
  auto* rollout_pos = rollout_status->add_option("manifest", rollout_file, "Manifest file");
  rollout_f->excludes(rollout_pos);
  rollout_pos->excludes(rollout_f);
  rollout_status->require_option(1);

  auto* get = app.add_subcommand("get", "List resources");
  get->require_subcommand(1);
  auto* get_workloads = get->add_subcommand("workloads", "Workloads on this node");
  get_workloads->alias("workload");
  auto* get_nodes = get->add_subcommand("nodes", "Nodes this node knows");
  get_nodes->alias("node");
  std::string providers_manifest;
  auto* get_providers = get->add_subcommand("providers", "Nodes that run a manifest");
  get_providers->alias("provider");
  get_providers->add_option("manifest", providers_manifest, "Manifest id")->required();

  auto* describe = app.add_subcommand("describe", "Show one resource in detail");
  describe->require_subcommand(1);
  std::string describe_id;
  auto* describe_workload = describe->add_subcommand("workload", "One workload");
  describe_workload->add_option("id", describe_id, "Workload id")->required();

  std::string logs_id;
  int tail = -1;
  auto* logs = app.add_subcommand("logs", "Print a workload's logs");
  logs->add_option("id", logs_id, "Workload id")->required();
  logs->add_option("--tail", tail, "Last N lines (default: all)")->check(CLI::Range(0, 1'000'000));

  DeleteArgs delete_args;
  auto* del = app.add_subcommand("delete", "Delete a manifest's workloads everywhere");
  auto* del_file = del->add_option("-f,--filename", delete_args.file, "Manifest file");
  auto* del_id = del->add_option("manifest", delete_args.manifest_id, "Manifest id");
  del_file->excludes(del_id);
  del_id->excludes(del_file);
  del->require_option(1);

  LoginArgs login_args;
  auto* login = app.add_subcommand("login", "Store the credential the mesh admin gave you");
  login->add_option("--credential", login_args.credential_file, "Credential file (hex)")
      ->required();

  auto* whoami = app.add_subcommand("whoami", "Print your public key and credential");

  bool client_only = false;
  auto* version = app.add_subcommand("version", "Print the client and server versions");
  version->add_flag("--client", client_only, "Client version only");

  std::vector<CLI::App*> extra_apps;
  for (const auto& command : extra) {
    auto* sub = app.add_subcommand(command.name, command.description);
    if (command.setup) command.setup(*sub);
    extra_apps.push_back(sub);
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e, io.out, io.err);
    return code == 0 ? 0 : 2;
  }

  for (size_t i = 0; i < extra.size(); ++i) {
    if (extra_apps[i]->parsed()) return extra[i].run ? extra[i].run() : 0;
  }

  Context ctx{io, server, *parse_output_format(output), identity, credential, ca_cert};
  if (apply->parsed()) return apply_command(ctx, apply_args);
  if (scale->parsed()) {
    if (scale_args.file.empty()) {
      io.err << "error: scale needs the manifest file (-f FILE or FILE)\n";
      return 2;
    }
    return apply_command(ctx, scale_args);
  }
  if (rollout_status->parsed()) return rollout_status_command(ctx, rollout_file);
  if (get_workloads->parsed()) return get_workloads_command(ctx);
  if (get_nodes->parsed()) return get_nodes_command(ctx);
  if (get_providers->parsed()) return get_providers_command(ctx, providers_manifest);
  if (describe_workload->parsed()) return describe_workload_command(ctx, describe_id);
  if (logs->parsed()) return logs_command(ctx, logs_id, tail);
  if (del->parsed()) return delete_command(ctx, delete_args);
  if (version->parsed()) return version_command(ctx, client_only);
  if (login->parsed()) return login_command(ctx, login_args);
  if (whoami->parsed()) return whoami_command(ctx);
  io.err << "error: no command given (try --help)\n";
  return 2;
}

}  // namespace

int run_cli(int argc, const char* const* argv, const std::vector<ExtraCommand>& extra) {
  return run_cli(argc, argv, CliIo{std::cout, std::cerr, system_clock()}, extra);
}

int run_cli(int argc, const char* const* argv, const CliIo& io,
            const std::vector<ExtraCommand>& extra) {
  try {
    return run(argc, argv, io, extra);
  } catch (const std::exception& e) {
    io.err << "error: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace beemesh::cli
