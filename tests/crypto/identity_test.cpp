// Identity: key generation, key files, node ids, signatures, sealed boxes.
#include "crypto/identity.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace beemesh::crypto {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "beemesh-identity-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0);
  return st.st_mode & 07777;
}

TEST(Identity, SignatureFromIdentityVerifiesWithItsPublicKey) {
  auto id = Identity::generate();
  auto msg = as_bytes("hello");
  EXPECT_TRUE(verify_signature(id.public_key(), msg, id.sign(msg)));
}

TEST(Identity, SignatureDoesNotVerifyForOtherMessageOrKey) {
  auto a = Identity::generate();
  auto b = Identity::generate();
  auto sig = a.sign(as_bytes("hello"));
  EXPECT_FALSE(verify_signature(a.public_key(), as_bytes("hellp"), sig));
  EXPECT_FALSE(verify_signature(b.public_key(), as_bytes("hello"), sig));
}

TEST(Identity, SameSeedGivesSameKeys) {
  Seed seed{};
  seed.fill(7);
  auto a = Identity::from_seed(seed);
  auto b = Identity::from_seed(seed);
  EXPECT_EQ(a.public_key(), b.public_key());
  EXPECT_EQ(a.x25519_public_key(), b.x25519_public_key());
  EXPECT_EQ(a.node_id(), b.node_id());
}

TEST(Identity, NodeIdIsPrintableStableAndValid) {
  Seed seed{};
  auto id = Identity::from_seed(seed);
  std::string nid = id.node_id();
  EXPECT_EQ(nid.size(), 34u);
  EXPECT_EQ(nid.substr(0, 2), "bm");
  EXPECT_TRUE(is_valid_node_id(nid));
  EXPECT_EQ(nid, node_id_of(id.public_key()));
  EXPECT_NE(nid, Identity::generate().node_id());
}

TEST(Identity, IsValidNodeIdRejectsOtherShapes) {
  EXPECT_FALSE(is_valid_node_id(""));
  EXPECT_FALSE(is_valid_node_id("bm"));
  EXPECT_FALSE(is_valid_node_id("xx" + std::string(32, 'a')));
  EXPECT_FALSE(is_valid_node_id("bm" + std::string(32, '1')));
  EXPECT_FALSE(is_valid_node_id("bm" + std::string(31, 'a')));
}

TEST(Identity, X25519KeyIsDerivedFromTheEd25519Key) {
  auto id = Identity::generate();
  auto derived = x25519_of(id.public_key());
  ASSERT_TRUE(derived.ok());
  EXPECT_EQ(*derived, id.x25519_public_key());
}

TEST(Identity, SealedBoxOpensOnlyForItsRecipient) {
  auto a = Identity::generate();
  auto b = Identity::generate();
  Bytes sealed = seal_to(a.x25519_public_key(), as_bytes("secret share"));
  auto opened = a.open_sealed(sealed);
  ASSERT_TRUE(opened.ok()) << opened.error().to_string();
  EXPECT_EQ(as_string(*opened), "secret share");
  auto wrong = b.open_sealed(sealed);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, "bad_sealed_box");
}

TEST(Identity, TamperedSealedBoxIsRejected) {
  auto a = Identity::generate();
  Bytes sealed = seal_to(a.x25519_public_key(), as_bytes("secret share"));
  sealed.back() ^= 1;
  EXPECT_EQ(a.open_sealed(sealed).error().code, "bad_sealed_box");
  EXPECT_EQ(a.open_sealed(Bytes(10)).error().code, "bad_sealed_box");
}

TEST(Identity, MovedIdentityKeepsWorking) {
  auto a = Identity::generate();
  auto key = a.public_key();
  Identity b = std::move(a);
  EXPECT_EQ(b.public_key(), key);
  EXPECT_TRUE(verify_signature(key, as_bytes("m"), b.sign(as_bytes("m"))));
}

TEST(KeyFile, CreatedOnFirstUseWithMode0600InPrivateDirectory) {
  TempDir dir;
  auto file = dir.path() / "data" / "keys" / "node.key";
  auto id = Identity::load_or_create(file);
  ASSERT_TRUE(id.ok()) << id.error().to_string();
  EXPECT_EQ(mode_of(file), 0600u);
  EXPECT_EQ(mode_of(dir.path() / "data"), 0700u);
  EXPECT_EQ(mode_of(dir.path() / "data" / "keys"), 0700u);
  // No temporary files are left behind.
  int entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(file.parent_path())) ++entries;
  EXPECT_EQ(entries, 1);
}

TEST(KeyFile, SecondLoadGivesTheSameIdentity) {
  TempDir dir;
  auto file = dir.path() / "node.key";
  auto first = Identity::load_or_create(file);
  auto second = Identity::load_or_create(file);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(first->public_key(), second->public_key());
  EXPECT_EQ(first->node_id(), second->node_id());
}

TEST(KeyFile, FileReadableByOthersIsRefusedNamingPathAndMode) {
  TempDir dir;
  auto file = dir.path() / "node.key";
  ASSERT_TRUE(Identity::load_or_create(file).ok());
  ASSERT_EQ(::chmod(file.c_str(), 0644), 0);
  auto id = Identity::load_or_create(file);
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.error().code, "insecure_key_file");
  EXPECT_NE(id.error().message.find(file.string()), std::string::npos);
  EXPECT_NE(id.error().message.find("0644"), std::string::npos);
}

TEST(KeyFile, FileWritableByGroupIsRefused) {
  TempDir dir;
  auto file = dir.path() / "node.key";
  ASSERT_TRUE(Identity::load_or_create(file).ok());
  ASSERT_EQ(::chmod(file.c_str(), 0620), 0);
  EXPECT_EQ(Identity::load_or_create(file).error().code, "insecure_key_file");
}

TEST(KeyFile, CorruptFileIsRefused) {
  TempDir dir;
  auto file = dir.path() / "node.key";
  {
    std::ofstream out(file);
    out << "not a key\n";
  }
  ASSERT_EQ(::chmod(file.c_str(), 0600), 0);
  EXPECT_EQ(Identity::load_or_create(file).error().code, "bad_key_file");
}

TEST(KeyFile, FileHoldsTheSeedUnderAVersionedHeader) {
  // The file holds the seed (hex) under a versioned header; it reloads to the same key.
  TempDir dir;
  auto file = dir.path() / "node.key";
  auto id = Identity::load_or_create(file);
  ASSERT_TRUE(id.ok());
  std::ifstream in(file);
  std::string header;
  std::getline(in, header);
  EXPECT_EQ(header, "beemesh-ed25519-seed-v1");
}

}  // namespace
}  // namespace beemesh::crypto
