# ctest's fuzz_onnx_smoke: configures and builds tests/fuzz with clang in
# BUILD_DIR, seeds a corpus with the model.onnx of every ONNX node test case
# under CORPUS_SRC (when that folder exists) and the .onnx files of
# SEED_DIRS, and runs RUNS inputs. libFuzzer
# exits non-zero on a crash, a sanitizer report, a leak, or a single
# allocation above 512 MB (an allocation sized by an unchecked field).
set(clean_env ${CMAKE_COMMAND} -E env --unset=MAKEFLAGS --unset=MFLAGS --unset=MAKELEVEL)
function(run name)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${name} failed (${rc}):\n${out}")
  endif()
  set(${name}_OUT "${out}" PARENT_SCOPE)
endfunction()

run(configure ${clean_env} ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${BUILD_DIR}
    -DCMAKE_C_COMPILER=${CLANG} -DCMAKE_BUILD_TYPE=RelWithDebInfo)
run(build ${clean_env} ${CMAKE_COMMAND} --build ${BUILD_DIR} -j2)

set(corpus ${BUILD_DIR}/corpus)
file(REMOVE_RECURSE ${corpus})
file(MAKE_DIRECTORY ${corpus})
if(IS_DIRECTORY "${CORPUS_SRC}")
  file(GLOB models "${CORPUS_SRC}/*/model.onnx")
  foreach(m ${models})
    get_filename_component(case ${m} DIRECTORY)
    get_filename_component(case ${case} NAME)
    configure_file(${m} ${corpus}/${case}.onnx COPYONLY)
  endforeach()
  list(LENGTH models n)
  message(STATUS "corpus: ${n} models from ${CORPUS_SRC}")
else()
  message(STATUS "corpus: ${CORPUS_SRC} is absent")
endif()
# The demo model (a real PyTorch export) and any other .onnx in SEED_DIRS.
foreach(dir ${SEED_DIRS})
  file(GLOB models "${dir}/*.onnx")
  foreach(m ${models})
    get_filename_component(name ${m} NAME)
    configure_file(${m} ${corpus}/seed_${name} COPYONLY)
    message(STATUS "corpus: ${m}")
  endforeach()
endforeach()
run(fuzz ${BUILD_DIR}/fuzz_onnx -runs=${RUNS} -seed=1 -malloc_limit_mb=512
    -print_final_stats=1 ${corpus})
string(REGEX MATCH "stat::number_of_executed_units: *[0-9]+" executed "${fuzz_OUT}")
message(STATUS "fuzz_onnx: ${executed}, no crash, leak or oversized allocation")
