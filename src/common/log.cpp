#include "common/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <string>

namespace beemesh {

Result<spdlog::level::level_enum> parse_log_level(std::string_view name) {
  using spdlog::level::level_enum;
  if (name == "trace") return level_enum::trace;
  if (name == "debug") return level_enum::debug;
  if (name == "info") return level_enum::info;
  if (name == "warn") return level_enum::warn;
  if (name == "error") return level_enum::err;
  if (name == "off") return level_enum::off;
  return make_error("bad_log_level", "unknown log level '" + std::string(name) +
                                         "' (expected trace|debug|info|warn|error|off)");
}

void setup_logging(spdlog::level::level_enum level, bool json) {
  auto logger = spdlog::stderr_color_mt("beemesh");
  if (json) {
    logger->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","msg":"%v"})");
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");
  }
  logger->set_level(level);
  spdlog::set_default_logger(logger);
}

}  // namespace beemesh
