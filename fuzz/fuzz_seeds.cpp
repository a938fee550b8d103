// fuzz_seeds: writes a starting corpus for the fuzz targets (one valid example of every
// message and record, in the framing each target expects) into <out>/<target>/.
// Usage: fuzz_seeds <out-dir>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "crypto/envelope.h"
#include "crypto/grants.h"
#include "crypto/membership.h"
#include "crypto/records.h"
#include "fuzz_util.h"
#include "protocol/samples.h"

namespace {

using namespace beemesh;  // NOLINT
namespace fs = std::filesystem;
namespace samples = protocol::samples;

void write(const fs::path& dir, const std::string& name, uint8_t selector, const Bytes& body,
           int extra = -1) {
  fs::create_directories(dir);
  std::ofstream out(dir / name, std::ios::binary);
  out.put(static_cast<char>(selector));
  if (extra >= 0) out.put(static_cast<char>(extra));
  out.write(reinterpret_cast<const char*>(body.data()), static_cast<std::streamsize>(body.size()));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const fs::path out = argv[1];
  ManualClock clock(1'700'000'000'000);
  const auto& id = fuzz::fixed_identity();

  // fuzz_messages: selector = payload type - 1; fuzz_envelope signs them as that type.
  const Bytes messages[] = {protocol::encode(samples::apply_request()),
                            protocol::encode(samples::apply_response()),
                            protocol::encode(samples::delete_request()),
                            protocol::encode(samples::delete_response()),
                            protocol::encode(samples::key_share_request()),
                            protocol::encode(samples::key_share_response()),
                            protocol::encode(samples::store_share_request()),
                            protocol::encode(samples::store_share_response()),
                            protocol::encode(samples::capacity_request()),
                            protocol::encode(samples::capacity_reply()),
                            protocol::encode(samples::error_reply()),
                            protocol::encode(samples::query_request()),
                            protocol::encode(samples::query_reply())};
  static_assert(std::size(messages) == 13);
  for (uint8_t i = 0; i < std::size(messages); ++i) {
    write(out / "messages", "m" + std::to_string(i), i, messages[i]);
    // fuzz_envelope mode 0: a signed envelope; mode 1: a payload to sign as type i+1.
    auto type = static_cast<protocol::PayloadType>(i + 1);
    write(out / "envelope", "wire" + std::to_string(i), 0,
          crypto::sign_envelope(id, type, messages[i], clock));
    write(out / "envelope", "payload" + std::to_string(i), 1, messages[i], i);
  }

  // fuzz_records: selectors as in fuzz_records.cpp.
  auto provider = samples::provider_record(id.public_key(), id.node_id());
  auto peer = samples::peer_record(id.public_key(), id.node_id());
  auto applied = samples::applied_manifest(id.public_key());
  write(out / "records", "signed_record", 0,
        protocol::encode_signed_record(samples::signed_record()));
  write(out / "records", "provider", 1, crypto::sign_provider_record(id, provider));
  write(out / "records", "provider_body", 2, protocol::encode_provider_record(provider));
  write(out / "records", "peer", 3, crypto::sign_peer_record(id, peer));
  write(out / "records", "peer_body", 4, protocol::encode_peer_record(peer));
  write(out / "records", "applied", 5, crypto::sign_applied_manifest(id, applied));
  write(out / "records", "applied_body", 6, protocol::encode_applied_manifest(applied));
  write(out / "records", "grant", 7,
        crypto::issue_grant(id, protocol::GrantAction::kKeyShare, "m",
                            fuzz::fixed_identity(1).public_key(), clock.now_ms(),
                            clock.now_ms() + 1000));
  write(out / "records", "grant_body", 8, protocol::encode_grant(samples::grant()));
  write(out / "records", "sealed", 9, crypto::seal_to(id.x25519_public_key(), Bytes(34, 1)), 1);
  write(out / "records", "shares", 10, Bytes(1 + 3 * 33, 2));
  auto cert = samples::certificate(id.public_key());
  cert.mesh_id = "m";  // the mesh fuzz_records' Membership checks against
  crypto::CertificateBody body{.kind = crypto::CertKind::kUser,
                               .subject = fuzz::fixed_identity(1).public_key(),
                               .name = "u",
                               .role = crypto::Role::kViewer,
                               .mesh_id = "m",
                               .issued_ms = clock.now_ms(),
                               .expires_ms = clock.now_ms() + 60'000};
  write(out / "records", "certificate", 11, crypto::issue_certificate(id, body));
  write(out / "records", "certificate_body", 12, protocol::encode_certificate(cert));
  write(out / "records", "credential", 13,
        crypto::make_credential(crypto::issue_certificate(id, body)));
  write(out / "records", "revocations", 14,
        crypto::sign_revocations(id, {"m", 1, clock.now_ms(), {Bytes(16, 1)}, {}}));
  write(out / "records", "bodies", 15, protocol::encode_grant(samples::grant()));
  return 0;
}
