#include "dht/opendht_query_fix.h"

#include <opendht/value.h>

#include <vector>

#include "dht/opendht_interposer.h"

// The library's declaration (opendht/value.h), defined here with the values compared: the
// executable's definition takes precedence over libopendht.so's for every caller.
bool dht::FieldValueIndex::containedIn(const FieldValueIndex& other) const {
  if (index.size() > other.index.size()) return false;
  for (const auto& [field, value] : index) {
    auto theirs = other.index.find(field);
    if (theirs == other.index.end() || !(theirs->second == value)) return false;
  }
  return true;
}

namespace beemesh::dht {

bool opendht_query_filter_fixed() {
  ::dht::Value one(std::vector<uint8_t>{1});
  ::dht::Value two(std::vector<uint8_t>{2});
  one.id = 1;
  two.id = 2;
  const auto select = ::dht::Select().field(::dht::Value::Field::Id);
  if (::dht::FieldValueIndex(one, select).containedIn(::dht::FieldValueIndex(two, select))) {
    return false;
  }
  return binds_outside_libopendht("_ZNK3dht15FieldValueIndex11containedInERKS0_");
}

}  // namespace beemesh::dht
