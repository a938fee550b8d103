#include "apply/shard_rereads.h"

#include <algorithm>

namespace beemesh::apply {

std::chrono::milliseconds steady_shard_refresh(double entries_per_shard) {
  const double entries_per_pass = entries_per_shard * static_cast<double>(kDirectoryShards);
  const double factor =
      std::max(1.0, entries_per_pass / static_cast<double>(kRereadEntriesPerPeriod));
  const auto period = std::chrono::duration<double, std::milli>(kShardRefresh) * factor;
  if (period >= std::chrono::duration<double, std::milli>(kShardRefreshMax)) {
    return kShardRefreshMax;
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(period);
}

ShardRereads::Steady::time_point ShardRereads::after_read(Steady::time_point now,
                                                          double entries_per_shard, double spread,
                                                          bool found_new) {
  if (period_.count() == 0) {
    period_ = kShardRefreshFirst;
  } else if (now >= due_) {  // on schedule: the next step (steady once a read found nothing new)
    steady_ = steady_ || period_ >= kShardRefresh || !found_new;
    period_ = steady_ ? steady_shard_refresh(entries_per_shard)
                      : std::min<std::chrono::milliseconds>(period_ * 2, kShardRefresh);
  }  // else forced early: the same period again, from now
  due_ = now + std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::duration<double, std::milli>(period_) * spread);
  return due_;
}

ShardRereads::Steady::time_point ShardRereads::skip_early(Steady::time_point now,
                                                          double entries_per_shard, double spread) {
  period_ = steady_shard_refresh(entries_per_shard);
  steady_ = true;
  due_ = now + std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::duration<double, std::milli>(period_) * spread);
  return due_;
}

}  // namespace beemesh::apply
