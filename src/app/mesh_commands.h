// app/mesh_commands.h — `beemesh mesh init|admit|user|revoke`: the admin's commands.
//
// Promise: each subcommand works on the admin directory given by --dir (default
// $BEEMESH_HOME/mesh-admin, else ~/.beemesh/mesh-admin) through app/mesh_admin.h, prints
// its result on standard output (a join token, a credential, a revocation sequence) and
// exits 0, or prints "error: <code>: <message>" on standard error and exits 1.
// `mesh revoke --server URL` also posts the new list to that node, which spreads it.
#pragma once

#include <memory>

#include "cli/cli.h"

namespace beemesh::app {

// The returned command keeps its parsed flags in state it owns (shared by the lambdas).
cli::ExtraCommand mesh_command();

}  // namespace beemesh::app
