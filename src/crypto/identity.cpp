#include "crypto/identity.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "common/fd.h"
#include "crypto/sodium_init.h"
#include "crypto/tls_identity.h"

namespace beemesh::crypto {

namespace {

constexpr std::string_view kKeyFileHeader = "beemesh-ed25519-seed-v1\n";
constexpr std::string_view kNodeIdDomain = "beemesh-node-id-v1";
constexpr std::string_view kNodeIdPrefix = "bm";
constexpr size_t kNodeIdHashBytes = 20;
constexpr size_t kNodeIdChars = 32;  // base32 of 20 bytes
constexpr char kBase32[] = "abcdefghijklmnopqrstuvwxyz234567";

std::string octal_mode(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

Error io_error(const std::filesystem::path& path, std::string_view action) {
  return make_error("io_error",
                    std::string(action) + " " + path.string() + ": " + std::strerror(errno));
}

// Wipes a std::string holding secret material when it goes out of scope.
struct WipeOnExit {
  std::string& s;
  ~WipeOnExit() {
    if (!s.empty()) sodium_memzero(s.data(), s.size());
  }
};

Result<void> make_private_dirs(const std::filesystem::path& dir) {
  if (dir.empty()) return ok_result();
  std::vector<std::filesystem::path> missing;
  for (auto p = dir; !p.empty(); p = p.parent_path()) {
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0) {
      if (!S_ISDIR(st.st_mode)) {
        return make_error("io_error", p.string() + " exists and is not a directory");
      }
      break;
    }
    missing.push_back(p);
    if (p == p.parent_path()) break;
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (::mkdir(it->c_str(), 0700) != 0 && errno != EEXIST) return io_error(*it, "mkdir");
  }
  return ok_result();
}

}  // namespace

struct Identity::Secrets {
  std::array<uint8_t, crypto_sign_SECRETKEYBYTES> ed25519_secret{};
  std::array<uint8_t, crypto_scalarmult_curve25519_BYTES> x25519_secret{};
  Secrets() = default;
  Secrets(const Secrets&) = delete;
  Secrets& operator=(const Secrets&) = delete;
  ~Secrets() {
    sodium_memzero(ed25519_secret.data(), ed25519_secret.size());
    sodium_memzero(x25519_secret.data(), x25519_secret.size());
  }
};

Identity::Identity(const Seed& seed) : secrets_(std::make_unique<Secrets>()) {
  detail::ensure_sodium();
  crypto_sign_seed_keypair(public_key_.data(), secrets_->ed25519_secret.data(), seed.data());
  crypto_sign_ed25519_sk_to_curve25519(secrets_->x25519_secret.data(),
                                       secrets_->ed25519_secret.data());
  crypto_scalarmult_curve25519_base(x25519_public_key_.data(), secrets_->x25519_secret.data());
}

Identity::Identity(Identity&&) noexcept = default;

EVP_PKEY* TlsKeyAccess::new_private_key(const Identity& identity) {
  // libsodium's secret key is seed || public key.
  return EVP_PKEY_new_raw_private_key(
      EVP_PKEY_ED25519, nullptr, identity.secrets_->ed25519_secret.data(), crypto_sign_SEEDBYTES);
}
Identity& Identity::operator=(Identity&&) noexcept = default;
Identity::~Identity() = default;

Identity Identity::generate() {
  detail::ensure_sodium();
  Seed seed{};
  randombytes_buf(seed.data(), seed.size());
  Identity id(seed);
  sodium_memzero(seed.data(), seed.size());
  return id;
}

Identity Identity::from_seed(const Seed& seed) {
  return Identity(seed);
}

Result<Identity> Identity::load_or_create(const std::filesystem::path& key_file) {
  detail::ensure_sodium();
  const auto path = key_file;
  for (int attempt = 0; attempt < 2; ++attempt) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (fd.get() >= 0) {
      struct stat st {};
      if (::fstat(fd.get(), &st) != 0) return io_error(path, "stat");
      if (!S_ISREG(st.st_mode)) {
        return make_error("bad_key_file", path.string() + ": not a regular file");
      }
      if ((st.st_mode & 077) != 0) {
        return make_error("insecure_key_file",
                          path.string() + ": mode " + octal_mode(st.st_mode) +
                              " gives group/others access; it must be 0600 or stricter");
      }
      std::string content(256, '\0');
      WipeOnExit wipe_content{content};
      ssize_t n = ::read(fd.get(), content.data(), content.size());
      if (n < 0) return io_error(path, "read");
      content.resize(static_cast<size_t>(n));
      std::string_view view(content);
      if (!view.starts_with(kKeyFileHeader)) {
        return make_error("bad_key_file", path.string() + ": missing header '" +
                                              std::string(kKeyFileHeader.substr(0, 23)) + "'");
      }
      view.remove_prefix(kKeyFileHeader.size());
      while (!view.empty() && (view.back() == '\n' || view.back() == '\r')) view.remove_suffix(1);
      auto seed_bytes = from_hex(view);
      if (!seed_bytes || seed_bytes->size() != sizeof(Seed)) {
        if (seed_bytes) sodium_memzero(seed_bytes->data(), seed_bytes->size());
        return make_error("bad_key_file",
                          path.string() + ": expected 64 hex characters after the header");
      }
      Seed seed{};
      std::memcpy(seed.data(), seed_bytes->data(), seed.size());
      sodium_memzero(seed_bytes->data(), seed_bytes->size());
      Identity id(seed);
      sodium_memzero(seed.data(), seed.size());
      return id;
    }
    if (errno != ENOENT) {
      if (errno == ELOOP) return make_error("bad_key_file", path.string() + ": is a symlink");
      return io_error(path, "open");
    }
    if (attempt > 0) break;

    // Create: write a temporary file (0600) next to the target, then link() it into place.
    if (auto dirs = make_private_dirs(path.parent_path()); !dirs) return dirs.error();
    Seed seed{};
    randombytes_buf(seed.data(), seed.size());
    std::string content = std::string(kKeyFileHeader) + to_hex(seed) + "\n";
    WipeOnExit wipe_content{content};
    std::string tmp_name = path.string() + ".tmp-XXXXXX";
    Fd tmp(::mkstemp(tmp_name.data()));
    if (tmp.get() < 0) return io_error(tmp_name, "create");
    const std::filesystem::path tmp_path = tmp_name;
    auto cleanup = [&] { ::unlink(tmp_path.c_str()); };
    if (::fchmod(tmp.get(), 0600) != 0 ||
        ::write(tmp.get(), content.data(), content.size()) !=
            static_cast<ssize_t>(content.size()) ||
        ::fsync(tmp.get()) != 0) {
      auto err = io_error(tmp_path, "write");
      cleanup();
      return err;
    }
    ::close(tmp.release());
    int linked = ::link(tmp_path.c_str(), path.c_str());
    int link_errno = errno;
    cleanup();
    if (linked != 0 && link_errno != EEXIST) {
      errno = link_errno;
      return io_error(path, "link");
    }
    if (linked == 0) {
      auto dir = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
      Fd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (dfd.get() >= 0) ::fsync(dfd.get());
      Identity id(seed);
      sodium_memzero(seed.data(), seed.size());
      return id;
    }
    // Another process created the file first: load theirs.
    sodium_memzero(seed.data(), seed.size());
  }
  return make_error("io_error", path.string() + ": could not be created or loaded");
}

