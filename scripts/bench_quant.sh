#!/bin/bash
# int8 quantisation and pruning of a trained model, measured: dev scores on the training config's dev splits
# (the same carving and metrics as `onestone train`), model file size, and inference speed (`onestone predict`
# word pieces per second, every model run once per round, alternating, so that a busy shared machine slows
# all of them alike; the speed-up is the median over rounds of (fp32 time / model time) within a round).
#
# usage: scripts/bench_quant.sh CONFIG.json MODEL_DIR OUT_DIR
#   env: ROUNDS (default 3), FT_STEPS recovery fine-tune steps (default 200), THREADS (default 1),
#        HEADS / FFN structured pruning fractions (default 0.5 / 0.5), TEXTS (default: 500 CoNLL dev
#        sentences + 500 SST-2 sentences from $ONESTONE_DATA)
# Writes OUT_DIR/{int8,sparse50,struct,struct_ft,struct_ft_int8}, OUT_DIR/results.md (a markdown table),
# OUT_DIR/dev_*.json, OUT_DIR/times.txt and OUT_DIR/kernel.txt (the int8 kernel alone vs sgemm).
set -euo pipefail
[ $# -eq 3 ] || { sed -n '2,13p' "$0"; exit 2; }
CONFIG=$1 MODEL=$2 OUT=$3
ROUNDS=${ROUNDS:-3} FT_STEPS=${FT_STEPS:-200} THREADS=${THREADS:-1} HEADS=${HEADS:-0.5} FFN=${FFN:-0.5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/build/onestone
export OMP_NUM_THREADS=$THREADS
[ -x "$BIN" ] || { echo "bench_quant.sh: build first (cmake --build build)" >&2; exit 2; }
mkdir -p "$OUT"

# The dev-split evaluator (scripts/eval_dev.c) against the built library.
BLAS_DIR=/usr/lib/$(gcc -print-multiarch)/openblas-openmp
cc -std=c11 -O2 -march=native -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -I"$ROOT/src" -I"$ROOT/include" \
   "$ROOT/scripts/eval_dev.c" "$ROOT/build/libonestone_core.a" $(pkg-config --libs jansson libutf8proc) \
   -L"$BLAS_DIR" -lopenblas -Wl,-rpath,"$BLAS_DIR" -fopenmp -lm -o "$OUT/eval_dev"

# The compressed variants.
variant() {  # NAME COMMAND...
    local name=$1; shift
    if [ ! -f "$OUT/$name/model.safetensors" ]; then
        rm -rf "$OUT/$name" "$OUT/$name.finetune"
        echo "== $name: $*" >&2
        "$@" >&2
    fi
}
variant int8 "$BIN" quantize "$MODEL" "$OUT/int8"
variant sparse50 "$BIN" prune "$MODEL" "$OUT/sparse50" --sparsity 0.5
variant struct "$BIN" prune "$MODEL" "$OUT/struct" --heads "$HEADS" --ffn "$FFN"
variant struct_ft "$BIN" prune "$MODEL" "$OUT/struct_ft" --heads "$HEADS" --ffn "$FFN" --finetune "$CONFIG" --steps "$FT_STEPS"
variant struct_ft_int8 "$BIN" quantize "$OUT/struct_ft" "$OUT/struct_ft_int8"
NAMES=(fp32 int8 sparse50 struct struct_ft struct_ft_int8)
dir_of() { [ "$1" = fp32 ] && echo "$MODEL" || echo "$OUT/$1"; }

# Dev scores.
for n in "${NAMES[@]}"; do
    [ -s "$OUT/dev_$n.json" ] || "$OUT/eval_dev" "$CONFIG" "$(dir_of "$n")" > "$OUT/dev_$n.json"
done

# Speed: the same texts through every model, alternating.
TEXTS=${TEXTS:-$OUT/texts.txt}
if [ ! -s "$TEXTS" ]; then
    { awk 'NF==0{if(s!=""&&n<500){print s; n++}; s=""; next} $1!="-DOCSTART-"{s=(s==""?$1:s" "$1)}' \
          "$ONESTONE_DATA/conll2003/eng.testa"
      tail -n +2 "$ONESTONE_DATA/sst2/train.tsv" | cut -f1 | tail -500; } > "$TEXTS"
fi
# The int8 kernel alone against sgemm on BERT-Mini's linear shapes (32 texts x 32 pieces = 1024 rows).
cc -std=c11 -O2 -march=native -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -I"$ROOT/src" -I"$ROOT/include" \
   "$ROOT/scripts/bench_qgemm.c" "$ROOT/build/libonestone_core.a" $(pkg-config --libs jansson libutf8proc) \
   -L"$BLAS_DIR" -lopenblas -Wl,-rpath,"$BLAS_DIR" -fopenmp -lm -o "$OUT/bench_qgemm"
{ "$OUT/bench_qgemm" 1024 256 256; "$OUT/bench_qgemm" 1024 256 1024; "$OUT/bench_qgemm" 1024 1024 256; } > "$OUT/kernel.txt"
PIECES=$("$BIN" tokenize "$MODEL" < "$TEXTS" | tr -cd ',\n' | wc -c)  # ids = commas + one per line
: > "$OUT/times.txt"
for r in $(seq "$ROUNDS"); do
    for n in "${NAMES[@]}"; do
        s=$(date +%s.%N)
        "$BIN" predict "$(dir_of "$n")" < "$TEXTS" > /dev/null
        e=$(date +%s.%N)
        echo "$r $n $(echo "$e - $s" | bc)" >> "$OUT/times.txt"
    done
done

python3 - "$OUT" "$PIECES" "$MODEL" "${NAMES[@]}" <<'PY'
import json, os, statistics, sys
out, pieces, model, names = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
times = {}
for line in open(os.path.join(out, "times.txt")):
    r, n, t = line.split()
    times.setdefault(n, {})[int(r)] = float(t)
main = {"ner": "entity_f1", "relation": "semeval_f1", "sentiment": "accuracy"}
rows = []
base = None
for n in names:
    d = json.load(open(os.path.join(out, "dev_%s.json" % n)))
    scores = {t: 100 * d[t][m] for t, m in main.items() if t in d}
    mean = sum(scores.values()) / len(scores)
    path = model if n == "fp32" else os.path.join(out, n)
    size = os.path.getsize(os.path.join(path, "model.safetensors")) / 1e6
    ratios = [times["fp32"][r] / times[n][r] for r in times[n]]
    med_t = statistics.median(times[n].values())
    if base is None:
        base = mean
    rows.append("| %s | %s | %.2f | %+.2f | %.1f | %.0f | %.2f× |" % (
        n, " | ".join("%.2f" % scores[t] for t in main if t in scores), mean, mean - base, size,
        pieces / med_t, statistics.median(ratios)))
hdr = ("| model | " + " | ".join("%s %s" % (t, m) for t, m in main.items()) +
       " | mean | Δ mean | model.safetensors MB | pieces/s (median) | speed-up vs fp32 (median of per-round ratios) |")
sep = "|" + "---|" * (hdr.count("|") - 1)
table = "\n".join([hdr, sep] + rows)
open(os.path.join(out, "results.md"), "w").write(table + "\n")
print(table)
print("\n%d word pieces per pass, %d rounds; times (s) per round:" % (pieces, len(times["fp32"])))
for n in names:
    print("  %-15s %s" % (n, " ".join("%.2f" % times[n][r] for r in sorted(times[n]))))
print("\nkernel alone (N K OC, median of 7 alternating runs):")
print(open(os.path.join(out, "kernel.txt")).read().rstrip())
PY
