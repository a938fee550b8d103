# beemesh_target_warnings(target): the project's warning set on one target.
add_library(beemesh_warnings INTERFACE)
target_compile_options(beemesh_warnings INTERFACE -Wall -Wextra -Wpedantic)
if(BEEMESH_WERROR)
  target_compile_options(beemesh_warnings INTERFACE -Werror)
endif()
# Clang checks the thread-safety annotations (common/thread_annotations.h); GCC ignores
# them. scripts/thread-safety.sh builds the annotated libraries this way in the test run.
if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  target_compile_options(beemesh_warnings INTERFACE -Wthread-safety)
endif()

# beemesh_component(NAME SOURCES... DEPS ...): a static library beemesh_<NAME>
# for one folder under src/, with warnings on and src/ as its include root.
function(beemesh_component name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(beemesh_${name} STATIC ${ARG_SOURCES})
  target_include_directories(beemesh_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(beemesh_${name} PUBLIC ${ARG_DEPS} PRIVATE beemesh_warnings)
endfunction()

# beemesh_test(NAME SOURCES... DEPS ... LABELS ...): a GoogleTest binary registered with CTest.
function(beemesh_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main
                                        beemesh_warnings)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests)
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES TIMEOUT ${ARG_TIMEOUT} LABELS "${ARG_LABELS}")
endfunction()
