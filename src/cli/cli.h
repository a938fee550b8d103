// cli/cli.h — the client side of the `beemesh` binary.
//
// Usage (the binary's main, in src/app, adds the daemon as an extra command):
//   int main(int argc, char** argv) {
//     MachineOptions machine;
//     return beemesh::cli::run_cli(argc, argv, {{
//         .name = "machine", .description = "Run the beemesh daemon on this machine",
//         .setup = [&](CLI::App& cmd) { cmd.add_option("--config", machine.config); },
//         .run = [&] { return run_machine(machine); }}});
//   }
//
// Commands: apply -f FILE [--replicas N] [--node ID] [--wait] [--timeout S];
//   get workloads | get nodes | get providers MANIFEST_ID; describe workload ID;
//   logs ID [--tail N]; delete -f FILE | delete MANIFEST_ID; version [--client];
//   login --credential FILE; whoami.
// Global options (before or after the command): --server URL (env BEEMESH_SERVER, default
//   http://127.0.0.1:7480), -o table|json|yaml, --identity KEY_FILE (default
//   $BEEMESH_HOME/user.key or ~/.beemesh/user.key, created on first use with mode 0600),
//   --credential-file FILE (env BEEMESH_CREDENTIAL, default $BEEMESH_HOME/credential or
//   ~/.beemesh/credential), --ca-cert PEM (env BEEMESH_CA_CERT; for https:// servers).
//
// Promise:
//  * Exit status 0 on success, 1 when the command failed (one line "error: ..." on the
//    error stream, e.g. "error: cannot reach beemesh node at http://127.0.0.1:7480:
//    connection refused"), 2 for a usage error (unknown command, missing argument).
//  * Tables go to the output stream; with -o json|yaml the output stream holds exactly one
//    JSON/YAML document and progress lines go to the error stream.
//  * A manifest is parsed and validated locally before any network call.
//  * Every command that talks to a node except `version` needs the user's credential
//    (cli/credential.h): without one it fails with "no_credential" before any request.
//    Each request carries X-Beemesh-Credential and a fresh X-Beemesh-Auth signed by the
//    user's key for that method, path and node (the node's key comes from GET /health).
//  * Every string that came from a node (names, ids, messages, progress, logs) is printed
//    through printable()/printable_lines() (common/safe_text.h): terminal escapes and line
//    breaks in them never reach the output raw; JSON output escapes all non-ASCII.
//  * run_cli never throws.
#pragma once

#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "common/clock.h"

namespace CLI {
class App;
}

namespace beemesh::cli {

struct CliIo {
  std::ostream& out;
  std::ostream& err;
  const Clock& clock;  // for ages and grant/envelope timestamps
};

// A subcommand added by the caller (the daemon's `machine`). `setup` adds its options to
// the CLI11 subcommand; `run` is called (and its value returned) when it was chosen.
struct ExtraCommand {
  std::string name;
  std::string description;
  std::function<void(CLI::App& command)> setup;
  std::function<int()> run;
};

int run_cli(int argc, const char* const* argv, const std::vector<ExtraCommand>& extra = {});
int run_cli(int argc, const char* const* argv, const CliIo& io,
            const std::vector<ExtraCommand>& extra = {});

}  // namespace beemesh::cli
