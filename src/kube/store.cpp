#include "kube/store.h"

#include <algorithm>
#include <system_error>

#include "common/files.h"

namespace beemesh::kube {

namespace {

std::string key_of(const std::string& resource, const std::string& ns, const std::string& name) {
  return resource + "_" + ns + "_" + name;
}

bool dns_chars(std::string_view s, bool dots) {
  if (s.empty()) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || (dots && c == '.');
    if (!ok) return false;
  }
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  return alnum(s.front()) && alnum(s.back());
}

}  // namespace

bool valid_name(std::string_view name) {
  return name.size() <= 253 && dns_chars(name, true);
}
bool valid_namespace(std::string_view ns) {
  return ns.size() <= 63 && dns_chars(ns, false);
}

Json StoredObject::to_json() const {
  return Json{{"resource", resource},
              {"namespace", ns},
              {"name", name},
              {"object", object},
              {"last_applied", last_applied},
              {"manifest_id", manifest_id},
              {"content_version", content_version},
              {"created_ms", created_ms},
              {"generation", generation}};
}

std::optional<StoredObject> StoredObject::from_json(const Json& j) {
  try {
    StoredObject o;
    o.resource = j.at("resource").get<std::string>();
    o.ns = j.at("namespace").get<std::string>();
    o.name = j.at("name").get<std::string>();
    o.object = j.at("object");
    o.last_applied = j.value("last_applied", "");
    o.manifest_id = j.value("manifest_id", "");
    o.content_version = j.value("content_version", "");
    o.created_ms = j.value("created_ms", int64_t{0});
    o.generation = j.value("generation", int64_t{1});
    if (!valid_name(o.name) || (!o.ns.empty() && !valid_namespace(o.ns))) return std::nullopt;
    return o;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

Result<std::unique_ptr<ObjectStore>> ObjectStore::open(std::filesystem::path dir) {
  std::unique_ptr<ObjectStore> store(new ObjectStore(std::move(dir)));
  std::error_code ec;
  std::filesystem::create_directories(store->dir_, ec);
  if (ec)
    return make_error("io_error", "cannot create " + store->dir_.string() + ": " + ec.message());
  std::filesystem::permissions(store->dir_, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace, ec);
  size_t count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(store->dir_, ec)) {
    if (count >= kMaxObjects) break;
    if (entry.path().extension() != ".json") continue;
    auto text = read_small_file(entry.path(), kMaxObjectFileBytes);
    if (!text) continue;
    auto j = Json::parse(*text, nullptr, false);
    if (j.is_discarded()) continue;
    auto o = StoredObject::from_json(j);
    if (!o) continue;
    MutexLock lock(store->mu_);
    store->objects_[key_of(o->resource, o->ns, o->name)] = std::move(*o);
    ++count;
  }
  return store;
}

std::filesystem::path ObjectStore::file_of(const std::string& key) const {
  return dir_ / (key + ".json");
}

std::optional<StoredObject> ObjectStore::get(const std::string& resource, const std::string& ns,
                                             const std::string& name) const {
  MutexLock lock(mu_);
  auto it = objects_.find(key_of(resource, ns, name));
  if (it == objects_.end()) return std::nullopt;
  return it->second;
}

std::vector<StoredObject> ObjectStore::list(const std::string& resource,
                                            const std::string& ns) const {
  MutexLock lock(mu_);
  std::vector<StoredObject> out;
  for (const auto& [key, o] : objects_) {
    if (o.resource == resource && (ns.empty() || o.ns == ns)) out.push_back(o);
  }
  return out;
}

std::vector<std::string> ObjectStore::namespaces() const {
  MutexLock lock(mu_);
  std::vector<std::string> out{"default"};
  for (const auto& [key, o] : objects_) {
    if (!o.ns.empty() && std::find(out.begin(), out.end(), o.ns) == out.end()) out.push_back(o.ns);
  }
  return out;
}

Result<void> ObjectStore::put(const StoredObject& object) {
  if (!valid_name(object.name) || (!object.ns.empty() && !valid_namespace(object.ns))) {
    return make_error("invalid", "not a valid object name or namespace");
  }
  MutexLock lock(mu_);
  std::string key = key_of(object.resource, object.ns, object.name);
  if (!objects_.contains(key) && objects_.size() >= kMaxObjects) {
    return make_error("too_many_requests", "the proxy keeps at most 10000 objects");
  }
  if (auto w = write_private_file(file_of(key), object.to_json().dump()); !w) return w.error();
  objects_[key] = object;
  return {};
}

void ObjectStore::erase(const std::string& resource, const std::string& ns,
                        const std::string& name) {
  MutexLock lock(mu_);
  std::string key = key_of(resource, ns, name);
  objects_.erase(key);
  std::error_code ec;
  std::filesystem::remove(file_of(key), ec);
}

}  // namespace beemesh::kube
