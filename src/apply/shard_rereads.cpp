#include "apply/shard_rereads.h"

#include <algorithm>

namespace beemesh::apply {

ShardRereads::Steady::time_point ShardRereads::after_read(Steady::time_point now, double spread,
                                                          bool found_new) {
  if (period_.count() == 0) {
    period_ = kShardRefreshFirst;
  } else if (now >= due_) {  // on schedule: the next step (steady once a read found nothing new)
    steady_ = steady_ || period_ >= kShardRefresh || !found_new;
    period_ = steady_ ? std::chrono::milliseconds(kShardRefresh)
                      : std::min<std::chrono::milliseconds>(period_ * 2, kShardRefresh);
  }  // else forced early: the same period again, from now
  due_ = now + std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::duration<double, std::milli>(period_) * spread);
  return due_;
}

ShardRereads::Steady::time_point ShardRereads::skip_early(Steady::time_point now, double spread) {
  period_ = kShardRefresh;
  steady_ = true;
  due_ = now + std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::duration<double, std::milli>(period_) * spread);
  return due_;
}

}  // namespace beemesh::apply
