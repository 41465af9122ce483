# Developer entry points; CMake does the building (see CMakeLists.txt).
#   make help
# Folders and tools can be overridden: make test BUILD_DIR=b ASAN_DIR=b-asan

BUILD_DIR  ?= build
ASAN_DIR   ?= build-asan
BUILD_TYPE ?= RelWithDebInfo
CMAKE      ?= cmake
CTEST      ?= ctest
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CTEST_JOBS ?= 2
SANITIZE   ?= address,undefined
# Extra arguments: make build CMAKE_ARGS=-DCMAKE_C_COMPILER=clang,
# make bench BENCH_ARGS='--repeat 9'.
CMAKE_ARGS ?=
BENCH_ARGS ?=
# The peer comparison (make bench-peers PEERS_ARGS='--models resnet18 --runs 20').
PEERS_VENV   ?= $(BUILD_DIR)/peers-venv
PEERS_MODELS ?= $(BUILD_DIR)/models
PEERS_OUT    ?= $(BUILD_DIR)/peers
PEERS_ARGS   ?=
PEERS_RUN = $(PEERS_VENV)/bin/python bench/peers/run_peers.py --weft $(BUILD_DIR)/weft \
	--model-dir $(PEERS_MODELS)

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
# Targets run one after another in the order given (deps before build);
# CMake builds in parallel itself.
.NOTPARALLEL:
.DEFAULT_GOAL := help
.PHONY: help deps build demo test test-normal test-asan bench clean
.PHONY: bench-peers bench-peers-smoke

# ctest flags: a test set that turns out empty is an error, not a pass.
CTEST_FLAGS = --output-on-failure --no-tests=error -j$(CTEST_JOBS)
# A sub-make's flags must not reach the make that CMake runs.
CMAKE_ENV = env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL

help:
	@echo "usage: make TARGET"
	@echo "  deps    check the Debian packages; install the missing ones (root)"
	@echo "  build   configure and build $(BUILD_DIR)/ ($(BUILD_TYPE), warnings are errors)"
	@echo "  demo    build, then 'weft devices', 'weft selfcheck' and 'weft demo' (the"
	@echo "          held-out digits of examples/digits/ on the best device)"
	@echo "  test    deps, build, ctest in $(BUILD_DIR)/ (with the oclgrind tests), then an"
	@echo "          ASan+UBSan build in $(ASAN_DIR)/ and its ctest; ends with a summary line"
	@echo "  bench   build, then run bench_programs (program creation) and bench_ops"
	@echo "  bench-peers  weft against onnxruntime, PyTorch and OpenCV DNN (CPU, OpenCL) on"
	@echo "          the model zoo: sets up $(PEERS_VENV)/, exports $(PEERS_MODELS)/ if"
	@echo "          missing, writes $(PEERS_OUT)/peers.md, .json, .png; PEERS_ARGS='--runs 20'"
	@echo "  bench-peers-smoke  the comparison's own checks, and a --quick run of one model"
	@echo "  clean   remove $(BUILD_DIR)/ and $(ASAN_DIR)/"

deps:
	@sh cmake/install-deps.sh

# The configure output goes to configure.log in the build folder, and is
# shown only when configuring fails.
build:
	@mkdir -p $(BUILD_DIR)
	@$(CMAKE_ENV) $(CMAKE) -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) \
	    -DWEFT_WERROR=ON $(CMAKE_ARGS) >$(BUILD_DIR)/configure.log 2>&1 \
	    || { cat $(BUILD_DIR)/configure.log >&2; exit 1; }
	$(CMAKE_ENV) $(CMAKE) --build $(BUILD_DIR) -j$(JOBS)

demo: deps build
	./$(BUILD_DIR)/weft devices
	./$(BUILD_DIR)/weft selfcheck
	./$(BUILD_DIR)/weft demo examples/digits

# The ASan step goes ahead even when the normal build or its ctest fails;
# the summary then counts every step (a failed build as one failure) and
# the target fails.
test: deps
	@status=0; start=$$(date +%s); \
	rm -f $(BUILD_DIR)/ctest.log $(ASAN_DIR)/ctest.log $(BUILD_DIR)/conformance.txt $(ASAN_DIR)/conformance.txt; \
	if $(MAKE) --no-print-directory build; then \
	    $(MAKE) --no-print-directory test-normal || status=1; \
	else status=1; fi; \
	$(MAKE) --no-print-directory test-asan || status=1; \
	WEFT_TEST_SECONDS=$$(( $$(date +%s) - start )) \
	    cmake/test-summary.sh "$(BUILD_DIR)" "$(ASAN_DIR)" || status=1; \
	exit $$status

test-normal:
	@rm -f $(BUILD_DIR)/ctest.log
	@echo "== ctest in $(BUILD_DIR)/"
	cd $(BUILD_DIR) && $(CTEST) $(CTEST_FLAGS) 2>&1 | tee ctest.log

test-asan:
	@rm -f $(ASAN_DIR)/ctest.log
	@echo "== ASan+UBSan build in $(ASAN_DIR)/"
	@mkdir -p $(ASAN_DIR)
	@$(CMAKE_ENV) $(CMAKE) -S . -B $(ASAN_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) \
	    -DWEFT_SANITIZE=$(SANITIZE) -DWEFT_BUILD_BENCH=OFF -DWEFT_OCLGRIND_TESTS=OFF \
	    $(CMAKE_ARGS) >$(ASAN_DIR)/configure.log 2>&1 \
	    || { cat $(ASAN_DIR)/configure.log >&2; exit 1; }
	$(CMAKE_ENV) $(CMAKE) --build $(ASAN_DIR) -j$(JOBS)
	@echo "== ctest in $(ASAN_DIR)/"
	cd $(ASAN_DIR) && $(CTEST) $(CTEST_FLAGS) 2>&1 | tee ctest.log

bench: deps build
	./$(BUILD_DIR)/bench/bench_programs $(BENCH_ARGS)
	./$(BUILD_DIR)/bench/bench_ops

# A benchmark, not a test: kept out of `make test`.
bench-peers: deps build
	@sh bench/peers/setup-env.sh $(PEERS_VENV)
	@test -d $(PEERS_MODELS) || /usr/bin/python3 bench/models/export_models.py --out $(PEERS_MODELS)
	$(PEERS_RUN) --out $(PEERS_OUT) $(PEERS_ARGS)

bench-peers-smoke: deps build
	@sh bench/peers/setup-env.sh $(PEERS_VENV)
	WEFT=$(BUILD_DIR)/weft $(PEERS_VENV)/bin/python bench/peers/smoke_test.py
	@test -d $(PEERS_MODELS) || /usr/bin/python3 bench/models/export_models.py --out $(PEERS_MODELS)
	$(PEERS_RUN) --out $(PEERS_OUT)-smoke --quick --models squeezenet1_1

clean:
	rm -rf -- "$(BUILD_DIR)" "$(ASAN_DIR)"
