#include "dht/opendht_interposer.h"

#include <dlfcn.h>

#include <cstring>

namespace beemesh::dht {

bool binds_outside_libopendht(const char* symbol) {
  void* bound = ::dlsym(RTLD_DEFAULT, symbol);
  Dl_info where{};
  if (bound == nullptr || ::dladdr(bound, &where) == 0 || where.dli_fname == nullptr) return false;
  return std::strstr(where.dli_fname, "libopendht") == nullptr;
}

}  // namespace beemesh::dht
