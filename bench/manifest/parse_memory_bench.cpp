// parse_memory_bench DIR ROUNDS: parses every file of DIR with manifest::parse, and 20 Pods of
// its own with one annotation of 1 KiB .. 600 KiB (beyond the 256 KiB scalar limit from the
// 9th on), ROUNDS times, and prints the process's resident memory (VmRSS) ten times along the way.
// Flat figures mean parse() keeps nothing across calls (the question a long fuzzing process raised:
// docs/BENCHMARKS.md, "Fuzzing").
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "manifest/manifest.h"

namespace {

long rss_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s DIR ROUNDS\n", argv[0]);
    return 2;
  }
  std::vector<std::string> inputs;
  size_t bytes = 0;
  for (const auto& entry : std::filesystem::directory_iterator(argv[1])) {
    if (!entry.is_regular_file()) continue;
    std::ifstream file(entry.path(), std::ios::binary);
    std::stringstream text;
    text << file.rdbuf();
    inputs.push_back(text.str());
    bytes += inputs.back().size();
  }
  for (size_t i = 0; i < 20; ++i) {
    const size_t scalar = 1024 + i * 31 * 1024;
    inputs.push_back("apiVersion: v1\nkind: Pod\nmetadata:\n  name: big" + std::to_string(i) +
                     "\n  annotations:\n    note: \"" + std::string(scalar, 'x') +
                     "\"\nspec:\n  containers:\n    - name: c\n      image: "
                     "localhost/busybox:latest\n");
    bytes += inputs.back().size();
  }
  const long rounds = std::max(1L, std::stol(argv[2]));
  std::printf("%zu inputs, %zu bytes; before parsing: VmRSS %ld KiB\n", inputs.size(), bytes,
              rss_kib());
  size_t accepted = 0;
  for (long r = 0; r < rounds; ++r) {
    for (const auto& input : inputs) accepted += beemesh::manifest::parse(input, "bench.yaml").ok();
    if (r % std::max(1L, rounds / 10) == 0) {
      std::printf("after round %ld: VmRSS %ld KiB\n", r + 1, rss_kib());
    }
  }
  std::printf("%ld parses (%zu accepted); at the end: VmRSS %ld KiB\n",
              rounds * static_cast<long>(inputs.size()), accepted, rss_kib());
  return 0;
}
