// workload/provider_bookkeeper.h — announcing and withdrawing this node as provider of the
// manifests whose workloads it runs.
//
// Promise:
//  * update(manifest, workload) announces the manifest (ttl provider_ttl_seconds, this
//    node's metadata with the workload's engine and, when the workload carries the label
//    kContentVersionLabel, that value as capability kContentVersionCapability) when that workload
//    is in the table and healthy; otherwise withdraws it when no healthy workload of the manifest
//    is left; otherwise does nothing. Nothing at all without an announcer or with
//    announce_as_provider off.
//  * Calls reach the announcer in the order update() decided them: update() holds its
//    order mutex across the announcer call (the announcer must not call update() back
//    synchronously). Lock order: order mutex, then the table's mutex (taken and dropped
//    inside, before the call), or the callback guard when the announcer calls back at once.
//  * An announcement's first put is published as Announced on the event bus, under the
//    callback guard's mutex; after stop() announcer callbacks arriving late publish nothing.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/mutex.h"
#include "common/thread_annotations.h"
#include "provider/provider.h"
#include "workload/config.h"
#include "workload/events.h"
#include "workload/workload_table.h"

namespace beemesh::workload {

// The label a replica's deploy carries with (a prefix of) its content version, and the
// provider-record capability it is announced under.
inline constexpr std::string_view kContentVersionLabel = "beemesh.io/content-version";
inline constexpr std::string_view kContentVersionCapability = "content_version";

// What the reconciler, the health monitor and the deploy path need of the bookkeeping.
class ProviderUpdates {
 public:
  virtual ~ProviderUpdates() = default;
  virtual void update(const std::string& manifest_id, const std::string& workload_id) = 0;
};

class ProviderBookkeeper final : public ProviderUpdates {
 public:
  ProviderBookkeeper(const WorkloadManagerConfig& config, provider::Announcer* announcer,
                     provider::ProviderMetadata self, const WorkloadTable& table, EventBus& events);
  ~ProviderBookkeeper() override;
  ProviderBookkeeper(const ProviderBookkeeper&) = delete;
  ProviderBookkeeper& operator=(const ProviderBookkeeper&) = delete;

  void update(const std::string& manifest_id, const std::string& workload_id) override
      EXCLUDES(order_);
  // Late announcer callbacks publish nothing from now on.
  void stop();

 private:
  struct CallbackGuard;  // shared with announcer callbacks, which may outlive this

  const bool enabled_;
  const int64_t ttl_seconds_;
  provider::Announcer* const announcer_;
  const provider::ProviderMetadata self_;
  const WorkloadTable& table_;
  Mutex order_;  // held across each announcer call: calls keep update()'s order
  std::shared_ptr<CallbackGuard> guard_;
};

}  // namespace beemesh::workload
