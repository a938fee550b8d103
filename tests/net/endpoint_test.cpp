#include "net/endpoint.h"

#include <gtest/gtest.h>

namespace beemesh::net {
namespace {

TEST(Endpoint, ParsesHostAndPort) {
  auto ep = parse_endpoint("127.0.0.1:7400");
  ASSERT_TRUE(ep.ok());
  EXPECT_EQ(ep->host, "127.0.0.1");
  EXPECT_EQ(ep->port, 7400);
}

TEST(Endpoint, ParsesBracketedIpv6) {
  auto ep = parse_endpoint("[::1]:7400");
  ASSERT_TRUE(ep.ok());
  EXPECT_EQ(ep->host, "::1");
  EXPECT_EQ(format_endpoint(ep->host, ep->port), "[::1]:7400");
}

TEST(Endpoint, RejectsMissingPort) {
  EXPECT_EQ(parse_endpoint("127.0.0.1").error().code, "invalid_endpoint");
  EXPECT_EQ(parse_endpoint("127.0.0.1:").error().code, "invalid_endpoint");
}

TEST(Endpoint, RejectsPortsOutOfRange) {
  EXPECT_FALSE(parse_endpoint("127.0.0.1:65536").ok());
  EXPECT_FALSE(parse_endpoint("127.0.0.1:-1").ok());
  EXPECT_FALSE(parse_endpoint("127.0.0.1:80x").ok());
}

TEST(Endpoint, AcceptsPortZeroOnlyForListening) {
  EXPECT_FALSE(parse_endpoint("127.0.0.1:0").ok());
  EXPECT_TRUE(parse_endpoint("127.0.0.1:0", /*allow_zero_port=*/true).ok());
}

TEST(Endpoint, RejectsUnbracketedIpv6) {
  EXPECT_EQ(parse_endpoint("::1:7400").error().code, "invalid_endpoint");
}

TEST(Endpoint, PinnedEndpointNamesThePeerExpectedThere) {
  auto ep = parse_endpoint(pinned_endpoint("bmabc234", "10.0.0.2:7400"));
  ASSERT_TRUE(ep.ok());
  EXPECT_EQ(ep->peer_id, "bmabc234");
  EXPECT_EQ(ep->host, "10.0.0.2");
  EXPECT_EQ(ep->port, 7400);
}

TEST(Endpoint, UnpinnedEndpointHasNoPeerId) {
  EXPECT_EQ(parse_endpoint("10.0.0.2:7400")->peer_id, "");
}

TEST(Endpoint, RejectsEmptyOrMalformedPeerIds) {
  EXPECT_EQ(parse_endpoint("@10.0.0.2:7400").error().code, "invalid_endpoint");
  EXPECT_EQ(parse_endpoint("a b@10.0.0.2:7400").error().code, "invalid_endpoint");
  EXPECT_EQ(parse_endpoint("a@b@10.0.0.2:7400").error().code, "invalid_endpoint");
  EXPECT_EQ(parse_endpoint(std::string(65, 'a') + "@10.0.0.2:7400").error().code,
            "invalid_endpoint");
}

}  // namespace
}  // namespace beemesh::net
