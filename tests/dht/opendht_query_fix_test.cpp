// OpenDHT's id queries report every answer in a process that links dht/opendht_query_fix.cpp
// (the library's FieldValueIndex::containedIn ignores values: docs/notes/dht.md).
#include "dht/opendht_query_fix.h"

#include <gtest/gtest.h>
#include <opendht.h>

#include <chrono>
#include <future>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace beemesh::dht {
namespace {

using namespace std::chrono_literals;

TEST(OpenDhtQueryFix, TheLibrarysQueryFilterBindsTheDefinitionThatComparesValues) {
  EXPECT_TRUE(opendht_query_filter_fixed());
}

TEST(OpenDhtQueryFix, TwoIndexesThatDifferOnlyInTheirIdAreNotContainedInEachOther) {
  ::dht::Value one(std::vector<uint8_t>{1});
  ::dht::Value two(std::vector<uint8_t>{1});
  one.id = 1;
  two.id = 2;
  const auto select = ::dht::Select().field(::dht::Value::Field::Id);
  const ::dht::FieldValueIndex a(one, select), b(two, select), a_again(one, select);
  EXPECT_FALSE(a.containedIn(b));
  EXPECT_FALSE(b.containedIn(a));
  EXPECT_TRUE(a.containedIn(a_again));
}

// Values put from different nodes of a real mesh: an id query lists every id a get lists.
// With the library's own containedIn, 3 of 4 runs of this test failed (a read fell short).
TEST(OpenDhtQueryFix, AnIdQueryListsEveryIdAGetFinds) {
  constexpr size_t kNodes = 24;
  constexpr int kValues = 6;
  std::vector<std::unique_ptr<::dht::DhtRunner>> nodes;
  for (size_t i = 0; i < kNodes; ++i) {
    auto runner = std::make_unique<::dht::DhtRunner>();
    ::dht::DhtRunner::Config config;
    config.dht_config.node_config.network = 0x9f1c;
    config.threaded = true;
    runner->run(0, config);
    if (i > 0) runner->bootstrap("127.0.0.1", std::to_string(nodes[0]->getBoundPort()));
    nodes.push_back(std::move(runner));
  }
  std::this_thread::sleep_for(3s);
  const auto key = ::dht::InfoHash::get("opendht-query-fix-test");
  for (int v = 0; v < kValues; ++v) {
    auto value = std::make_shared<::dht::Value>(std::vector<uint8_t>(200, uint8_t(v)));
    value->id = 100 + static_cast<::dht::Value::Id>(v);
    std::promise<bool> stored;
    nodes[static_cast<size_t>(v * 5 + 1) % kNodes]->put(
        key, value, [&stored](bool ok) { stored.set_value(ok); }, ::dht::time_point::max(), true);
    auto done = stored.get_future();
    ASSERT_EQ(done.wait_for(30s), std::future_status::ready);
    ASSERT_TRUE(done.get()) << "put " << v;
  }
  for (size_t from : {size_t{0}, kNodes / 3, kNodes / 2, kNodes - 1}) {
    std::set<uint64_t> by_query, by_get;
    std::promise<void> query_done, get_done;
    nodes[from]->query(
        key,
        [&](const std::vector<std::shared_ptr<::dht::FieldValueIndex>>& fields) {
          for (const auto& f : fields)
            by_query.insert(f->index.at(::dht::Value::Field::Id).getInt());
          return true;
        },
        [&](bool) { query_done.set_value(); },
        ::dht::Query(::dht::Select().field(::dht::Value::Field::Id)));
    ASSERT_EQ(query_done.get_future().wait_for(30s), std::future_status::ready);
    nodes[from]->get(
        key,
        [&](const std::vector<std::shared_ptr<::dht::Value>>& values) {
          for (const auto& v : values) by_get.insert(v->id);
          return true;
        },
        [&](bool) { get_done.set_value(); });
    ASSERT_EQ(get_done.get_future().wait_for(30s), std::future_status::ready);
    EXPECT_EQ(by_get.size(), static_cast<size_t>(kValues)) << "from node " << from;
    for (uint64_t id : by_get)
      EXPECT_TRUE(by_query.count(id)) << "id " << id << " from node " << from;
  }
  for (auto& node : nodes) node->join();
}

}  // namespace
}  // namespace beemesh::dht
