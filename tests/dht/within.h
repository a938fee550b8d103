// tests/dht/within.h — waiting for a condition in the DHT tests.
#pragma once

#include <chrono>
#include <thread>

namespace beemesh::dht {

// Polls `pred` every 100 ms until it holds or `deadline` has passed; whether it held.
template <typename Pred>
bool within(std::chrono::milliseconds deadline, Pred pred) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return pred();
}

}  // namespace beemesh::dht
