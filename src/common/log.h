// common/log.h — logging setup. Components log through spdlog's default logger;
// the daemon configures level and format once at start-up.
//
// Promise: parse_log_level accepts trace|debug|info|warn|error|off and nothing else.
#pragma once

#include <spdlog/spdlog.h>

#include <string_view>

#include "common/result.h"

namespace beemesh {

Result<spdlog::level::level_enum> parse_log_level(std::string_view name);

// Structured single-line logs: time, level, component=..., message with key=value pairs.
void setup_logging(spdlog::level::level_enum level, bool json = false);

}  // namespace beemesh
