#include "common/clock_skew.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <limits>

namespace beemesh {

namespace {

int64_t saturating_sub(int64_t a, int64_t b) {
  int64_t out = 0;
  if (!__builtin_sub_overflow(a, b, &out)) return out;
  return b < 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
}

int64_t magnitude(int64_t v) {
  return v == std::numeric_limits<int64_t>::min() ? std::numeric_limits<int64_t>::max()
                                                  : (v < 0 ? -v : v);
}

}  // namespace

std::string describe_skew(int64_t skew_ms) {
  return fmt::format("{:.1f} s {}", static_cast<double>(magnitude(skew_ms)) / 1000.0,
                     skew_ms >= 0 ? "ahead" : "behind");
}

ClockSkewTable::Logged ClockSkewTable::record(std::string_view peer, int64_t peer_timestamp_ms) {
  const int64_t now = clock_.now_ms();
  const int64_t skew = saturating_sub(peer_timestamp_ms, now);
  const bool off = magnitude(skew) > options_.warn_ms;
  Logged logged = Logged::nothing;
  {
    std::lock_guard lock(mutex_);
    auto it = peers_.find(peer);
    if (it == peers_.end()) {
      if (peers_.size() >= options_.max_peers) {
        auto oldest = peers_.begin();
        for (auto i = peers_.begin(); i != peers_.end(); ++i) {
          if (i->second.sample.measured_at_ms < oldest->second.sample.measured_at_ms) oldest = i;
        }
        peers_.erase(oldest);
      }
      it = peers_.emplace(std::string(peer), Entry{}).first;
    }
    Entry& e = it->second;
    e.sample = Sample{skew, now};
    if (off && (e.warned_at_ms == 0 || now - e.warned_at_ms >= options_.warn_every_ms)) {
      e.warned_at_ms = now;
      logged = Logged::warning;
    } else if (!off && e.warned_at_ms != 0) {
      e.warned_at_ms = 0;
      logged = Logged::recovered;
    }
  }
  if (logged == Logged::warning) {
    spdlog::warn(
        "component=clock node {} clock is {} of this node's (more than {} s off): signed "
        "requests between the two are refused once it is {} s off; check NTP on both",
        peer, describe_skew(skew), options_.warn_ms / 1000, options_.window_ms / 1000);
  } else if (logged == Logged::recovered) {
    spdlog::info("component=clock node {} clock is back within {} s ({})", peer,
                 options_.warn_ms / 1000, describe_skew(skew));
  }
  return logged;
}

std::optional<ClockSkewTable::Sample> ClockSkewTable::get(std::string_view peer) const {
  std::lock_guard lock(mutex_);
  auto it = peers_.find(peer);
  if (it == peers_.end()) return std::nullopt;
  return it->second.sample;
}

size_t ClockSkewTable::size() const {
  std::lock_guard lock(mutex_);
  return peers_.size();
}

}  // namespace beemesh
