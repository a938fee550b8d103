// check_datagram(): the shape a DHT datagram must have before OpenDHT parses it.
#include "dht/datagram_guard.h"

#include <gtest/gtest.h>

#include <msgpack.hpp>

#include <string>
#include <vector>

namespace beemesh::dht {
namespace {

using Bytes = std::vector<uint8_t>;
using Packer = msgpack::packer<msgpack::sbuffer>;

// A message packed by `fill` (which packs one msgpack object).
template <typename Fill>
Bytes packed(Fill fill) {
  msgpack::sbuffer buffer;
  Packer pk(&buffer);
  fill(pk);
  return Bytes(buffer.data(), buffer.data() + buffer.size());
}

DatagramVerdict check(const Bytes& b) {
  return check_datagram(b.data(), b.size());
}

void pack_key(Packer& pk, std::string_view key) {
  pk.pack(key);
}

// {"y": "r", "t": 7, "r": {"id": <20 bytes>, <extra>}}: a reply's shape.
template <typename Extra>
Bytes reply_with(int extra_entries, Extra extra) {
  return packed([&](Packer& pk) {
    pk.pack_map(3);
    pack_key(pk, "y");
    pk.pack(std::string("r"));
    pack_key(pk, "t");
    pk.pack(7);
    pack_key(pk, "r");
    pk.pack_map(1 + extra_entries);
    pack_key(pk, "id");
    pk.pack_bin(20);
    pk.pack_bin_body(std::string(20, 'x').data(), 20);
    extra(pk);
  });
}

TEST(DatagramGuard, AReplyWithValueIdsPasses) {
  auto b = reply_with(1, [](Packer& pk) {
    pack_key(pk, "fileds");
    pk.pack_map(2);
    pack_key(pk, "f");
    pk.pack_array(1);
    pk.pack(0);
    pack_key(pk, "v");
    pk.pack_array(2);
    pk.pack(uint64_t{11});
    pk.pack(uint64_t{12});
  });
  EXPECT_EQ(check(b), DatagramVerdict::ok);
}

TEST(DatagramGuard, ARequestPasses) {
  auto b = packed([](Packer& pk) {
    pk.pack_map(4);
    pack_key(pk, "y");
    pk.pack(std::string("q"));
    pack_key(pk, "q");
    pk.pack(std::string("ping"));
    pack_key(pk, "t");
    pk.pack(1);
    pack_key(pk, "a");
    pk.pack_map(1);
    pack_key(pk, "id");
    pk.pack_bin(20);
    pk.pack_bin_body(std::string(20, 'y').data(), 20);
  });
  EXPECT_EQ(check(b), DatagramVerdict::ok);
}

TEST(DatagramGuard, AnErrorWithACodeAndABodyPasses) {
  auto b = packed([](Packer& pk) {
    pk.pack_map(3);
    pack_key(pk, "e");
    pk.pack_array(2);
    pk.pack(401);
    pk.pack(std::string("unauthorized"));
    pack_key(pk, "r");
    pk.pack_map(0);
    pack_key(pk, "t");
    pk.pack(3);
  });
  EXPECT_EQ(check(b), DatagramVerdict::ok);
}

TEST(DatagramGuard, PartialValueDataPasses) {
  auto b = packed([](Packer& pk) {
    pk.pack_map(3);
    pack_key(pk, "y");
    pk.pack(std::string("p"));
    pack_key(pk, "t");
    pk.pack(5);
    pack_key(pk, "p");
    pk.pack_map(1);
    pk.pack(0);
    pk.pack_map(2);
    pack_key(pk, "o");
    pk.pack(0);
    pack_key(pk, "d");
    pk.pack_bin(3);
    pk.pack_bin_body("abc", 3);
  });
  EXPECT_EQ(check(b), DatagramVerdict::ok);
}

// {"r": {"fileds": {"f": [], "v": []}}}: 18 bytes that stopped OpenDHT 2.4.12 with SIGFPE.
// {"v": <bin>, "u": 5}: "v" is the user agent, not partial data; the body "u" is walked as a
// map (found by HostileDatagrams.AStormOfMalformedMessagesLeavesTheMeshServing: SIGSEGV).
TEST(DatagramGuard, AnUpdateWhoseBodyIsANumberIsRefused) {
  auto b = packed([](Packer& pk) {
    pk.pack_map(2);
    pack_key(pk, "v");
    pk.pack_bin(2);
    pk.pack_bin_body("ab", 2);
    pack_key(pk, "u");
    pk.pack(-641739);
  });
  EXPECT_EQ(check(b), DatagramVerdict::body_not_a_map);
}

TEST(DatagramGuard, AnEmptyFieldSelectionIsRefused) {
  const Bytes b = {0x81, 0xa1, 'r',  0x81, 0xa6, 'f',  'i',  'l', 'e',
                   'd',  's',  0x82, 0xa1, 'f',  0x90, 0xa1, 'v', 0x90};
  EXPECT_EQ(check(b), DatagramVerdict::empty_field_selection);
}

TEST(DatagramGuard, FieldsThatAreNotAMapAreRefused) {
  auto b = reply_with(1, [](Packer& pk) {
    pack_key(pk, "fileds");
    pk.pack_array(0);
  });
  EXPECT_EQ(check(b), DatagramVerdict::empty_field_selection);
}

// {"e": []}: 4 bytes that stopped OpenDHT 2.4.12 with SIGSEGV.
TEST(DatagramGuard, AnErrorWithoutACodeIsRefused) {
  const Bytes b = {0x81, 0xa1, 'e', 0x90};
  EXPECT_EQ(check(b), DatagramVerdict::error_without_code);
}

TEST(DatagramGuard, AnErrorAloneIsRefusedForItIsWalkedAsTheBody) {
  auto b = packed([](Packer& pk) {
    pk.pack_map(1);
    pack_key(pk, "e");
    pk.pack_array(1);
    pk.pack(1);
  });
  EXPECT_EQ(check(b), DatagramVerdict::body_not_a_map);
}

TEST(DatagramGuard, ABodyThatIsAStringIsRefused) {
  auto b = packed([](Packer& pk) {
    pk.pack_map(2);
    pack_key(pk, "q");
    pk.pack(std::string("ping"));
    pack_key(pk, "a");
    pk.pack(std::string(64, 'z'));
  });
  EXPECT_EQ(check(b), DatagramVerdict::body_not_a_map);
}

TEST(DatagramGuard, TheLastOfTwoEqualKeysCountsAsInOpenDht) {
  auto b = packed([](Packer& pk) {
    pk.pack_map(2);
    pack_key(pk, "a");
    pk.pack_map(0);
    pack_key(pk, "a");
    pk.pack_array(3);
    pk.pack(1);
    pk.pack(2);
    pk.pack(3);
  });
  EXPECT_EQ(check(b), DatagramVerdict::body_not_a_map);
}

TEST(DatagramGuard, AMessageWithoutABodyIsRefused) {
  auto b = packed([](Packer& pk) {
    pk.pack_map(1);
    pack_key(pk, "y");
    pk.pack(std::string("q"));
  });
  EXPECT_EQ(check(b), DatagramVerdict::no_body);
}

TEST(DatagramGuard, AMessageThatIsNotAMapIsRefused) {
  auto b = packed([](Packer& pk) { pk.pack(std::string("hello")); });
  EXPECT_EQ(check(b), DatagramVerdict::not_a_map);
}

TEST(DatagramGuard, BytesThatAreNotOneMsgpackObjectAreRefused) {
  EXPECT_EQ(check(Bytes{}), DatagramVerdict::not_msgpack);
  EXPECT_EQ(check(Bytes{0x82, 0xa1}), DatagramVerdict::not_msgpack) << "truncated";
  EXPECT_EQ(check(Bytes{0xc1}), DatagramVerdict::not_msgpack) << "reserved byte";
  auto b = packed([](Packer& pk) {
    pk.pack_map(1);
    pack_key(pk, "a");
    pk.pack_map(0);
  });
  b.push_back(0x00);
  EXPECT_EQ(check(b), DatagramVerdict::not_msgpack) << "a byte after the object";
}

// An array header claiming 2^32 - 1 elements in 5 bytes: refused before any allocation.
TEST(DatagramGuard, AContainerClaimingMoreElementsThanTheDatagramHasBytesIsRefused) {
  const Bytes b = {0xdd, 0xff, 0xff, 0xff, 0xff};
  EXPECT_EQ(check(b), DatagramVerdict::not_msgpack);
}

TEST(DatagramGuard, NestingDeeperThanTheLimitIsRefused) {
  Bytes b(kMaxDatagramDepth + 1, 0x91);  // [[[...]]]
  b.push_back(0x90);
  EXPECT_EQ(check(b), DatagramVerdict::too_deep);
}

TEST(DatagramGuard, EveryVerdictHasAStableName) {
  EXPECT_EQ(verdict_name(DatagramVerdict::ok), "ok");
  EXPECT_EQ(verdict_name(DatagramVerdict::empty_field_selection), "empty_field_selection");
  EXPECT_EQ(verdict_name(DatagramVerdict::body_not_a_map), "body_not_a_map");
}

}  // namespace
}  // namespace beemesh::dht
