#include "apply/refresh_schedule.h"

#include <algorithm>

namespace beemesh::apply {

RefreshPlan::Steady::time_point next_refresh(const RefreshPlan& plan,
                                             RefreshPlan::Steady::time_point now,
                                             std::chrono::milliseconds tick) {
  if (plan.backlog) return now + kBacklogPause;
  if (plan.busy) return now + tick;
  const auto latest = now + std::max<std::chrono::milliseconds>(tick, kIdleRefresh);
  const auto wanted = std::min({plan.earliest_due, plan.next_event, latest});
  return std::max(wanted, now + tick);
}

}  // namespace beemesh::apply
