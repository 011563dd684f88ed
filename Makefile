# Thin wrapper over CMake. `make demo` runs the main job; `make test` builds and runs the whole suite
# (normal build, then an ASan+UBSan build of the same tests).
JOBS ?= $(shell nproc)
BUILD ?= build
ASAN_BUILD ?= build-asan

.PHONY: all setup build demo test test-fast test-asan test-fuzz clean bench bench-scaling quality

all: build

setup:
	@bash scripts/setup.sh

build: setup
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

demo: build
	@bash scripts/demo.sh $(BUILD)/onestone

# The suite twice: the default path, then OpenBLAS only (ONESTONE_PACKED_GEMM=0), the path of CPUs without
# AVX2+FMA, so that a test depending on the packed kernel's summation order shows.
test-fast: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	@cd $(BUILD) && ONESTONE_PACKED_GEMM=0 ctest --output-on-failure -j $(JOBS)

test-asan: setup
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DONESTONE_SANITIZE=ON -DCMAKE_C_COMPILER=clang >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	@cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		ctest --output-on-failure -j $(JOBS)

# Every libFuzzer target for about 18 s (docs/reliability.md); fails on a crash.
test-fuzz: setup
	@bash scripts/fuzz_ci.sh

test: test-fast test-asan test-fuzz

# onestone vs PyTorch / onnxruntime, same run, alternating (docs/performance.md); BENCH_QUICK=1 for ~2 minutes.
bench:
	@ONESTONE_SETUP_BENCH=1 bash scripts/setup.sh
	@bash bench/run.sh

# Tokens/s against sequence length and batch size, 1 and 2 threads, with a plot (docs/performance.md).
bench-scaling:
	@ONESTONE_SETUP_BENCH=1 bash scripts/setup.sh
	@bash bench/scaling.sh

# The quality recipe (docs/quality.md): pretraining, joint fine-tuning, single-task baselines; about 75 minutes.
# Needs ONESTONE_DATA; OUT, SEED, JOBS, ABLATE=1 and the other settings of scripts/quality.sh pass through.
quality: build
	@bash scripts/quality.sh

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
