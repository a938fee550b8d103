// api/version.h — the beemesh version every binary and the API report.
//
// Promise: kVersion is the project version from CMake (project(beemesh VERSION ...)),
// identical in the daemon's GET /health and in `beemesh version`.
#pragma once

#include <string_view>

#ifndef BEEMESH_VERSION
#error "BEEMESH_VERSION is set by src/api/CMakeLists.txt; link beemesh_api"
#endif

namespace beemesh::api {

inline constexpr std::string_view kVersion = BEEMESH_VERSION;

}  // namespace beemesh::api
