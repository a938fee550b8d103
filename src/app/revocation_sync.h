// app/revocation_sync.h — keeps this node's revocation list current across the mesh.
//
// Promise:
//  * install(bytes) hands an admin-signed RevocationList to crypto::Membership; when it is
//    newer than the installed one it is kept in `file` (so a restart keeps it) and
//    published in the DHT under "beemesh:revocations" by this node too (refreshed until a
//    newer list replaces it; a list larger than a DHT value travels only by install()).
//    Errors are Membership::update_revocations's codes.
//  * start() loads `file` (when present) and then, every `poll` (10 s), fetches the DHT
//    key and installs the newest valid list found there; it also listens on the key. A
//    list published anywhere reaches every member within poll + one DHT round trip.
//  * Values that do not verify are ignored (counted in refused()). Thread-safe; the
//    destructor stops the timer and cancels the DHT listen and publication.
#pragma once

#include <asio.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>

#include "common/bytes.h"
#include "common/result.h"
#include "crypto/membership.h"
#include "dht/dht.h"

namespace beemesh::app {

inline constexpr std::string_view kRevocationsKey = "beemesh:revocations";

class RevocationSync {
 public:
  RevocationSync(crypto::Membership& membership, dht::Dht& dht, std::filesystem::path file,
                 asio::any_io_executor executor,
                 std::chrono::milliseconds poll = std::chrono::seconds(10));
  ~RevocationSync();
  RevocationSync(const RevocationSync&) = delete;
  RevocationSync& operator=(const RevocationSync&) = delete;

  void start();
  Result<bool> install(ByteView signed_list);
  size_t refused() const { return refused_; }

 private:
  void poll_once();
  void arm_timer();
  void offer(const std::vector<dht::Value>& values);
  void keep(ByteView signed_list);  // persist and publish an installed list

  crypto::Membership& membership_;
  dht::Dht& dht_;
  const std::filesystem::path file_;
  const std::chrono::milliseconds poll_;
  asio::steady_timer timer_;
  std::shared_ptr<std::atomic<bool>> alive_ = std::make_shared<std::atomic<bool>>(true);
  std::atomic<size_t> refused_{0};
  std::mutex mutex_;  // guards published_id_ and the file
  uint64_t published_id_ = 0;
  dht::ListenToken listen_token_ = 0;
};

}  // namespace beemesh::app
