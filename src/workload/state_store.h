// workload/state_store.h — durable node state in one SQLite file in the data directory.
//
// Promise:
//  * open() creates the file (mode 0600, parent directories too) or opens an existing one,
//    switches it to WAL mode and brings its schema up to date through numbered migrations
//    recorded in table schema_migrations; a file written by a newer beemesh (unknown
//    version) is refused with Error{"state_schema_too_new"}, never modified.
//  * Three kinds of rows: workloads (one per workload this node runs), applied manifests
//    (the encrypted AppliedManifest record per manifest id, as stored in the DHT) and key
//    shares (the holder-sealed Shamir shares this node keeps for others).
//  * Key shares are kept per (manifest id, owner, share index): manifest ids are public,
//    so shares stored under one by another owner never displace or block the real owner's,
//    and deleting removes only the named owner's. Every share has an expiry: reads never
//    return an expired share, drop_expired_key_shares() deletes them. put_key_share()
//    enforces a per-owner quota over the owner's unexpired shares (count and bytes), the
//    share it replaces not counted: Error{"quota_exceeded"}. A share without an expiry or
//    already expired is refused with Error{"expired"}.
//  * Schema 2 recreated the key_shares table: shares stored by schema 1 (no owner, no
//    expiry) are dropped by the migration; workloads and applied manifests are kept.
//  * put_* insert or replace; get_* return Error{"not_found"} for a missing row; delete_*
//    return whether a row was removed (deleting a missing row is not an error). Every other
//    failure is Error{"state_store"} naming the operation and SQLite's message.
//  * Every write is committed (durable across a crash of the process) when the call
//    returns. Safe to call from many threads (one connection behind a mutex; statements are
//    prepared once).
//  * Timestamps left at 0 in a record are filled from the clock.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/clock.h"
#include "common/result.h"
#include "workload/record.h"

namespace beemesh::workload {

// The encrypted AppliedManifest record of a manifest (what apply stores in the DHT).
struct AppliedManifestRecord {
  std::string manifest_id;
  std::string owner;  // hex public key
  Bytes record;       // encrypted record blob, opaque here
  int64_t updated_at_ms = 0;
};

// One Shamir share of a manifest key, sealed to this node (the holder).
struct KeyShareRecord {
  std::string manifest_id;
  std::string owner;      // hex public key of the manifest's owner (the user); part of the key
  int share_index = 0;    // Shamir x coordinate
  Bytes sealed_share;     // sealed to this node's key; opaque here
  std::string publisher;  // hex public key of the node that stored it (its grants release it)
  int threshold = 0;      // k of the k-of-n split
  int64_t created_at_ms = 0;
  int64_t expires_ms = 0;  // required: the share is gone (never read, then dropped) from then
};

// What one owner may keep in key shares on this node (unexpired shares).
struct KeyShareQuota {
  int64_t max_shares = 10'000;
  int64_t max_bytes = int64_t{64} << 20;  // sum of sealed_share sizes
};

class StateStore {
 public:
  static constexpr const char* kDefaultFileName = "state.db";
  static constexpr int kSchemaVersion = 3;

  static Result<std::unique_ptr<StateStore>> open(const std::filesystem::path& file,
                                                  const Clock& clock = system_clock());
  ~StateStore();
  StateStore(const StateStore&) = delete;
  StateStore& operator=(const StateStore&) = delete;

  const std::filesystem::path& path() const { return path_; }
  Result<int> schema_version();

  // Workloads.
  Result<void> put_workload(const WorkloadRecord& record);
  Result<WorkloadRecord> get_workload(const std::string& id);
  Result<std::vector<WorkloadRecord>> list_workloads();
  Result<std::vector<WorkloadRecord>> workloads_of(const std::string& manifest_id);
  Result<bool> delete_workload(const std::string& id);

  // Applied-manifest records.
  Result<void> put_applied_manifest(const AppliedManifestRecord& record);
  Result<AppliedManifestRecord> get_applied_manifest(const std::string& manifest_id);
  Result<std::vector<AppliedManifestRecord>> list_applied_manifests();
  Result<bool> delete_applied_manifest(const std::string& manifest_id);
  // A deployed workload and its manifest's applied record in one transaction (both or
  // neither): one commit per deploy instead of two.
  Result<void> put_deployed(const WorkloadRecord& record, const AppliedManifestRecord& applied);

  // Key shares held by this node. `owner` is KeyShareRecord::owner (the manifest's owner).
  // Replaces the share with the same (manifest id, owner, share index).
  Result<void> put_key_share(const KeyShareRecord& share, const KeyShareQuota& quota = {});
  Result<KeyShareRecord> get_key_share(const std::string& manifest_id, const std::string& owner,
                                       int share_index);
  // Unexpired shares, by share index.
  Result<std::vector<KeyShareRecord>> key_shares_of_owner(const std::string& manifest_id,
                                                          const std::string& owner);
  Result<std::vector<KeyShareRecord>> key_shares_of_publisher(const std::string& manifest_id,
                                                              const std::string& publisher);
  Result<bool> delete_key_share(const std::string& manifest_id, const std::string& owner,
                                int share_index);
  // Rows removed: that owner's shares of the manifest, nobody else's.
  Result<int> delete_key_shares_of_owner(const std::string& manifest_id, const std::string& owner);
  // Deletes every share whose expiry is at or before now_ms; rows removed. Call it
  // periodically (reads already ignore expired shares).
  Result<int> drop_expired_key_shares(int64_t now_ms);

  struct Impl;  // SQLite handles (state_store.cpp)

 private:
  StateStore(std::filesystem::path path, const Clock& clock, std::unique_ptr<Impl> impl);
  Result<void> put_workload_locked(const WorkloadRecord& record);  // mutex_ held
  Result<void> put_applied_manifest_locked(const AppliedManifestRecord& record);

  std::filesystem::path path_;
  const Clock& clock_;
  std::mutex mutex_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace beemesh::workload
