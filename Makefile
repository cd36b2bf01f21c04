# Short commands over CMake. BUILD picks the build folder; CMAKE_ARGS adds
# configuration (e.g. CMAKE_ARGS=-DTC_SANITIZE=address,undefined).
# BENCH_ARGS goes to bench/run.sh (e.g. BENCH_ARGS=--quick).
BUILD      ?= build
PREFIX     ?= /usr/local
CMAKE_ARGS ?=
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all build demo test bench install clean lint format

all: build

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) $(CMAKE_ARGS)

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	$(BUILD)/examples/demo

test: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

bench: build
	bench/run.sh $(BENCH_ARGS) $(BUILD)

install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

lint:
	tools/lint.sh

format: # the same files that `make lint` checks
	tools/lint.sh format

clean:
	rm -rf $(BUILD) build-*
