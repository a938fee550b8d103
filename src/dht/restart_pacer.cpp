#include "dht/restart_pacer.h"

#include <algorithm>

namespace beemesh::dht {

RestartPacer::RestartPacer(std::chrono::milliseconds min_gap, std::chrono::milliseconds max_gap,
                           uint64_t seed)
    : min_gap_ms_(min_gap.count()),
      max_gap_ms_(std::max(min_gap.count(), max_gap.count())),
      random_(seed),
      gap_ms_(min_gap_ms_) {}

bool RestartPacer::allows(int64_t now_ms) const {
  return streak_ == 0 || now_ms - last_ms_ >= gap_ms_;
}

void RestartPacer::restarted(int64_t now_ms) {
  const bool continues = streak_ > 0 && now_ms - last_ms_ < 2 * max_gap_ms_;
  streak_ = continues ? streak_ + 1 : 1;
  last_ms_ = now_ms;
  // min_gap × 2^(streak-1), doubled only while under the maximum (no overflow).
  double base = static_cast<double>(min_gap_ms_);
  for (int i = 1; i < streak_ && base < static_cast<double>(max_gap_ms_); ++i) base *= 2;
  const double factor = std::uniform_real_distribution<double>(1.0, 1.5)(random_);
  gap_ms_ = std::min(max_gap_ms_, static_cast<int64_t>(base * factor));
  gap_ms_ = std::max(gap_ms_, min_gap_ms_);
}

void RestartPacer::reset() {
  last_ms_ = 0;
  streak_ = 0;
  gap_ms_ = min_gap_ms_;
}

}  // namespace beemesh::dht
