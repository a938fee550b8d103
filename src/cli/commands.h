// cli/commands.h — one function per CLI command; run_cli (cli.cpp) parses arguments and
// calls these. Each returns the process exit status (0 ok, 1 failed).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "api/client.h"
#include "cli/cli.h"
#include "cli/output.h"

namespace beemesh::cli {

struct Context {
  const CliIo& io;
  std::string server;
  OutputFormat format = OutputFormat::kTable;
  std::filesystem::path identity_path;    // empty = default_identity_path()
  std::filesystem::path credential_path;  // empty = default_credential_path()
  std::string ca_cert_file;               // https servers; empty = the system's CAs

  // Where progress and notes go: the output stream for tables, else the error stream.
  std::ostream& info() const { return format == OutputFormat::kTable ? io.out : io.err; }
  // Prints "error: <message>" (with the code for server-side errors); returns 1.
  int fail(const Error& error) const;
};

struct ApplyArgs {
  std::string file;  // "-" = standard input
  int replicas = -1;
  std::string node;
  bool wait = false;
  int timeout_s = 120;
};

struct DeleteArgs {
  std::string file;
  std::string manifest_id;
};

struct LoginArgs {
  std::string credential_file;  // what the mesh admin handed out (hex)
};

int apply_command(const Context& ctx, const ApplyArgs& args);
int delete_command(const Context& ctx, const DeleteArgs& args);
// `beemesh scale` is apply_command with the replica count given: a new owner-signed intent
// for the same content version. `rollout status` prints the desired state the mesh holds
// for the manifest in `file` (replicas, content version, whether it matches the file) and
// how many replicas discovery finds; exit 1 while fewer run than desired.
int rollout_status_command(const Context& ctx, const std::string& file);
int get_workloads_command(const Context& ctx);
int get_nodes_command(const Context& ctx);
int get_providers_command(const Context& ctx, const std::string& manifest_id);
int describe_workload_command(const Context& ctx, const std::string& workload_id);
int logs_command(const Context& ctx, const std::string& workload_id, int tail);
int version_command(const Context& ctx, bool client_only);
// Checks a credential file and stores it (0600) where every other command finds it.
int login_command(const Context& ctx, const LoginArgs& args);
// Prints the user's public key (creating the key on first use) and the stored credential.
int whoami_command(const Context& ctx);

}  // namespace beemesh::cli
