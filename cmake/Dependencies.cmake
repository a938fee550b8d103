# Every third-party library beemesh uses, all from Debian bookworm (scripts/install-deps.sh).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)

pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
pkg_check_modules(SQLITE3 REQUIRED IMPORTED_TARGET sqlite3)
find_library(GFSHARE_LIB gfshare REQUIRED)
find_path(GFSHARE_INCLUDE libgfshare.h REQUIRED)
add_library(gfshare INTERFACE)
target_link_libraries(gfshare INTERFACE ${GFSHARE_LIB})
target_include_directories(gfshare INTERFACE ${GFSHARE_INCLUDE})

find_package(yaml-cpp REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(CLI11 REQUIRED)
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
find_package(FlatBuffers REQUIRED)
find_program(FLATC flatc REQUIRED)

# OpenDHT 2.4.12's CMake config names targets it does not define; define them first.
pkg_check_modules(Jsoncpp REQUIRED IMPORTED_TARGET jsoncpp)
pkg_check_modules(OPENSSL REQUIRED IMPORTED_TARGET openssl)
find_package(msgpack CONFIG REQUIRED)
# ... and `msgpackc-cxx` (header-only msgpack-cxx), which find_package(msgpack) does not
# define because it finds the C library's config first.
if(NOT TARGET msgpackc-cxx)
  add_library(msgpackc-cxx INTERFACE IMPORTED GLOBAL)
  set_target_properties(msgpackc-cxx PROPERTIES
    INTERFACE_COMPILE_DEFINITIONS "MSGPACK_DEFAULT_API_VERSION=3")
endif()
find_package(opendht REQUIRED)

# Standalone asio (header only) with C++20 coroutines.
add_library(asio INTERFACE)
# ASIO_DISABLE_STD_ALIGNED_ALLOC: asio 1.22 picks its recycling allocator from which
# standard headers came first, so translation units could disagree (alloc/free mismatch).
target_compile_definitions(asio INTERFACE ASIO_STANDALONE ASIO_NO_DEPRECATED
                                          ASIO_DISABLE_STD_ALIGNED_ALLOC)
target_link_libraries(asio INTERFACE Threads::Threads)
# GCC 12 reports a false -Wmismatched-new-delete on asio's awaitable frames (asio gives
# them a class-specific operator new/delete pair that GCC fails to match up).
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  target_compile_options(asio INTERFACE -Wno-mismatched-new-delete)
endif()

if(BEEMESH_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(BEEMESH_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()
