#!/usr/bin/env bash
# `make bench-scaling`: BERT-Mini training tokens/s of onestone and PyTorch against sequence length (batch 32)
# and batch size (length 128), at 1 and 2 threads, alternating the programs; writes a Markdown table to
# build-bench/scaling.md and a plot to build-bench/scaling.png (gnuplot). docs/performance.md shows them.
# BENCH_QUICK=1: 1 timed step per point instead of 2.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
WORK=${BENCH_DIR:-build-bench}
PY=/usr/bin/python3
STEPS=2
[ "${BENCH_QUICK:-0}" = 1 ] && STEPS=1
# Every program gets the onestone CLI's default wait setting (src/cli/main.c): idle OpenMP threads spin 1,000
# times, then sleep. It is PyTorch's best too (measured: +8 % over OMP_WAIT_POLICY=PASSIVE at 2 threads; with
# libgomp's default long spinning its OpenMP threads fight its OpenBLAS threads and 2 threads run at half the
# speed). Set OMP_WAIT_POLICY or GOMP_SPINCOUNT to compare other settings.
if [ -z "${OMP_WAIT_POLICY:-}" ]; then export GOMP_SPINCOUNT=${GOMP_SPINCOUNT:-1000}; fi
unset OMP_NUM_THREADS OPENBLAS_NUM_THREADS
# Debian's torch does its matrix products in the system BLAS, which starts its own threads whatever
# torch.set_num_threads says: the PyTorch runs also get OPENBLAS_NUM_THREADS, as in bench/run.sh (without it,
# PyTorch's "1 thread" ran its products on 2 and its per-CPU-second figure halved).

cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j 2 --target bench_onestone >/dev/null
BIN="$BUILD/bench_onestone"
mkdir -p "$WORK/scaling"
DAT="$WORK/scaling.dat"
echo "# B T onestone_1 onestone_2 pytorch_1 pytorch_2 (training tokens/s, wall) onestone_1 pytorch_1 (per CPU-s)" >"$DAT"
# "WALL CPU" tokens/s of one run
tps() { "$@" | tail -n 1 | sed 's/.*"tokens_per_s": *\([0-9.]*\).*"cpu_tokens_per_s": *\([0-9.]*\).*/\1 \2/'; }
for shape in "32 32" "32 64" "32 128" "32 256" "8 128" "16 128"; do
  set -- $shape
  d="$WORK/scaling/b$1t$2"
  "$BIN" init "$d" 4 256 4 1024 30522 "$1" "$2"
  read -r o1 oc < <(tps "$BIN" train "$d" 1 $STEPS 1)
  read -r p1 pc < <(tps env OPENBLAS_NUM_THREADS=1 $PY bench/torch_ref.py train "$d" 1 $STEPS 1)
  read -r o2 _ < <(tps "$BIN" train "$d" 2 $STEPS 1)
  read -r p2 _ < <(tps env OPENBLAS_NUM_THREADS=2 $PY bench/torch_ref.py train "$d" 2 $STEPS 1)
  echo "$1 $2 $o1 $o2 $p1 $p2 $oc $pc" | tee -a "$DAT"
done

{
  echo "| batch x length | onestone 1 thread | onestone 2 threads | 2/1 | PyTorch 1 thread | PyTorch 2 threads | onestone best / PyTorch best | 1 thread per CPU-s: onestone / PyTorch |"
  echo "|---|---|---|---|---|---|---|---|"
  grep -v '^#' "$DAT" | sort -k1,1n -k2,2n | awk '{b1 = $3 > $4 ? $3 : $4; b2 = $5 > $6 ? $5 : $6;
    printf "| %d x %d | %.0f | %.0f | %.2f | %.0f | %.0f | %.2f | %.0f / %.0f = %.2f |\n", $1, $2, $3, $4, $4 / $3, $5, $6,
           b1 / b2, $7, $8, $7 / $8}'
} >"$WORK/scaling.md"
cat "$WORK/scaling.md"

if command -v gnuplot >/dev/null; then
  gnuplot <<EOF
set terminal pngcairo size 1000,420 font ",10"
set output "$WORK/scaling.png"
set multiplot layout 1,2 title "BERT-Mini training tokens/s (higher is better)"
set key left top
set grid
set xlabel "sequence length (batch 32)"
set logscale x 2
plot "< awk '\$1 == 32' $DAT | sort -k2,2n" u 2:3 w lp t "onestone 1 thr", "" u 2:4 w lp t "onestone 2 thr", \
     "" u 2:5 w lp dt 2 t "PyTorch 1 thr", "" u 2:6 w lp dt 2 t "PyTorch 2 thr"
set xlabel "batch size (length 128)"
plot "< awk '\$2 == 128' $DAT | sort -k1,1n" u 1:3 w lp t "onestone 1 thr", "" u 1:4 w lp t "onestone 2 thr", \
     "" u 1:5 w lp dt 2 t "PyTorch 1 thr", "" u 1:6 w lp dt 2 t "PyTorch 2 thr"
unset multiplot
EOF
  echo "plot: $WORK/scaling.png"
fi
