#include "runtime/engines/docker/docker_state.h"

#include <algorithm>
#include <charconv>
#include <set>
#include <sstream>
#include <tuple>

#include "manifest/manifest.h"
#include "runtime/engines/docker/docker_plan.h"

namespace beemesh::runtime::docker {
namespace {

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(text);
  while (std::getline(in, item, sep)) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

int to_int(const std::string& text, int fallback) {
  int value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && ptr == text.data() + text.size() ? value : fallback;
}

// "Exited (137) 3 seconds ago" -> 137
int exit_code_from_status(const std::string& status) {
  auto open = status.find('(');
  auto close = status.find(')', open == std::string::npos ? 0 : open);
  if (status.rfind("Exited", 0) != 0 || open == std::string::npos || close == std::string::npos) {
    return -1;
  }
  return to_int(status.substr(open + 1, close - open - 1), -1);
}

std::string upper(std::string text) {
  for (auto& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

std::string describe(const ContainerView& c) {
  std::string who = c.is_pause()
                        ? "pause container of pod " + c.label(kPodLabel)
                        : "container " + c.label(kContainerLabel) + " of pod " + c.label(kPodLabel);
  return who;
}

}  // namespace

std::string ContainerView::label(std::string_view key) const {
  auto it = labels.find(std::string(key));
  return it == labels.end() ? std::string() : it->second;
}

bool ContainerView::is_pause() const {
  return label(kRoleLabel) == "pause";
}

ContainerView parse_container(const nlohmann::json& entry) {
  ContainerView view;
  view.id = entry.value("Id", "");
  if (auto names = entry.find("Names");
      names != entry.end() && names->is_array() && !names->empty() && (*names)[0].is_string()) {
    view.name = (*names)[0].get<std::string>();
    if (!view.name.empty() && view.name[0] == '/') view.name.erase(0, 1);
  }
  if (auto labels = entry.find("Labels"); labels != entry.end() && labels->is_object()) {
    for (const auto& [k, v] : labels->items()) {
      if (v.is_string()) view.labels[k] = v.get<std::string>();
    }
  }
  view.state = entry.value("State", "");
  if (auto created = entry.find("Created"); created != entry.end() && created->is_number()) {
    view.created_s = created->get<int64_t>();
  }
  if (view.state == "exited" || view.state == "dead" || view.state == "stopped") {
    view.exit_code = exit_code_from_status(entry.value("Status", ""));
  }
  if (auto ports = entry.find("Ports"); ports != entry.end() && ports->is_array()) {
    for (const auto& p : *ports) {
      if (!p.is_object() || !p.contains("PublicPort")) continue;
      PortMapping m;
      m.container_port = p.value("PrivatePort", 0);
      m.host_port = p.value("PublicPort", 0);
      m.protocol = upper(p.value("Type", "tcp"));
      m.host_ip = p.value("IP", "");
      if (m.host_ip == "0.0.0.0" || m.host_ip == "::") m.host_ip.clear();
      if (m.host_port == 0) continue;
      bool seen = std::any_of(view.published.begin(), view.published.end(), [&](const auto& o) {
        return o.container_port == m.container_port && o.host_port == m.host_port &&
               o.protocol == m.protocol && o.host_ip == m.host_ip;
      });
      if (!seen) view.published.push_back(std::move(m));
    }
  }
  return view;
}

std::map<std::string, std::vector<ContainerView>> group_by_workload(
    const std::vector<ContainerView>& containers) {
  std::map<std::string, std::vector<ContainerView>> out;
  for (const auto& c : containers) {
    std::string id = c.label(manifest::kWorkloadIdLabel);
    if (!id.empty()) out[id].push_back(c);
  }
  return out;
}

WorkloadInfo summarize_workload(const std::string& workload_id,
                                const std::vector<ContainerView>& containers,
                                const std::string& engine_name) {
  WorkloadInfo info;
  info.id = workload_id;
  info.engine = engine_name;

  // pod name -> (index, pause, app containers)
  struct Pod {
    int index = 0;
    const ContainerView* pause = nullptr;
    std::vector<const ContainerView*> apps;
  };
  std::map<std::string, Pod> pods;
  for (const auto& c : containers) {
    if (info.manifest_id.empty()) info.manifest_id = c.label(manifest::kManifestIdLabel);
    std::string policy = c.label(kRestartPolicyLabel);
    if (!policy.empty() && c.label(kPodIndexLabel) == "0") info.restart_policy = policy;
    Pod& pod = pods[c.label(kPodLabel)];
    pod.index = to_int(c.label(kPodIndexLabel), 0);
    if (c.is_pause()) {
      pod.pause = &c;
    } else {
      pod.apps.push_back(&c);
    }
    int64_t created_ms = c.created_s * 1000;
    if (info.created_at_ms == 0 || (created_ms > 0 && created_ms < info.created_at_ms)) {
      info.created_at_ms = created_ms;
    }
  }
  if (info.restart_policy.empty()) info.restart_policy = "Always";

  std::vector<std::pair<std::string, Pod*>> ordered;
  for (auto& [name, pod] : pods) ordered.emplace_back(name, &pod);
  std::sort(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) {
    return std::tie(a.second->index, a.first) < std::tie(b.second->index, b.first);
  });

  std::string failed, stopped, pending;
  for (auto& [name, pod] : ordered) {
    info.pods.push_back(name);
    std::sort(pod->apps.begin(), pod->apps.end(), [](const auto* a, const auto* b) {
      return to_int(a->label(kContainerIndexLabel), 0) < to_int(b->label(kContainerIndexLabel), 0);
    });

    std::vector<std::string> expected;
    if (pod->pause == nullptr) {
      if (failed.empty()) failed = "pause container of pod " + name + " is missing";
    } else {
      expected = split(pod->pause->label(kContainersLabel), ',');
      for (const auto& p : pod->pause->published) {
        PortMapping m = p;
        m.pod = name;
        std::string key = std::to_string(p.container_port) + "/";
        for (char ch : p.protocol) key.push_back(static_cast<char>(std::tolower(ch)));
        for (const auto* app : pod->apps) {
          auto ports = split(app->label(kPortsLabel), ',');
          if (std::find(ports.begin(), ports.end(), key) != ports.end()) {
            m.container = app->label(kContainerLabel);
            break;
          }
        }
        info.ports.push_back(std::move(m));
      }
    }
    for (const auto& want : expected) {
      bool present = std::any_of(pod->apps.begin(), pod->apps.end(),
                                 [&](const auto* a) { return a->label(kContainerLabel) == want; });
      if (!present && failed.empty()) {
        failed = "container " + want + " of pod " + name + " is missing";
      }
    }

    std::vector<const ContainerView*> all;
    if (pod->pause != nullptr) all.push_back(pod->pause);
    all.insert(all.end(), pod->apps.begin(), pod->apps.end());
    for (const auto* c : all) {
      const std::string& s = c->state;
      if (s == "running") continue;
      if (s == "exited" || s == "stopped" || s == "dead") {
        std::string note = describe(*c) + (s == "dead" ? " is dead" : " exited") +
                           (c->exit_code >= 0 ? " (" + std::to_string(c->exit_code) + ")" : "");
        if (s == "dead" || c->exit_code != 0) {
          if (failed.empty()) failed = note;
        } else if (stopped.empty()) {
          stopped = note;
        }
      } else if (pending.empty()) {
        pending = describe(*c) + " is " + (s.empty() ? std::string("in an unknown state") : s);
      }
    }
  }

  if (!failed.empty()) {
    info.state = WorkloadState::Failed;
    info.message = failed;
  } else if (!stopped.empty()) {
    info.state = WorkloadState::Stopped;
    info.message = stopped;
  } else if (!pending.empty()) {
    info.state = WorkloadState::Pending;
    info.message = pending;
  } else {
    info.state = WorkloadState::Running;
  }
  return info;
}

}  // namespace beemesh::runtime::docker
