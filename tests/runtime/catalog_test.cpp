// runtime/engines/catalog.h: engines are built by name from their settings, with the
// priority and implicit flag the settings give them.
#include "runtime/engines/catalog.h"

#include <gtest/gtest.h>

namespace beemesh::runtime {
namespace {

TEST(EngineCatalog, ListsEveryKindOfThisBuild) {
  std::vector<std::string> kinds;
  for (const auto& k : engine_kinds()) kinds.emplace_back(k.kind);
  EXPECT_EQ(kinds, (std::vector<std::string>{"podman", "podman-cli", "docker"}));
  EXPECT_EQ(find_engine_kind("mock"), nullptr);
}

TEST(EngineCatalog, BuildsEachConfiguredEngineUnderItsName) {
  auto parsed = parse_engines(YAML::Load(R"(
podman: {}
podman-compat: {kind: docker, socket: /nonexistent/podman.sock, priority: 70}
)"));
  ASSERT_TRUE(parsed.ok()) << parsed.error().to_string();
  EngineRegistry registry;
  ASSERT_TRUE(register_engines(*parsed, registry).ok());
  EXPECT_EQ(registry.names(), (std::vector<std::string>{"podman", "podman-compat"}));
  ASSERT_NE(registry.get("podman-compat"), nullptr);
  EXPECT_EQ(registry.get("podman-compat")->name(), "podman-compat");
}

TEST(EngineCatalog, AnEngineThatIsNotImplicitIsOnlyUsedByName) {
  auto parsed =
      parse_engines(YAML::Load("docker: {socket: /nonexistent/docker.sock, implicit: false}\n"));
  ASSERT_TRUE(parsed.ok()) << parsed.error().to_string();
  EngineRegistry registry;
  ASSERT_TRUE(register_engines(*parsed, registry).ok());
  auto selected = registry.select(std::nullopt);
  ASSERT_FALSE(selected.ok());
  EXPECT_NE(selected.error().message.find("docker: only used when requested by name"),
            std::string::npos);
}

TEST(EngineCatalog, DefaultsArePodmanThenDocker) {
  auto engines = default_engines();
  ASSERT_EQ(engines.size(), 2u);
  EXPECT_EQ(engines[0].name, "podman");
  EXPECT_GT(engines[0].priority, engines[1].priority);
  EXPECT_EQ(engines[1].name, "docker");
}

}  // namespace
}  // namespace beemesh::runtime
