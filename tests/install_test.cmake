# The installed package, as a user sees it: `cmake --install` of this build
# tree into a scratch prefix, then
#   - tests/consumer, a CMake project with find_package(weft REQUIRED) and
#     two executables, one on weft::weft and one on weft::weft_static;
#   - tests/consumer/consumer.c compiled with `pkg-config --cflags --libs weft`;
# each built and run (it prints the version and the device count, or the
# NO_DEVICE message). Registered by tests/CMakeLists.txt as install_consumer:
#   cmake -DBUILD_DIR= -DWORK_DIR= -DCONSUMER_DIR= -DVERSION= -DLIBDIR=
#         -DC_COMPILER= -DGENERATOR= [-DMAKE_PROGRAM=] [-DCONFIG=]
#         [-DPKG_CONFIG=] [-DSANITIZE=address,undefined] -P install_test.cmake
cmake_minimum_required(VERSION 3.16)

foreach(var BUILD_DIR WORK_DIR CONSUMER_DIR VERSION LIBDIR C_COMPILER GENERATOR)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "install_test.cmake: ${var} is not set")
  endif()
endforeach()

# run(NAME cmd args...): runs a command, stops the test with its output
# when it fails; its stdout is left in ${NAME}_OUT.
function(run name)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                  ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " cmd "${ARGN}")
    message(FATAL_ERROR "${name} failed (${rc}):\n  ${cmd}\n${out}\n${err}")
  endif()
  set(${name}_OUT "${out}" PARENT_SCOPE)
  message(STATUS "${name}: ok")
endfunction()

# A sanitizer build's libraries need the sanitizer runtime in the consumer
# too, so consumers are built with the same -fsanitize flags there.
set(san_flags "")
if(SANITIZE)
  set(san_flags "-fsanitize=${SANITIZE}")
endif()

set(prefix ${WORK_DIR}/prefix)
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

set(config_args "")
if(CONFIG)
  set(config_args --config ${CONFIG})
endif()
run(install ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix} ${config_args})
foreach(f include/weft.h ${LIBDIR}/cmake/weft/weftConfig.cmake
          ${LIBDIR}/cmake/weft/weftConfigVersion.cmake ${LIBDIR}/pkgconfig/weft.pc)
  if(NOT EXISTS ${prefix}/${f})
    message(FATAL_ERROR "cmake --install did not install ${f}")
  endif()
endforeach()

# ---- find_package(weft) ---------------------------------------------------
set(gen_args -G ${GENERATOR})
if(MAKE_PROGRAM)
  list(APPEND gen_args -DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM})
endif()
run(configure_consumer ${CMAKE_COMMAND} -S ${CONSUMER_DIR} -B ${WORK_DIR}/consumer
    ${gen_args} -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=${C_COMPILER}
    "-DCMAKE_C_FLAGS=${san_flags}" "-DCMAKE_EXE_LINKER_FLAGS=${san_flags}"
    -DCMAKE_PREFIX_PATH=${prefix} -DEXPECTED_VERSION=${VERSION})
# The package must come from the scratch prefix, not from a weft installed
# on the system.
file(STRINGS ${WORK_DIR}/consumer/CMakeCache.txt found REGEX "^weft_DIR:")
string(REGEX REPLACE "^weft_DIR:[A-Z]+=" "" found "${found}")
if(NOT found STREQUAL "${prefix}/${LIBDIR}/cmake/weft")
  message(FATAL_ERROR "find_package(weft) used '${found}', not the package in ${prefix}")
endif()
run(build_consumer ${CMAKE_COMMAND} --build ${WORK_DIR}/consumer)

set(expected "^weft ${VERSION}: ([0-9]+ OpenCL device|NO_DEVICE: )")
foreach(exe consumer_shared consumer_static)
  run(${exe} ${WORK_DIR}/consumer/${exe})
  if(NOT ${exe}_OUT MATCHES "${expected}")
    message(FATAL_ERROR "${exe} printed '${${exe}_OUT}', expected '${expected}'")
  endif()
  message(STATUS "${exe}: ${${exe}_OUT}")
endforeach()

# ---- pkg-config -------------------------------------------------------------
if(NOT PKG_CONFIG)
  find_program(PKG_CONFIG pkg-config)
endif()
if(NOT PKG_CONFIG)
  message(FATAL_ERROR "pkg-config not found")
endif()
set(ENV{PKG_CONFIG_PATH} ${prefix}/${LIBDIR}/pkgconfig)
run(pc_version ${PKG_CONFIG} --modversion weft)
string(STRIP "${pc_version_OUT}" pc_version)
if(NOT pc_version STREQUAL VERSION)
  message(FATAL_ERROR "pkg-config --modversion weft gave '${pc_version}', expected ${VERSION}")
endif()
run(pc_flags ${PKG_CONFIG} --cflags --libs weft)
string(STRIP "${pc_flags_OUT}" pc_flags)
message(STATUS "pkg-config --cflags --libs weft: ${pc_flags}")
separate_arguments(pc_flags UNIX_COMMAND "${pc_flags}")
separate_arguments(san_list UNIX_COMMAND "${san_flags}")
run(compile_pkgconfig ${C_COMPILER} -std=c11 -Wall -Wextra -Werror ${san_list}
    ${CONSUMER_DIR}/consumer.c -o ${WORK_DIR}/consumer_pkgconfig ${pc_flags})
set(ENV{LD_LIBRARY_PATH} "${prefix}/${LIBDIR}:$ENV{LD_LIBRARY_PATH}")
run(consumer_pkgconfig ${WORK_DIR}/consumer_pkgconfig)
if(NOT consumer_pkgconfig_OUT MATCHES "${expected}")
  message(FATAL_ERROR "consumer_pkgconfig printed '${consumer_pkgconfig_OUT}'")
endif()
message(STATUS "consumer_pkgconfig: ${consumer_pkgconfig_OUT}")
message(STATUS "install_consumer: all consumers built and ran")
