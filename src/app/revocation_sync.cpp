#include "app/revocation_sync.h"

#include <spdlog/spdlog.h>

#include "common/files.h"

namespace beemesh::app {

namespace {
dht::Key revocations_key() {
  return dht::Key::of(kRevocationsKey);
}
}  // namespace

RevocationSync::RevocationSync(crypto::Membership& membership, dht::Dht& dht,
                               std::filesystem::path file, asio::any_io_executor executor,
                               std::chrono::milliseconds poll)
    : membership_(membership), dht_(dht), file_(std::move(file)), poll_(poll), timer_(executor) {}

RevocationSync::~RevocationSync() {
  alive_->store(false);
  timer_.cancel();
  if (listen_token_ != 0) dht_.cancel_listen(revocations_key(), listen_token_);
  std::lock_guard lock(mutex_);
  if (published_id_ != 0) dht_.cancel_permanent(revocations_key(), published_id_);
}

void RevocationSync::start() {
  auto text = read_small_file(file_, 2 * 1024 * 1024);
  if (text) {
    auto bytes = from_hex(*text);
    auto installed = bytes ? membership_.update_revocations(*bytes)
                           : Result<bool>(make_error("malformed", "not hex"));
    if (!installed) {
      spdlog::warn("revocation list {} not loaded: {}", file_.string(),
                   installed.error().to_string());
    }
  }
  listen_token_ =
      dht_.listen(revocations_key(), [this, alive = alive_](const auto& values, bool expired) {
        if (!expired && alive->load()) offer(values);
      });
  poll_once();
  arm_timer();
}

Result<bool> RevocationSync::install(ByteView signed_list) {
  auto installed = membership_.update_revocations(signed_list);
  if (!installed || !*installed) return installed;
  keep(signed_list);
  return true;
}

void RevocationSync::keep(ByteView signed_list) {
  std::lock_guard lock(mutex_);
  if (auto saved = write_private_file(file_, to_hex(signed_list)); !saved) {
    spdlog::warn("revocation list not saved: {}", saved.error().to_string());
  }
  // Every node that installs a list publishes it too, so it outlives the node it came in by.
  if (published_id_ != 0) dht_.cancel_permanent(revocations_key(), published_id_);
  published_id_ = 0;
  if (signed_list.size() <= dht::kMaxValueSize) {
    published_id_ = dht_.put_permanent(
        revocations_key(),
        dht::Value{0, dht::ValueKind::raw, Bytes(signed_list.begin(), signed_list.end())});
  }
  spdlog::info("revocation list {} installed", membership_.revocation_sequence());
}

void RevocationSync::offer(const std::vector<dht::Value>& values) {
  for (const auto& v : values) {
    auto installed = install(v.data);
    if (!installed && installed.error().code != "stale_revocations") ++refused_;
  }
}

void RevocationSync::poll_once() {
  dht_.get(revocations_key(), [this, alive = alive_](Result<std::vector<dht::Value>> values) {
    if (values && alive->load()) offer(*values);
  });
}

void RevocationSync::arm_timer() {
  timer_.expires_after(poll_);
  timer_.async_wait([this, alive = alive_](const std::error_code& ec) {
    if (ec || !alive->load()) return;
    poll_once();
    arm_timer();
  });
}

}  // namespace beemesh::app
