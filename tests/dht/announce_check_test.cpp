// skipped_nearer_nodes: which nodes an announcement skipped as expired, read from OpenDHT
// 2.4.12's dump of the search (dht/announce_check.h). The dumps are excerpts of real ones, from
// the 1,000-node mesh_scale_bench run of session 30 (docs/BENCHMARKS.md).
#include "dht/announce_check.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace beemesh::dht {
namespace {

using Addresses = std::vector<std::string>;

// The announcing node's search: its 3 nearest nodes expired, its value acknowledged by the
// next ones ('a'), one of which is expired too; the last rows neither.
constexpr const char* kSkippedNearest = R"(
Search IPv4 30f332f501924a6f96ce048c0a58adc0a2a0c704 gets: 0, last step: 1.5 min ago [synced]
Announcement: Value[id:612bf5e8d3e1aba6] [announced]
 Common bits    InfoHash                       Conn. Get   Ops  IP
  8 303752cbcd64a4639ff40995ccbd1c3f58d636ff   [ x] [- ]     127.0.0.1:52104
  7 31ec797dbaf82620bf8f9c185061015f65430cba   [ x] [- ] [e] 127.0.0.1:50548
  6 32ea4a150fba3623cc2066969216e39fd73c98c8   [ x] [- ]     127.0.0.1:33451
  5 347e05dd54cf89c3c4389fe4467999ce54e60d9c   [  ] [u ] [a] 127.0.0.1:48073
  5 34295edb390a7101885c4b804406377af4c874cd   [ x] [- ]     127.0.0.1:44778
  5 35fb276cbb8c4126225462234c73b9fa8e1298f9   [  ] [u ] [a] 127.0.0.1:43200
  5 37fcef796037ec03a21f0c2a9c39b0b4da773d5d * [  ] [u ] [a] 127.0.0.1:35956
  4 38c26754015bd68c68c3d5d1997d78498b9f1b86   [ x] [- ]     127.0.0.1:57159
  4 3861163bc203afdf1c34148a1a37996eb80a5bb0   [  ] [u ]     127.0.0.1:40970

Search IPv6 30f332f501924a6f96ce048c0a58adc0a2a0c704 gets: 0, last step: 4.81 min ago [expired] [not synced]
Announcement: Value[id:612bf5e8d3e1aba6]
 Common bits    InfoHash                       Conn. Get   Ops  IP
)";

TEST(SkippedNearerNodes, ExpiredNodesNearerThanTheFarthestAcknowledgementAreReturnedNearestFirst) {
  EXPECT_EQ(
      skipped_nearer_nodes(kSkippedNearest, 16),
      (Addresses{"127.0.0.1:52104", "127.0.0.1:50548", "127.0.0.1:33451", "127.0.0.1:44778"}));
}

TEST(SkippedNearerNodes, ExpiredNodesFartherThanEveryAcknowledgementAreNotReturned) {
  for (const auto& address : skipped_nearer_nodes(kSkippedNearest, 16)) {
    EXPECT_NE(address, "127.0.0.1:57159");
  }
}

TEST(SkippedNearerNodes, TheLimitCapsTheAddresses) {
  EXPECT_EQ(skipped_nearer_nodes(kSkippedNearest, 2),
            (Addresses{"127.0.0.1:52104", "127.0.0.1:50548"}));
}

TEST(SkippedNearerNodes, AnAnnouncementHeldByTheNearestNodesSkippedNone) {
  constexpr const char* kHealthy = R"(
Search IPv4 30f332f501924a6f96ce048c0a58adc0a2a0c704 gets: 0, last step: 10 s ago [synced]
Announcement: Value[id:612bf5e8d3e1aba6] [announced]
 Common bits    InfoHash                       Conn. Get   Ops  IP
  8 303752cbcd64a4639ff40995ccbd1c3f58d636ff   [  ] [u ] [a] 127.0.0.1:52104
  7 31ec797dbaf82620bf8f9c185061015f65430cba   [  ] [u ] [a] 127.0.0.1:50548
  5 34295edb390a7101885c4b804406377af4c874cd   [ x] [- ]     127.0.0.1:44778
)";
  EXPECT_TRUE(skipped_nearer_nodes(kHealthy, 16).empty());
}

TEST(SkippedNearerNodes, ASearchWithoutAnAnnouncementSkippedNone) {
  // A reader's search of the same key: expired rows, but nothing of its own announced there.
  constexpr const char* kReader = R"(
Search IPv4 30f332f501924a6f96ce048c0a58adc0a2a0c704 gets: 0, last step: 7.16 min ago [done] [synced]
 Common bits    InfoHash                       Conn. Get   Ops  IP
  8 303752cbcd64a4639ff40995ccbd1c3f58d636ff   [  ] [u ] 127.0.0.1:52104
  5 347e05dd54cf89c3c4389fe4467999ce54e60d9c   [ x] [- ] 127.0.0.1:48073
  5 34295edb390a7101885c4b804406377af4c874cd   [  ] [u ] 127.0.0.1:44778
)";
  EXPECT_TRUE(skipped_nearer_nodes(kReader, 16).empty());
}

TEST(SkippedNearerNodes, EachSearchIsReadOnItsOwn) {
  // An acknowledgement in the IPv6 search does not make the IPv4 search's expired rows
  // "nearer than an acknowledgement"; the 'a' in an IPv6 address is no acknowledgement.
  constexpr const char* kTwoFamilies = R"(
Search IPv4 30f332f501924a6f96ce048c0a58adc0a2a0c704 gets: 0, last step: 10 s ago [synced]
 Common bits    InfoHash                       Conn. Get   Ops  IP
  8 303752cbcd64a4639ff40995ccbd1c3f58d636ff   [ x] [- ]     127.0.0.1:52104
Search IPv6 30f332f501924a6f96ce048c0a58adc0a2a0c704 gets: 0, last step: 10 s ago [synced]
 Common bits    InfoHash                       Conn. Get   Ops  IP
  8 303752cbcd64a4639ff40995ccbd1c3f58d636ff   [2x] [- ]     [fd00::a]:4222
  7 31ec797dbaf82620bf8f9c185061015f65430cba   [  ] [u ] [a] [fd00::b]:4222
  6 32ea4a150fba3623cc2066969216e39fd73c98c8   [ x] [- ]     [fd00::a]:4223
)";
  EXPECT_EQ(skipped_nearer_nodes(kTwoFamilies, 16), (Addresses{"[fd00::a]:4222"}));
}

TEST(SkippedNearerNodes, TextThatIsNoSearchDumpGivesNone) {
  EXPECT_TRUE(skipped_nearer_nodes("", 16).empty());
  EXPECT_TRUE(skipped_nearer_nodes("Search\n  8 zz [ x] [a] 1.2.3.4:5\n[a]\n", 16).empty());
  EXPECT_TRUE(skipped_nearer_nodes("  8 303752cbcd64a4639ff40995ccbd1c3f58d636ff [", 16).empty());
}

}  // namespace
}  // namespace beemesh::dht
