#include "dht/dht.h"

#include <opendht/infohash.h>

#include <algorithm>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>

namespace beemesh::dht {

Key Key::of(std::string_view name) {
  auto hash = ::dht::InfoHash::get(reinterpret_cast<const uint8_t*>(name.data()), name.size());
  Key key;
  std::copy(hash.begin(), hash.end(), key.bytes.begin());
  return key;
}

std::string Key::to_hex() const {
  return beemesh::to_hex(bytes);
}

namespace {

// One result handed from a backend thread to a waiting caller; outlives whichever leaves last.
template <typename T>
struct Waiter {
  std::mutex mutex;
  std::condition_variable cv;
  std::optional<Result<T>> result;

  void set(Result<T> r) {
    {
      std::lock_guard lock(mutex);
      if (result) return;
      result.emplace(std::move(r));
    }
    cv.notify_all();
  }
  Result<T> wait(std::chrono::milliseconds timeout, const std::string& what) {
    std::unique_lock lock(mutex);
    if (!cv.wait_for(lock, timeout, [&] { return result.has_value(); })) {
      return make_error("timeout",
                        what + ": no answer within " + std::to_string(timeout.count()) + " ms");
    }
    return std::move(*result);
  }
};

}  // namespace

Result<std::vector<Value>> Dht::get_blocking(const Key& key, std::chrono::milliseconds timeout) {
  auto waiter = std::make_shared<Waiter<std::vector<Value>>>();
  get(key, [waiter](Result<std::vector<Value>> r) { waiter->set(std::move(r)); });
  return waiter->wait(timeout, "dht get " + key.to_hex());
}

void Dht::get_ids(const Key& key, GetIdsCallback done) {
  get(key, [done = std::move(done)](Result<std::vector<Value>> found) {
    if (!found.ok()) {
      done(found.error());
      return;
    }
    std::vector<uint64_t> ids;
    ids.reserve(found->size());
    for (const auto& v : *found) ids.push_back(v.id);
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    done(std::move(ids));
  });
}

void Dht::get_value(const Key& key, uint64_t value_id, GetCallback done) {
  get(key, [done = std::move(done), value_id](Result<std::vector<Value>> found) {
    if (found.ok()) std::erase_if(*found, [&](const Value& v) { return v.id != value_id; });
    done(std::move(found));
  });
}

Result<std::vector<uint64_t>> Dht::get_ids_blocking(const Key& key,
                                                    std::chrono::milliseconds timeout) {
  auto waiter = std::make_shared<Waiter<std::vector<uint64_t>>>();
  get_ids(key, [waiter](Result<std::vector<uint64_t>> r) { waiter->set(std::move(r)); });
  return waiter->wait(timeout, "dht get_ids " + key.to_hex());
}

Result<void> Dht::put_blocking(const Key& key, Value value, std::chrono::milliseconds timeout) {
  auto waiter = std::make_shared<Waiter<bool>>();
  put(key, std::move(value), [waiter](Result<void> r) {
    if (r.ok()) {
      waiter->set(true);
    } else {
      waiter->set(r.error());
    }
  });
  auto r = waiter->wait(timeout, "dht put " + key.to_hex());
  if (!r.ok()) return r.error();
  return ok_result();
}

}  // namespace beemesh::dht
