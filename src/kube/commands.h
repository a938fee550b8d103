// kube/commands.h — `beemesh kube-proxy` and `beemesh kubeconfig`.
//
// Promise:
//  * kube-proxy [--port 8001] [--server URL] [--identity F] [--credential-file F]
//    [--token-file F] [--state-dir D] [--port-file F]: opens the user's key and credential
//    like every CLI command (no_credential before anything listens), then serves the
//    Kubernetes API subset on 127.0.0.1:PORT until SIGINT/SIGTERM. The bearer token is
//    read from --token-file (default <home>/kube-proxy.token, <home> = $BEEMESH_HOME or
//    ~/.beemesh), created on first use (32 random bytes, hex, mode 0600). Applied objects
//    are kept under --state-dir (default <home>/kube). --port 0 takes a free port;
//    --port-file writes the bound port there once listening.
//  * kubeconfig [--port 8001] [--token-file F] [--file F]: writes (mode 0600) a kubeconfig
//    with cluster/user/context "beemesh" pointing at https://127.0.0.1:PORT with the token
//    (creating the token file when missing), default file <home>/kubeconfig, and prints
//    `export KUBECONFIG=<file>`.
//  * Both use the proxy's TLS certificate <home>/kube-proxy.crt|key (kube/tls_cert.h),
//    created on first use; the kubeconfig pins it (certificate-authority-data).
#pragma once

#include <vector>

#include "cli/cli.h"

namespace beemesh::kube {

std::vector<cli::ExtraCommand> kube_commands();

}  // namespace beemesh::kube
