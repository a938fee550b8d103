#include <spdlog/spdlog.h>

#include <algorithm>

#include "runtime/runtime.h"

namespace beemesh::runtime {

void EngineRegistry::add(std::shared_ptr<RuntimeEngine> engine, int priority, bool implicit) {
  if (!engine) return;
  const std::string name = engine->name();
  // A second engine under the same name replaces the first.
  std::erase_if(entries_, [&](const Entry& e) { return e.engine->name() == name; });
  entries_.push_back(Entry{std::move(engine), priority, implicit});
}

std::shared_ptr<RuntimeEngine> EngineRegistry::get(std::string_view name) const {
  for (const auto& entry : entries_) {
    if (entry.engine->name() == name) return entry.engine;
  }
  return nullptr;
}

std::vector<std::string> EngineRegistry::names() const {
  std::vector<std::string> out;
  out.reserve(entries_.size());
  for (const auto& entry : entries_) out.push_back(entry.engine->name());
  return out;
}

Result<std::shared_ptr<RuntimeEngine>> EngineRegistry::select(
    const std::optional<std::string>& preferred) const {
  std::vector<std::string> tried;  // "<name>: <why it was not used>"
  std::string preferred_name;
  if (preferred && !preferred->empty()) {
    preferred_name = *preferred;
    auto engine = get(preferred_name);
    if (!engine) {
      tried.push_back(preferred_name + ": requested but not registered");
    } else if (!engine->is_available()) {
      tried.push_back(preferred_name + ": requested but not available");
    } else {
      return engine;
    }
  }

  // Implicit engines by priority, highest first; registration order breaks ties.
  std::vector<const Entry*> order;
  for (const auto& entry : entries_) order.push_back(&entry);
  std::stable_sort(order.begin(), order.end(),
                   [](const Entry* a, const Entry* b) { return a->priority > b->priority; });
  for (const Entry* entry : order) {
    const std::string name = entry->engine->name();
    if (name == preferred_name) continue;  // already tried above
    if (!entry->implicit) {
      tried.push_back(name + ": only used when requested by name");
      continue;
    }
    if (!entry->engine->is_available()) {
      tried.push_back(name + ": not available");
      continue;
    }
    if (preferred_name.empty()) {
      spdlog::info("runtime: selected engine '{}' (highest-priority available engine)", name);
    } else {
      spdlog::info("runtime: engine '{}' unusable ({}); falling back to '{}'", preferred_name,
                   tried.front(), name);
    }
    return entry->engine;
  }

  std::string message = "no runtime engine available";
  if (tried.empty()) {
    message += ": no engines registered";
  } else {
    message += " (tried ";
    for (std::size_t i = 0; i < tried.size(); ++i) {
      if (i > 0) message += "; ";
      message += tried[i];
    }
    message += ")";
  }
  return make_error("no_engine", message);
}

}  // namespace beemesh::runtime
