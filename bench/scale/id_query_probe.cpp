// id_query_probe — does OpenDHT's id query (`DhtRunner::query` with `Select().field(Id)`) list
// every value a get on the same key finds? (issue 16; docs/notes/dht.md "The id query keeps
// one answer")
//
//   id_query_probe [nodes 40] [values 6]
//
// Starts `nodes` plain OpenDHT runners on 127.0.0.1 (run it in its own network namespace:
// `unshare -n sh -c 'ip link set lo up && id_query_probe'`), puts `values` values with
// distinct ids on one key from different nodes, then from three nodes, four rounds 5 s apart,
// counts the ids an id query reports and the ids a get reports.
//
// OpenDHT 2.4.12 answers: the query keeps only the ids of the first answer it receives. Its
// duplicate filter (`Dht::query`) drops every later answer whose fields are
// `FieldValueIndex::containedIn` an earlier one, and containedIn compares the field names,
// never their values (src/value.cpp), so {Id: 7} counts as contained in {Id: 3}.
//
// beemesh's own binaries replace that function (dht/opendht_query_fix.h). This probe links
// OpenDHT alone, so it shows the library's own behaviour.
#include <opendht.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

constexpr dht::NetId kNetwork = 0x1d9e;

std::set<uint64_t> query_ids(dht::DhtRunner& node, const dht::InfoHash& key) {
  std::set<uint64_t> ids;
  std::promise<void> done;
  node.query(
      key,
      [&ids](const std::vector<std::shared_ptr<dht::FieldValueIndex>>& fields) {
        for (const auto& f : fields) ids.insert(f->index.at(dht::Value::Field::Id).getInt());
        return true;
      },
      [&done](bool) { done.set_value(); }, dht::Query(dht::Select().field(dht::Value::Field::Id)));
  done.get_future().wait_for(20s);
  return ids;
}

std::set<uint64_t> get_ids(dht::DhtRunner& node, const dht::InfoHash& key) {
  std::set<uint64_t> ids;
  std::promise<void> done;
  node.get(
      key,
      [&ids](const std::vector<std::shared_ptr<dht::Value>>& values) {
        for (const auto& v : values) ids.insert(v->id);
        return true;
      },
      [&done](bool) { done.set_value(); });
  done.get_future().wait_for(20s);
  return ids;
}

}  // namespace

int main(int argc, char** argv) {
  {  // the filter's comparison on its own: two values that differ only in their id
    dht::Value one(std::vector<uint8_t>{1});
    dht::Value two(std::vector<uint8_t>{2});
    one.id = 1;
    two.id = 2;
    const auto select = dht::Select().field(dht::Value::Field::Id);
    std::printf("FieldValueIndex{Id: 1}.containedIn(FieldValueIndex{Id: 2}) = %s\n",
                dht::FieldValueIndex(one, select).containedIn(dht::FieldValueIndex(two, select))
                    ? "true (the values are not compared)"
                    : "false");
  }
  const int n = argc > 1 ? std::max(4, std::atoi(argv[1])) : 40;
  const int values = argc > 2 ? std::max(2, std::atoi(argv[2])) : 6;
  std::vector<std::unique_ptr<dht::DhtRunner>> nodes;
  for (int i = 0; i < n; ++i) {
    auto runner = std::make_unique<dht::DhtRunner>();
    dht::DhtRunner::Config config;
    config.dht_config.node_config.network = kNetwork;
    config.threaded = true;
    runner->run(0, config);
    if (i > 0) runner->bootstrap("127.0.0.1", std::to_string(nodes[0]->getBoundPort()));
    nodes.push_back(std::move(runner));
    std::this_thread::sleep_for(50ms);
  }
  std::this_thread::sleep_for(10s);
  const auto key = dht::InfoHash::get("id-query-probe");
  for (int v = 0; v < values; ++v) {
    auto value = std::make_shared<dht::Value>(std::vector<uint8_t>(600, static_cast<uint8_t>(v)));
    value->id = 1000 + static_cast<dht::Value::Id>(v);
    std::promise<bool> stored;
    nodes[static_cast<size_t>((v * 7 + 3) % n)]->put(
        key, value, [&stored](bool ok) { stored.set_value(ok); }, dht::time_point::max(), true);
    std::printf("put value %d: %s\n", v, stored.get_future().get() ? "ok" : "failed");
  }
  std::this_thread::sleep_for(2s);
  int short_answers = 0;
  for (int round = 0; round < 4; ++round) {
    for (int from : {1, n / 2, n - 1}) {
      const auto by_query = query_ids(*nodes[static_cast<size_t>(from)], key);
      const auto by_get = get_ids(*nodes[static_cast<size_t>(from)], key);
      short_answers += by_query.size() < by_get.size() ? 1 : 0;
      std::printf("round %d from n%d: id query %zu ids, get %zu ids\n", round, from,
                  by_query.size(), by_get.size());
    }
    std::this_thread::sleep_for(5s);
  }
  std::printf("id query listed fewer ids than the get in %d of 12 reads\n", short_answers);
  for (auto& node : nodes) node->join();
  return 0;
}
