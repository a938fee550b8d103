#include <gtest/gtest.h>

#include <set>

#include "manifest/manifest.h"
#include "manifest/samples.h"

namespace beemesh::manifest {
namespace {

TEST(ManifestId, IsThirtyTwoLowercaseHexCharacters) {
  std::string id = manifest_id("owner", "default", "Pod", "web");
  ASSERT_EQ(id.size(), 32u);
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);
}

TEST(ManifestId, IsStableForTheSameInputs) {
  EXPECT_EQ(manifest_id("owner", "default", "Pod", "web"),
            manifest_id("owner", "default", "Pod", "web"));
}

TEST(ManifestId, MatchesTheDocumentedFormula) {
  // sha256(u64be(5) "owner" u64be(7) "default" u64be(3) "Pod" u64be(3) "web")[0:32],
  // computed independently with: python3 -c 'import hashlib,struct; p=lambda s:
  // struct.pack(">Q",len(s))+s; print(hashlib.sha256(p(b"owner")+p(b"default")+p(b"Pod")+
  // p(b"web")).hexdigest()[:32])'
  EXPECT_EQ(manifest_id("owner", "default", "Pod", "web"), "d8af4e40cf8d6af3557f15d31d09b7ac");
}

TEST(ManifestId, DiffersWhenOwnerDiffers) {
  EXPECT_NE(manifest_id("alice", "default", "Pod", "web"),
            manifest_id("bob", "default", "Pod", "web"));
}

TEST(ManifestId, DiffersWhenNamespaceDiffers) {
  EXPECT_NE(manifest_id("owner", "default", "Pod", "web"),
            manifest_id("owner", "shop", "Pod", "web"));
}

TEST(ManifestId, DiffersWhenKindDiffers) {
  EXPECT_NE(manifest_id("owner", "default", "Pod", "web"),
            manifest_id("owner", "default", "Deployment", "web"));
}

TEST(ManifestId, DiffersWhenNameDiffers) {
  EXPECT_NE(manifest_id("owner", "default", "Pod", "web"),
            manifest_id("owner", "default", "Pod", "api"));
}

TEST(ManifestId, LengthPrefixesKeepShiftedBoundariesApart) {
  EXPECT_NE(manifest_id("ab", "c", "Pod", "web"), manifest_id("a", "bc", "Pod", "web"));
  EXPECT_NE(manifest_id("owner", "default", "Pod", "web"),
            manifest_id("owner", "defaultPod", "", "web"));
}

TEST(ManifestId, OfManifestUsesItsPrimaryDocument) {
  auto m = parse(samples::kConfigMap + "---\n" + samples::kDeployment + "---\n" + samples::kPod);
  ASSERT_TRUE(m.ok());
  auto id = manifest_id("owner", *m);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, manifest_id("owner", "shop", "Deployment", "api"));
}

TEST(ManifestId, OfManifestIsUnaffectedByFormatting) {
  auto a = parse(samples::kPod);
  auto b = parse(
      "{apiVersion: v1, kind: Pod, metadata: {name: web}, spec: {containers: "
      "[{name: x, image: y}]}}");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*manifest_id("k", *a), *manifest_id("k", *b));
}

TEST(ManifestId, OfManifestWithoutWorkloadIsAnError) {
  auto m = parse(samples::kSecret, "secret.yaml");
  ASSERT_TRUE(m.ok());
  auto id = manifest_id("owner", *m);
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.error().code, "invalid_manifest");
  EXPECT_EQ(id.error().message, "secret.yaml: no Pod, Deployment or StatefulSet document");
}

}  // namespace
}  // namespace beemesh::manifest
