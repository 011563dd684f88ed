#!/usr/bin/env bash
# `make bench`: onestone against PyTorch (training and inference) and onnxruntime (inference) on identical
# models and inputs, in one run, alternating the programs, each at 1 and 2 threads; prints medians, each
# reference's best thread setting, ratios, peak resident memory, the sgemm peak of the BLAS in use and
# onestone's training FLOP/s as a fraction of it. BENCH_QUICK=1: one round, fewer steps (about 2 minutes);
# BENCH_ROUNDS=N: N rounds (3 by default).
# Results: build-bench/results.jsonl (raw lines) and build-bench/summary.txt. docs/performance.md explains.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
WORK=${BENCH_DIR:-build-bench}
PY=/usr/bin/python3
QUICK=${BENCH_QUICK:-0}
case "${BENCH_ROUNDS:-1}" in '' | *[!0-9]* | 0)
  echo "bench: BENCH_ROUNDS must be a positive integer, not '${BENCH_ROUNDS}'" >&2; exit 2 ;; esac
# Every program gets the onestone CLI's default wait setting (src/cli/main.c): idle OpenMP threads spin 1,000
# times, then sleep. It is PyTorch's best too (measured: +8 % over OMP_WAIT_POLICY=PASSIVE at 2 threads; with
# libgomp's default long spinning its OpenMP threads fight its OpenBLAS threads and 2 threads run at half the
# speed). Set OMP_WAIT_POLICY or GOMP_SPINCOUNT to compare other settings.
if [ -z "${OMP_WAIT_POLICY:-}" ]; then export GOMP_SPINCOUNT=${GOMP_SPINCOUNT:-1000}; fi
unset OMP_NUM_THREADS OPENBLAS_NUM_THREADS
# Debian's torch does its matrix products in the system BLAS (BLAS_INFO=generic), which starts its own
# threads whatever torch.set_num_threads says; the PyTorch runs therefore also get OPENBLAS_NUM_THREADS.

cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j 2 --target bench_onestone >/dev/null
BIN="$BUILD/bench_onestone"
mkdir -p "$WORK"
ORT="$PWD/$WORK/node/node_modules/onnxruntime-node"
if [ ! -d "$ORT" ]; then
  echo "bench: installing onnxruntime-node (npm, --ignore-scripts) into $WORK/node"
  npm install --silent --ignore-scripts --no-audit --no-fund --prefix "$WORK/node" onnxruntime-node@1.30.0 >/dev/null
fi

if [ "$QUICK" = 1 ]; then
  ROUNDS=1; MINI_STEPS=2; BASE_STEPS=1; PASSES=3; BASE_B=1
else
  ROUNDS=3; MINI_STEPS=4; BASE_STEPS=3; PASSES=5; BASE_B=2
fi
# More rounds give steadier medians on a noisy machine (each round takes about 1.6 minutes in full mode).
ROUNDS=${BENCH_ROUNDS:-$ROUNDS}
MINI="$WORK/mini" BASE="$WORK/base"
# BERT-Mini (L4/H256/A4/I1024) at 32 x 128; BERT-Base shape (L12/H768/A12/I3072) at BASE_B x 128.
"$BIN" init "$MINI" 4 256 4 1024 30522 32 128
"$BIN" init "$BASE" 12 768 12 3072 30522 "$BASE_B" 128
$PY bench/torch_ref.py export "$MINI" "$MINI/model.onnx" 2>/dev/null

RES="$WORK/results.jsonl"
: >"$RES"
# run MODEL_TAG COMMAND...: appends the command's JSON line, tagged with the model.
run() {
  local tag=$1; shift
  local line
  line=$("$@" | tail -n 1)
  echo "  $tag $line"
  echo "{\"model\":\"$tag\",${line#\{}" >>"$RES"
}

for th in 1 2; do run blas "$BIN" sgemm $th; done
for ((r = 1; r <= ROUNDS; r++)); do
  echo "bench: round $r of $ROUNDS"
  for th in 1 2; do
    run mini "$BIN" train "$MINI" $th "$MINI_STEPS" 1
    run mini env OPENBLAS_NUM_THREADS=$th $PY bench/torch_ref.py train "$MINI" $th "$MINI_STEPS" 1
  done
  for th in 1 2; do
    run base "$BIN" train "$BASE" $th "$BASE_STEPS" 1
    run base env OPENBLAS_NUM_THREADS=$th $PY bench/torch_ref.py train "$BASE" $th "$BASE_STEPS" 1
  done
  for th in 1 2; do
    run mini "$BIN" infer "$MINI" $th "$PASSES" 1
    run mini env OPENBLAS_NUM_THREADS=$th $PY bench/torch_ref.py infer "$MINI" $th "$PASSES" 1
    run mini node bench/ort_ref.js "$ORT" "$MINI" $th "$PASSES" 1
  done
done
$PY bench/summary.py "$RES" "$MINI" "$BASE" | tee "$WORK/summary.txt"
