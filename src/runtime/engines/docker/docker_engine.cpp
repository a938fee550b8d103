#include "runtime/engines/docker/docker_engine.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <tuple>

#include "manifest/manifest.h"
#include "runtime/engines/docker/log_stream.h"

namespace beemesh::runtime::docker {
namespace {

constexpr std::string_view kDefaultSocket = "/var/run/docker.sock";

// The daemon's own words from an error answer: {"message": "..."} (both Docker and Podman).
std::string daemon_message(const HttpResponse& response) {
  auto json = nlohmann::json::parse(response.body, nullptr, false);
  if (json.is_object() && json.contains("message") && json["message"].is_string()) {
    return json["message"].get<std::string>();
  }
  std::string body = response.body.substr(0, 300);
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
  return body.empty() ? "HTTP " + std::to_string(response.status) : body;
}

std::string label_filter(std::initializer_list<std::string> labels) {
  nlohmann::json filters = {{"label", nlohmann::json::array()}};
  for (const auto& l : labels) filters["label"].push_back(l);
  return url_encode(filters.dump());
}

// "localhost/busybox:latest" -> pull query "fromImage=...": adds tag=latest when the
// reference has neither tag nor digest (an empty tag would pull every tag).
std::string pull_query(const std::string& image) {
  auto slash = image.rfind('/');
  std::string last = slash == std::string::npos ? image : image.substr(slash + 1);
  std::string query = "fromImage=" + url_encode(image);
  if (last.find(':') == std::string::npos && last.find('@') == std::string::npos) {
    query += "&tag=latest";
  }
  return query;
}

bool is_exited(const ContainerView& c) {
  return c.state == "exited" || c.state == "stopped" || c.state == "dead";
}

std::string pod_and_container(const ContainerView& c) {
  return c.label(kPodLabel) + "/" + c.label(kContainerLabel);
}

}  // namespace

Result<std::string> resolve_docker_socket(const std::string& configured) {
  if (!configured.empty()) return configured;
  const char* host = std::getenv("DOCKER_HOST");
  if (host == nullptr || *host == '\0') return std::string(kDefaultSocket);
  std::string_view value(host);
  if (value.rfind("unix://", 0) == 0) return std::string(value.substr(7));
  return make_error("invalid_config",
                    "DOCKER_HOST='" + std::string(value) + "': only unix:// sockets are supported");
}

DockerEngine::DockerEngine(DockerEngineOptions options)
    : options_(std::move(options)),
      socket_(resolve_docker_socket(options_.socket_path)),
      client_(socket_ ? socket_.value() : std::string()) {}

Result<HttpResponse> DockerEngine::call(const Call& c) const {
  if (!socket_) return socket_.error();
  std::string target = "/" + options_.api_version + c.path;
  auto timeout = c.timeout.count() > 0 ? c.timeout : options_.request_timeout;
  auto response =
      client_.request(c.method, target, c.body, c.body.empty() ? "" : "application/json", timeout);
  if (!response && (response.error().code == "unavailable" || response.error().code == "timeout")) {
    known_available_ = false;  // the next selection probes again
  }
  return response;
}

Result<nlohmann::json> DockerEngine::call_json(const Call& c,
                                               std::initializer_list<int> ok_status) const {
  auto response = call(c);
  if (!response) return response.error();
  if (std::find(ok_status.begin(), ok_status.end(), response->status) == ok_status.end()) {
    return make_error(response->status == 404 ? "not_found" : "engine_error",
                      options_.name + ": " + c.method + " " + c.path + ": HTTP " +
                          std::to_string(response->status) + ": " + daemon_message(*response));
  }
  if (response->body.empty()) return nlohmann::json();
  auto json = nlohmann::json::parse(response->body, nullptr, false);
  if (json.is_discarded()) {
    return make_error("invalid_response",
                      options_.name + ": " + c.method + " " + c.path + ": answer is not JSON");
  }
  return json;
}

bool DockerEngine::is_available() {
  if (known_available_) return true;
  auto response = call({"GET", "/_ping", "", options_.ping_timeout});
  bool ok = response && response->status == 200 && response->body.rfind("OK", 0) == 0;
  if (!ok) {
    spdlog::debug(
        "component=runtime.docker engine={} unavailable socket={} reason=\"{}\"", options_.name,
        socket_ ? socket_.value() : std::string("?"),
        response ? "HTTP " + std::to_string(response->status) : response.error().to_string());
  }
  known_available_ = ok;
  return ok;
}

Result<void> DockerEngine::validate_manifest(const manifest::Manifest& parsed) {
  if (parsed.primary() == nullptr) {
    return make_error("invalid_manifest",
                      parsed.source + ": no Pod, Deployment or StatefulSet to run");
  }
  return ok_result();
}

Result<void> DockerEngine::ensure_image(const std::string& image) const {
  auto found = call({"GET", "/images/" + image + "/json", "", {}});
  if (!found) return found.error();
  if (found->status == 200) return ok_result();
  if (found->status != 404) {
    return make_error("engine_error", options_.name + ": inspecting image " + image + ": HTTP " +
                                          std::to_string(found->status) + ": " +
                                          daemon_message(*found));
  }
  std::string why = "not present";
  if (options_.pull_missing_images) {
    auto pulled = call({"POST", "/images/create?" + pull_query(image), "", options_.pull_timeout});
    if (!pulled) {
      why = "pull failed: " + pulled.error().to_string();
    } else if (pulled->status != 200) {
      why = "pull failed: HTTP " + std::to_string(pulled->status) + ": " + daemon_message(*pulled);
    } else {
      // A stream of JSON progress objects; a failure is an object with "error".
      std::istringstream lines(pulled->body);
      std::string line;
      why.clear();
      while (std::getline(lines, line)) {
        auto json = nlohmann::json::parse(line, nullptr, false);
        if (json.is_object() && json.contains("error") && json["error"].is_string()) {
          why = "pull failed: " + json["error"].get<std::string>();
        }
      }
      if (why.empty()) {
        auto again = call({"GET", "/images/" + image + "/json", "", {}});
        if (again && again->status == 200) return ok_result();
        why = "still missing after pull";
      }
    }
  }
  return make_error("image_not_found",
                    options_.name + ": image " + image + " not found (" + why + ")");
}

Result<std::string> DockerEngine::create_container(const std::string& name,
                                                   const nlohmann::json& body) const {
  Call c{"POST", "/containers/create?name=" + url_encode(name), body.dump(), {}};
  auto response = call(c);
  if (!response) return response.error();
  if (response->status != 201 && response->status != 200) {
    std::string message = options_.name + ": creating container " + name + ": HTTP " +
                          std::to_string(response->status) + ": " + daemon_message(*response);
    bool no_image =
        response->status == 404 && daemon_message(*response).find("image") != std::string::npos;
    if (response->status == 409) return make_error("name_conflict", message);  // name in use
    return make_error(no_image ? "image_not_found" : "deploy_failed", message);
  }
  auto json = nlohmann::json::parse(response->body, nullptr, false);
  if (!json.is_object() || !json.contains("Id") || !json["Id"].is_string()) {
    return make_error("invalid_response",
                      options_.name + ": creating container " + name + ": answer has no Id");
  }
  for (const auto& w : json.value("Warnings", nlohmann::json::array())) {
    if (w.is_string()) {
      spdlog::warn("component=runtime.docker engine={} container={} warning=\"{}\"", options_.name,
                   name, w.get<std::string>());
    }
  }
  return json["Id"].get<std::string>();
}

Result<void> DockerEngine::start_container(const std::string& id) const {
  auto response = call({"POST", "/containers/" + id + "/start", "", {}});
  if (!response) return response.error();
  if (response->status == 204 || response->status == 304 || response->status == 200) {
    return ok_result();
  }
  return make_error("deploy_failed", options_.name + ": starting container " + id.substr(0, 12) +
                                         ": HTTP " + std::to_string(response->status) + ": " +
                                         daemon_message(*response));
}

Result<void> DockerEngine::remove_container(const std::string& id) const {
  auto response = call({"DELETE", "/containers/" + id + "?force=1&v=1", "", {}});
  if (!response) return response.error();
  if (response->status == 204 || response->status == 200 || response->status == 404) {
    return ok_result();
  }
  return make_error("engine_error", options_.name + ": removing container " + id.substr(0, 12) +
                                        ": HTTP " + std::to_string(response->status) + ": " +
                                        daemon_message(*response));
}

Result<std::vector<ContainerView>> DockerEngine::containers(const std::string& filter) const {
  auto json = call_json({"GET", "/containers/json?all=1&filters=" + filter, "", {}}, {200});
  if (!json) return json.error();
  if (!json->is_array()) {
    return make_error("invalid_response", options_.name + ": container list is not an array");
  }
  std::vector<ContainerView> out;
  for (const auto& entry : *json) {
    ContainerView view = parse_container(entry);
    if (is_exited(view) && view.exit_code < 0) {
      // The list's status text did not say; the inspect answer does.
      auto inspect = call_json({"GET", "/containers/" + view.id + "/json", "", {}}, {200});
      if (inspect && inspect->contains("State") && (*inspect)["State"].is_object()) {
        view.exit_code = (*inspect)["State"].value("ExitCode", -1);
      }
    }
    out.push_back(std::move(view));
  }
  return out;
}

Result<std::vector<ContainerView>> DockerEngine::workload_containers(
    const std::string& workload_id) const {
  return containers(label_filter({std::string(kEngineLabel) + "=" + std::string(kEngineLabelValue),
                                  std::string(manifest::kWorkloadIdLabel) + "=" + workload_id}));
}

Result<WorkloadInfo> DockerEngine::deploy(const manifest::SharedManifest& parsed,
                                          const DeploymentConfig& config) {
  std::string workload_id = config.workload_id.empty() ? new_workload_id() : config.workload_id;
  auto shared = plan_deployment(parsed, config, workload_id);
  if (!shared) return shared.error();
  auto plan = docker_workload(shared.value(), config);
  if (!plan) return plan.error();
  // Never join another manifest's workload id: removing one would remove both.
  auto running = workload_containers(workload_id);
  if (!running) return running.error();
  for (const auto& view : running.value()) {
    if (view.label(manifest::kManifestIdLabel) != plan->manifest_id) {
      return make_error("name_conflict", options_.name + ": workload " + workload_id +
                                             " already runs for another manifest (left untouched)");
    }
  }

  std::vector<std::string> images = plan->images();
  if (std::find(images.begin(), images.end(), options_.pause_image) == images.end()) {
    images.push_back(options_.pause_image);
  }
  for (const auto& image : images) {
    if (auto ok = ensure_image(image); !ok) {
      spdlog::warn("component=runtime.docker engine={} deploy_failed workload={} error=\"{}\"",
                   options_.name, workload_id, ok.error().to_string());
      return ok.error();
    }
  }

  std::vector<std::string> created;
  auto result = deploy_plan(*plan, created);
  if (!result) {
    spdlog::warn(
        "component=runtime.docker engine={} deploy_failed workload={} removing={} error=\"{}\"",
        options_.name, workload_id, created.size(), result.error().to_string());
    for (auto it = created.rbegin(); it != created.rend(); ++it) {
      if (auto removed = remove_container(*it); !removed) {
        spdlog::error("component=runtime.docker engine={} cleanup_failed container={} error=\"{}\"",
                      options_.name, it->substr(0, 12), removed.error().to_string());
      }
    }
    return result.error();
  }
  spdlog::info(
      "component=runtime.docker engine={} deployed workload={} manifest={} pods={} state={}",
      options_.name, workload_id, plan->manifest_id, plan->pods.size(), to_string(result->state));
  return result;
}

Result<WorkloadInfo> DockerEngine::deploy_plan(const DockerWorkload& plan,
                                               std::vector<std::string>& created) {
  for (const auto& pod : plan.pods) {
    auto pause = create_container(pod.name, pause_body(plan, pod, options_));
    if (!pause) return pause.error();
    created.push_back(pause.value());
    if (auto started = start_container(pause.value()); !started) {
      return make_error(started.error().code,
                        "pod " + pod.name + " (pause): " + started.error().message);
    }
    for (const auto& c : pod.containers) {
      auto id =
          create_container(c.docker_name, container_body(plan, pod, c, pause.value(), options_));
      if (!id) return id.error();
      created.push_back(id.value());
      if (auto started = start_container(id.value()); !started) {
        return make_error(started.error().code, "pod " + pod.name + " container " + c.name + ": " +
                                                    started.error().message);
      }
    }
  }

  auto views = workload_containers(plan.workload_id);
  if (!views) return views.error();
  WorkloadInfo info = summarize_workload(plan.workload_id, views.value(), options_.name);
  if (info.state == WorkloadState::Failed) {
    std::string message = info.message;
    auto tail = logs(plan.workload_id, 5);
    if (tail && !tail->empty()) message += "; last log lines: " + tail.value();
    return make_error("deploy_failed", options_.name + ": workload " + plan.workload_id +
                                           " failed right after start: " + message);
  }
  return info;
}

Result<WorkloadInfo> DockerEngine::status(const std::string& workload_id) {
  auto views = workload_containers(workload_id);
  if (!views) return views.error();
  if (views->empty()) {
    return make_error("not_found", options_.name + ": no workload " + workload_id);
  }
  return summarize_workload(workload_id, views.value(), options_.name);
}

Result<std::vector<WorkloadInfo>> DockerEngine::list() {
  auto views =
      containers(label_filter({std::string(kEngineLabel) + "=" + std::string(kEngineLabelValue)}));
  if (!views) return views.error();
  std::vector<WorkloadInfo> out;
  for (const auto& [id, group] : group_by_workload(views.value())) {
    out.push_back(summarize_workload(id, group, options_.name));
  }
  return out;
}

Result<std::string> DockerEngine::logs(const std::string& workload_id, int tail_lines) {
  auto views = workload_containers(workload_id);
  if (!views) return views.error();
  if (views->empty()) {
    return make_error("not_found", options_.name + ": no workload " + workload_id);
  }
  std::vector<ContainerView> apps;
  for (const auto& v : views.value()) {
    if (!v.is_pause()) apps.push_back(v);
  }
  auto index = [](const ContainerView& v, std::string_view label) {
    return std::atoi(v.label(label).c_str());
  };
  std::sort(apps.begin(), apps.end(), [&](const auto& a, const auto& b) {
    return std::make_tuple(index(a, kPodIndexLabel), index(a, kContainerIndexLabel)) <
           std::make_tuple(index(b, kPodIndexLabel), index(b, kContainerIndexLabel));
  });

  std::string out;
  const std::string tail = tail_lines > 0 ? std::to_string(tail_lines) : "all";
  for (const auto& app : apps) {
    auto response =
        call({"GET", "/containers/" + app.id + "/logs?stdout=1&stderr=1&tail=" + tail, "", {}});
    if (!response) return response.error();
    if (response->status != 200) {
      return make_error("engine_error", options_.name + ": logs of " + pod_and_container(app) +
                                            ": HTTP " + std::to_string(response->status) + ": " +
                                            daemon_message(*response));
    }
    auto demuxed = demultiplex_logs(response->body);
    if (!demuxed) {
      return make_error(
          demuxed.error().code,
          options_.name + ": logs of " + pod_and_container(app) + ": " + demuxed.error().message);
    }
    if (apps.size() > 1) {
      if (!out.empty() && out.back() != '\n') out.push_back('\n');
      out += "==> " + pod_and_container(app) + " <==\n";
    }
    out += demuxed->combined;
  }
  return out;
}

Result<void> DockerEngine::remove(const std::string& workload_id) {
  auto views = workload_containers(workload_id);
  if (!views) return views.error();
  // Containers first, then the pause containers whose namespaces they share.
  std::vector<ContainerView> ordered = views.value();
  std::stable_partition(ordered.begin(), ordered.end(),
                        [](const ContainerView& v) { return !v.is_pause(); });
  std::optional<Error> first_error;
  for (const auto& v : ordered) {
    if (auto removed = remove_container(v.id); !removed && !first_error) {
      first_error = removed.error();
    }
  }
  if (first_error) return *first_error;
  auto left = workload_containers(workload_id);
  if (!left) return left.error();
  if (!left->empty()) {
    return make_error("engine_error", options_.name + ": " + std::to_string(left->size()) +
                                          " containers of workload " + workload_id +
                                          " remain after removal");
  }
  if (!ordered.empty()) {
    spdlog::info("component=runtime.docker engine={} removed workload={} containers={}",
                 options_.name, workload_id, ordered.size());
  }
  return ok_result();
}

Result<void> DockerEngine::restart(const std::string& workload_id) {
  auto views = workload_containers(workload_id);
  if (!views) return views.error();
  if (views->empty()) {
    return make_error("not_found", options_.name + ": no workload " + workload_id);
  }
  std::map<std::string, std::vector<const ContainerView*>> pods;
  for (const auto& v : views.value()) pods[v.label(kPodLabel)].push_back(&v);
  int restarted = 0;
  for (auto& [pod, members] : pods) {
    auto pause =
        std::find_if(members.begin(), members.end(), [](const auto* v) { return v->is_pause(); });
    if (pause == members.end()) {
      return make_error("engine_error", options_.name + ": pod " + pod +
                                            " has lost its pause container; redeploy it");
    }
    bool pause_restarted = false;
    if ((*pause)->state != "running") {
      if (auto started = start_container((*pause)->id); !started) {
        return make_error("engine_error", "restarting pod " + pod + ": " + started.error().message);
      }
      pause_restarted = true;
      ++restarted;
    }
    for (const auto* v : members) {
      if (v->is_pause()) continue;
      if (pause_restarted && v->state == "running") {
        // Joined to the old namespace: restart it into the new one.
        auto r = call({"POST", "/containers/" + v->id + "/restart?t=1", "", {}});
        if (!r) return r.error();
        if (r->status != 204 && r->status != 200) {
          return make_error("engine_error", options_.name + ": restarting " +
                                                pod_and_container(*v) + ": " + daemon_message(*r));
        }
        ++restarted;
      } else if (v->state != "running") {
        if (auto started = start_container(v->id); !started) {
          return make_error("engine_error",
                            "restarting " + pod_and_container(*v) + ": " + started.error().message);
        }
        ++restarted;
      }
    }
  }
  spdlog::info("component=runtime.docker engine={} restarted workload={} containers={}",
               options_.name, workload_id, restarted);
  return ok_result();
}

}  // namespace beemesh::runtime::docker
