// cli/credential.h — the user's mesh credential on this machine and the per-request
// authentication the CLI sends with every API call except GET /health.
//
// Promise:
//  * default_credential_path() is $BEEMESH_HOME/credential, else $HOME/.beemesh/credential.
//  * A credential file holds the credential as hex (what `beemesh mesh user` prints);
//    surrounding whitespace is ignored. read_credential_file() refuses files over 64 KiB
//    ("too_large"), text that is not hex ("bad_credential") and credentials that do not
//    decode as a user certificate ("bad_credential", naming why); a missing file is
//    "no_credential" with a message saying how to get one.
//  * describe_credential() opens the certificate inside a credential (its shape and issuer
//    signature; membership itself is checked by the node) without trusting it.
//  * save_credential() writes the hex and a newline with mode 0600 (common/files.h).
//  * api_auth_token() = hex of an Envelope{ApiAuth{method, path, audience = node key}}
//    signed by `user` at clock.now_ms(): good for one request to that node, within the
//    node's timestamp window (30 s).
//  * request_signer() is the api::RequestSigner the CLI installs (ApiClient::set_signer):
//    the credential and a fresh api_auth_token for each request. Tests, benchmarks and
//    scripts that drive the API with ApiClient use it too.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "api/client.h"
#include "common/bytes.h"
#include "common/clock.h"
#include "common/result.h"
#include "crypto/identity.h"
#include "crypto/membership.h"

namespace beemesh::cli {

inline constexpr size_t kMaxCredentialFileSize = 64 * 1024;

Result<std::filesystem::path> default_credential_path();

struct CredentialInfo {
  crypto::CertKind kind = crypto::CertKind::kUser;
  crypto::Role role = crypto::Role::kNone;
  std::string name;
  std::vector<std::string> namespaces;  // empty = every namespace
  std::string mesh_id;
  crypto::PublicKey subject{};
  int64_t issued_ms = 0;
  int64_t expires_ms = 0;
};

Result<CredentialInfo> describe_credential(ByteView credential);

struct LoadedCredential {
  Bytes bytes;
  std::string hex;
  CredentialInfo info;
};
Result<LoadedCredential> read_credential_file(const std::filesystem::path& file);
Result<void> save_credential(const std::filesystem::path& file, const LoadedCredential& credential);

Result<std::string> api_auth_token(const crypto::Identity& user, std::string_view method,
                                   std::string_view path, const std::string& node_public_key_hex,
                                   const Clock& clock);

// `user` and `clock` must outlive the signer.
api::RequestSigner request_signer(const crypto::Identity& user, std::string credential_hex,
                                  std::string node_public_key_hex, const Clock& clock);

}  // namespace beemesh::cli
