// tests/runtime_docker/real_daemons_env.h — one RealDaemons for the whole test binary:
// started before the first test, stopped after the last (a gtest global environment).
#pragma once

#include <string>

#include "real_daemons.h"

namespace beemesh::test {

// The daemons, or nullptr when they could not be started (see daemons_error()).
RealDaemons* daemons();
const std::string& daemons_error();

}  // namespace beemesh::test
