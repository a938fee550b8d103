#include "protocol/membership_records.h"

#include "protocol/fb_util.h"
#include "protocol/membership_generated.h"

namespace beemesh::protocol {

namespace fbp = beemesh::protocol::fb;
using namespace detail;  // NOLINT(google-build-using-namespace): this folder's helpers

namespace {

bool printable_ascii(std::string_view s) {
  for (char c : s) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

// A required printable string of 1..max_length characters.
Result<std::string> bounded_text(const flatbuffers::String* s, size_t max_length,
                                 std::string_view what, std::string_view field) {
  if (!s || s->size() == 0) return malformed(what, std::string(field) + ": missing");
  if (s->size() > max_length) {
    return malformed(what, std::string(field) + ": " + std::to_string(s->size()) +
                               " characters exceeds " + std::to_string(max_length));
  }
  std::string out = str(s);
  if (!printable_ascii(out)) return malformed(what, std::string(field) + ": not printable ASCII");
  return out;
}

// Splits a concatenation of N-byte items; the length must be a multiple of N.
template <size_t N>
Result<std::vector<std::array<uint8_t, N>>> split_fixed(const flatbuffers::Vector<uint8_t>* v,
                                                        std::string_view what,
                                                        std::string_view field) {
  std::vector<std::array<uint8_t, N>> out;
  if (!v) return out;
  if (v->size() % N != 0) {
    return malformed(what, std::string(field) + ": " + std::to_string(v->size()) +
                               " bytes is not a multiple of " + std::to_string(N));
  }
  out.resize(v->size() / N);
  for (size_t i = 0; i < out.size(); ++i) std::memcpy(out[i].data(), v->data() + i * N, N);
  return out;
}

Bytes concat(const auto& items) {
  Bytes out;
  for (const auto& item : items) out.insert(out.end(), item.begin(), item.end());
  return out;
}

}  // namespace

Bytes encode_certificate(const Certificate& c) {
  flatbuffers::FlatBufferBuilder fbb(512);
  auto serial = make_bytes(fbb, c.serial);
  auto subject = make_bytes(fbb, c.subject_public_key);
  auto name = fbb.CreateString(c.name);
  auto namespaces = fbb.CreateVectorOfStrings(c.namespaces);
  auto mesh_id = fbb.CreateString(c.mesh_id);
  fbb.Finish(fbp::CreateCertificate(fbb, c.schema_version, static_cast<uint16_t>(c.kind), serial,
                                    subject, name, static_cast<uint16_t>(c.role), namespaces,
                                    mesh_id, c.issued_ms, c.expires_ms));
  return finish(fbb);
}

Result<Certificate> decode_certificate(ByteView bytes, size_t max_size) {
  constexpr std::string_view what = "certificate";
  Bytes storage;
  auto root = verify_root<fbp::Certificate>(bytes, max_size, what, storage);
  if (!root) return root.error();
  const auto* m = *root;
  if (auto v = check_version(m->schema_version(), what); !v) return v.error();
  Certificate out;
  out.schema_version = m->schema_version();
  if (m->kind() < static_cast<uint16_t>(CertKind::kNode) ||
      m->kind() > static_cast<uint16_t>(CertKind::kJoinTicket)) {
    return malformed(what, "kind: unknown value " + std::to_string(m->kind()));
  }
  out.kind = static_cast<CertKind>(m->kind());
  auto serial = fixed<kSerialSize>(m->serial(), what, "serial");
  if (!serial) return serial.error();
  out.serial = *serial;
  auto subject = fixed<32>(m->subject_public_key(), what, "subject_public_key");
  if (!subject) return subject.error();
  out.subject_public_key = *subject;
  auto name = bounded_text(m->name(), kMaxCertificateNameLength, what, "name");
  if (!name) return name.error();
  out.name = std::move(*name);
  if (m->role() > static_cast<uint16_t>(Role::kAdmin)) {
    return malformed(what, "role: unknown value " + std::to_string(m->role()));
  }
  out.role = static_cast<Role>(m->role());
  if (const auto* namespaces = m->namespaces()) {
    if (namespaces->size() > kMaxCertificateNamespaces) {
      return malformed(what, "namespaces: " + std::to_string(namespaces->size()) +
                                 " entries exceeds " + std::to_string(kMaxCertificateNamespaces));
    }
    out.namespaces.reserve(namespaces->size());
    for (const auto* ns : *namespaces) {
      auto text = bounded_text(ns, kMaxNamespaceLength, what, "namespaces");
      if (!text) return text.error();
      out.namespaces.push_back(std::move(*text));
    }
  }
  auto mesh_id = bounded_text(m->mesh_id(), kMaxMeshIdLength, what, "mesh_id");
  if (!mesh_id) return mesh_id.error();
  out.mesh_id = std::move(*mesh_id);
  out.issued_ms = m->issued_ms();
  out.expires_ms = m->expires_ms();
  return out;
}

Bytes encode_credential(const Credential& c) {
  flatbuffers::FlatBufferBuilder fbb(c.certificate.size() + c.ticket.size() + 64);
  auto certificate = make_bytes(fbb, c.certificate);
  auto ticket = c.ticket.empty() ? 0 : make_bytes(fbb, c.ticket);
  fbb.Finish(fbp::CreateCredential(fbb, c.schema_version, certificate, ticket));
  return finish(fbb);
}

Result<Credential> decode_credential(ByteView bytes, size_t max_size) {
  constexpr std::string_view what = "credential";
  Bytes storage;
  auto root = verify_root<fbp::Credential>(bytes, max_size, what, storage);
  if (!root) return root.error();
  const auto* m = *root;
  if (auto v = check_version(m->schema_version(), what); !v) return v.error();
  Credential out;
  out.schema_version = m->schema_version();
  if (!m->certificate() || m->certificate()->size() == 0) {
    return malformed(what, "certificate: missing");
  }
  out.certificate = bytes_of(m->certificate());
  out.ticket = bytes_of(m->ticket());
  return out;
}

Bytes encode_revocation_list(const RevocationList& r) {
  const size_t entries = r.serials.size() * kSerialSize + r.subject_keys.size() * 32;
  flatbuffers::FlatBufferBuilder fbb(entries + 128);
  auto mesh_id = fbb.CreateString(r.mesh_id);
  auto serials = make_bytes(fbb, concat(r.serials));
  auto keys = make_bytes(fbb, concat(r.subject_keys));
  fbb.Finish(fbp::CreateRevocationList(fbb, r.schema_version, mesh_id, r.sequence, r.issued_ms,
                                       serials, keys));
  return finish(fbb);
}

Result<RevocationList> decode_revocation_list(ByteView bytes, size_t max_size) {
  constexpr std::string_view what = "revocation list";
  Bytes storage;
  auto root = verify_root<fbp::RevocationList>(bytes, max_size, what, storage);
  if (!root) return root.error();
  const auto* m = *root;
  if (auto v = check_version(m->schema_version(), what); !v) return v.error();
  RevocationList out;
  out.schema_version = m->schema_version();
  auto mesh_id = bounded_text(m->mesh_id(), kMaxMeshIdLength, what, "mesh_id");
  if (!mesh_id) return mesh_id.error();
  out.mesh_id = std::move(*mesh_id);
  out.sequence = m->sequence();
  out.issued_ms = m->issued_ms();
  const size_t entries = (m->serials() ? m->serials()->size() / kSerialSize : 0) +
                         (m->subject_keys() ? m->subject_keys()->size() / 32 : 0);
  if (entries > kMaxRevocationEntries) {
    return malformed(what, std::to_string(entries) + " entries exceeds " +
                               std::to_string(kMaxRevocationEntries));
  }
  auto serials = split_fixed<kSerialSize>(m->serials(), what, "serials");
  if (!serials) return serials.error();
  out.serials = std::move(*serials);
  auto keys = split_fixed<32>(m->subject_keys(), what, "subject_keys");
  if (!keys) return keys.error();
  out.subject_keys = std::move(*keys);
  return out;
}

}  // namespace beemesh::protocol
