// runtime/engines/catalog.h — the engine kinds this build contains, and building engines by
// name from the `engines:` section of beemesh.yaml.
//
// Promise:
//  * kEngineKinds is the one, explicit registration list (no static initialisers): each
//    kind has its own config struct, a reader that fills it from one YAML mapping, and an
//    init function that builds the engine from it.
//  * parse_engines() reads `engines:` (a mapping: engine name -> settings). Each entry's
//    `kind` defaults to its name; unknown kinds, unknown keys and bad values are
//    Error{"bad_config"} naming the key ("engines.podman.play_timeout_seconds: must be
//    more than 0"). A configured list replaces the defaults: only the listed engines are
//    built.
//  * default_engines() is what a node runs without an `engines:` section: podman
//    (priority 100) and docker (priority 50), both with their kind's defaults.
//  * register_engines() builds every configured engine and adds it to a registry; it
//    probes nothing (availability is the caller's business).
#pragma once

#include <yaml-cpp/yaml.h>

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/result.h"
#include "runtime/engines/docker/docker_options.h"
#include "runtime/engines/podman/podman_engine.h"
#include "runtime/engines/podman/podman_rest_engine.h"
#include "runtime/runtime.h"

namespace beemesh::runtime {

// One configured engine.
struct EngineSettings {
  std::string name;      // registry name, unique ("podman", "docker", "podman-compat", ...)
  std::string kind;      // an entry of kEngineKinds
  int priority = 0;      // auto-detection order, higher first
  bool implicit = true;  // false: used only when asked for by name
  std::variant<PodmanRestConfig, PodmanConfig, docker::DockerEngineOptions> config;
};

struct EngineKind {
  std::string_view kind;
  int default_priority;
  // Fills `out.config` from the keys of one `engines.<name>` mapping other than kind,
  // priority and implicit. `key_prefix` ("engines.<name>.") starts every error message.
  Result<void> (*read)(const YAML::Node& node, const std::string& key_prefix, EngineSettings& out);
  // Builds the engine (it does not probe it).
  Result<std::shared_ptr<RuntimeEngine>> (*init)(const EngineSettings& settings);
};

// Every engine kind of this build.
std::span<const EngineKind> engine_kinds();
const EngineKind* find_engine_kind(std::string_view kind);

// podman (100) and docker (50) with their defaults.
std::vector<EngineSettings> default_engines();

// Reads the `engines:` mapping; errors are bad_config and start with "engines.".
Result<std::vector<EngineSettings>> parse_engines(const YAML::Node& node);

// Builds each engine and adds it to `registry` with its priority and implicit flag.
Result<void> register_engines(const std::vector<EngineSettings>& engines, EngineRegistry& registry);

}  // namespace beemesh::runtime
