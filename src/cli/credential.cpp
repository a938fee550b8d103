#include "cli/credential.h"

#include <cctype>
#include <cstdlib>

#include "common/files.h"
#include "crypto/envelope.h"
#include "protocol/membership_records.h"
#include "protocol/messages.h"

namespace beemesh::cli {

namespace {

std::string_view trimmed(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

}  // namespace

Result<std::filesystem::path> default_credential_path() {
  if (const char* home = std::getenv("BEEMESH_HOME"); home != nullptr && *home != '\0') {
    return std::filesystem::path(home) / "credential";
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return std::filesystem::path(home) / ".beemesh" / "credential";
  }
  return make_error("no_home", "neither BEEMESH_HOME nor HOME is set");
}

Result<CredentialInfo> describe_credential(ByteView credential) {
  if (credential.size() > crypto::kMaxCredentialSize) {
    return make_error("bad_credential", "the credential is larger than " +
                                            std::to_string(crypto::kMaxCredentialSize) + " bytes");
  }
  auto decoded = protocol::decode_credential(credential, crypto::kMaxCredentialSize);
  if (!decoded) {
    return make_error("bad_credential", "not a beemesh credential: " + decoded.error().message);
  }
  auto opened = crypto::open_certificate(decoded->certificate);
  if (!opened) {
    return make_error("bad_credential",
                      "the credential's certificate does not open: " + opened.error().message);
  }
  const crypto::CertificateBody& body = opened->body;
  if (body.kind != crypto::CertKind::kUser) {
    return make_error("bad_credential", "the credential is a " +
                                            std::string(crypto::cert_kind_name(body.kind)) +
                                            " certificate, not a user's");
  }
  CredentialInfo info;
  info.kind = body.kind;
  info.role = body.role;
  info.name = body.name;
  info.namespaces = body.namespaces;
  info.mesh_id = body.mesh_id;
  info.subject = body.subject;
  info.issued_ms = body.issued_ms;
  info.expires_ms = body.expires_ms;
  return info;
}

Result<LoadedCredential> read_credential_file(const std::filesystem::path& file) {
  auto text = read_small_file(file, kMaxCredentialFileSize);
  if (!text) {
    if (text.error().code == "not_found") {
      return make_error("no_credential",
                        "no credential at " + file.string() +
                            ": ask the mesh admin for one for your key (`beemesh whoami` prints "
                            "it), then run `beemesh login --credential FILE`");
    }
    return text.error();
  }
  std::string hex(trimmed(*text));
  for (char& c : hex) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto bytes = from_hex(hex);
  if (!bytes || bytes->empty()) {
    return make_error("bad_credential",
                      file.string() +
                          ": expected the credential as hex (what `beemesh mesh user` "
                          "prints)");
  }
  auto info = describe_credential(*bytes);
  if (!info) return make_error(info.error().code, file.string() + ": " + info.error().message);
  return LoadedCredential{std::move(*bytes), std::move(hex), std::move(*info)};
}

Result<void> save_credential(const std::filesystem::path& file,
                             const LoadedCredential& credential) {
  return write_private_file(file, credential.hex + "\n");
}

Result<std::string> api_auth_token(const crypto::Identity& user, std::string_view method,
                                   std::string_view path, const std::string& node_public_key_hex,
                                   const Clock& clock) {
  auto key = from_hex(node_public_key_hex);
  if (!key || key->size() != crypto::PublicKey{}.size()) {
    return make_error("bad_response", "the node reported no valid public key");
  }
  protocol::ApiAuth auth;
  auth.method = std::string(method);
  auth.path = std::string(path);
  std::copy(key->begin(), key->end(), auth.audience_public_key.begin());
  return to_hex(crypto::sign_message(user, auth, clock));
}

api::RequestSigner request_signer(const crypto::Identity& user, std::string credential_hex,
                                  std::string node_public_key_hex, const Clock& clock) {
  return [&user, &clock, credential = std::move(credential_hex),
          node = std::move(node_public_key_hex)](
             std::string_view method, std::string_view path) -> Result<api::AuthHeaders> {
    auto token = api_auth_token(user, method, path, node, clock);
    if (!token) return token.error();
    return api::AuthHeaders{credential, std::move(*token)};
  };
}

}  // namespace beemesh::cli
