// kube/tls_cert.h — the proxy's own TLS certificate on 127.0.0.1.
//
// kubectl sends no credentials (bearer token, client certificate) over plain HTTP, so the
// proxy serves HTTPS with a self-signed certificate the kubeconfig pins
// (certificate-authority-data), and kubectl authenticates with the bearer token.
//
// Promise:
//  * load_or_create_certificate(dir) returns <dir>/kube-proxy.crt and kube-proxy.key (PEM),
//    creating them on first use: an ECDSA P-256 key (file mode 0600) and a self-signed
//    X.509 v3 certificate for DNS:localhost, IP:127.0.0.1 and IP:::1, CA:TRUE, valid 10
//    years. Existing files are reused as they are.
//  * Errors: "io_error" (files), "tls_failed" (OpenSSL).
#pragma once

#include <filesystem>
#include <string>

#include "common/result.h"

namespace beemesh::kube {

struct CertificateFiles {
  std::filesystem::path cert;
  std::filesystem::path key;
  std::string cert_pem;
};

Result<CertificateFiles> load_or_create_certificate(const std::filesystem::path& dir);

}  // namespace beemesh::kube