std::string Identity::node_id() const {
  return node_id_of(public_key_);
}

Signature Identity::sign(ByteView message) const {
  Signature sig{};
  crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(),
                       secrets_->ed25519_secret.data());
  return sig;
}

Result<Bytes> Identity::open_sealed(ByteView sealed) const {
  if (sealed.size() < crypto_box_SEALBYTES) {
    return make_error("bad_sealed_box", "sealed box of " + std::to_string(sealed.size()) +
                                            " bytes is shorter than its " +
                                            std::to_string(crypto_box_SEALBYTES) +
                                            "-byte overhead");
  }
  Bytes plain(sealed.size() - crypto_box_SEALBYTES);
  if (crypto_box_seal_open(plain.data(), sealed.data(), sealed.size(), x25519_public_key_.data(),
                           secrets_->x25519_secret.data()) != 0) {
    return make_error("bad_sealed_box",
                      "sealed box was not addressed to node " + node_id() + " or was altered");
  }
  return plain;
}

Result<BoxKey> Identity::box_key_with(const X25519PublicKey& peer) const {
  BoxKey key;
  if (crypto_box_beforenm(key.bytes.data(), peer.data(), secrets_->x25519_secret.data()) != 0) {
    return make_error("bad_public_key", "no box key with a low-order X25519 key");
  }
  return key;
}

BoxKey::BoxKey(BoxKey&& other) noexcept : bytes(other.bytes) {
  sodium_memzero(other.bytes.data(), other.bytes.size());
}

BoxKey& BoxKey::operator=(BoxKey&& other) noexcept {
  if (this != &other) {
    bytes = other.bytes;
    sodium_memzero(other.bytes.data(), other.bytes.size());
  }
  return *this;
}

BoxKey::~BoxKey() {
  sodium_memzero(bytes.data(), bytes.size());
}

bool verify_signature(const PublicKey& key, ByteView message, const Signature& sig) {
  detail::ensure_sodium();
  return crypto_sign_verify_detached(sig.data(), message.data(), message.size(), key.data()) == 0;
}

std::string node_id_of(const PublicKey& key) {
  detail::ensure_sodium();
  std::array<uint8_t, kNodeIdHashBytes> hash{};
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, hash.size());
  crypto_generichash_update(&st, reinterpret_cast<const uint8_t*>(kNodeIdDomain.data()),
                            kNodeIdDomain.size());
  crypto_generichash_update(&st, key.data(), key.size());
  crypto_generichash_final(&st, hash.data(), hash.size());
  std::string out(kNodeIdPrefix);
  out.reserve(kNodeIdPrefix.size() + kNodeIdChars);
  // 20 bytes = 160 bits = exactly 32 groups of 5 bits.
  uint64_t buffer = 0;
  int bits = 0;
  for (uint8_t b : hash) {
    buffer = (buffer << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out.push_back(kBase32[(buffer >> (bits - 5)) & 31]);
      bits -= 5;
    }
  }
  return out;
}

bool is_valid_node_id(std::string_view id) {
  if (id.size() != kNodeIdPrefix.size() + kNodeIdChars || !id.starts_with(kNodeIdPrefix)) {
    return false;
  }
  for (char c : id.substr(kNodeIdPrefix.size())) {
    if (!((c >= 'a' && c <= 'z') || (c >= '2' && c <= '7'))) return false;
  }
  return true;
}

Result<X25519PublicKey> x25519_of(const PublicKey& key) {
  detail::ensure_sodium();
  X25519PublicKey out{};
  if (crypto_sign_ed25519_pk_to_curve25519(out.data(), key.data()) != 0) {
    return make_error("bad_public_key", "public key " + to_hex(key) + " is not an Ed25519 point");
  }
  return out;
}

Bytes seal_to(const X25519PublicKey& recipient, ByteView plaintext) {
  detail::ensure_sodium();
  Bytes sealed(plaintext.size() + crypto_box_SEALBYTES);
  crypto_box_seal(sealed.data(), plaintext.data(), plaintext.size(), recipient.data());
  return sealed;
}

}  // namespace beemesh::crypto
