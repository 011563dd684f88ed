#!/usr/bin/env bash
# Distillation benchmark (docs/distill.md): the three-task teacher (a run directory of
# examples/three_tasks.json) distilled into the smaller student of examples/distill_three_tasks.json (a),
# and the same student trained on hard labels only with the same budget (b: distill.alpha=1); then the
# student's inference speed-up over the teacher on the same texts (onestone predict, every task, one
# thread, teacher and student alternated three times, medians). Prints a table of dev scores.
# usage: scripts/distill_bench.sh [TEACHER_RUN_DIR] [OUT_DIR] [extra distill options...]
#   PARALLEL=1 runs (a) and (b) at the same time (one thread each); SKIP_TRAIN=1 reuses finished runs in
#   OUT_DIR (only the speed measurement and the table).
set -euo pipefail
cd "$(dirname "$0")/.."
TEACHER=${1:-runs/mt}
OUT=${2:-runs/distill_bench}
shift $(( $# > 2 ? 2 : $# )) || true
BIN=${ONESTONE_BIN:-build/onestone}
CONFIG=examples/distill_three_tasks.json
: "${ONESTONE_DATA:?set ONESTONE_DATA to the data folder}"
mkdir -p "$OUT"
common=(--set "model.vocab=$TEACHER/best" --set "distill.teachers=[{\"model\": \"$TEACHER/best\"}]" --quiet)
run_kd()   { OMP_NUM_THREADS=1 nice -n 10 "$BIN" distill "$CONFIG" --out "$OUT/kd" "${common[@]}" "$@" > "$OUT/kd.log" 2>&1; }
run_hard() { OMP_NUM_THREADS=1 nice -n 10 "$BIN" distill "$CONFIG" --out "$OUT/hard" "${common[@]}" --set distill.alpha=1 "$@" > "$OUT/hard.log" 2>&1; }
if [ "${SKIP_TRAIN:-0}" = 1 ]; then
  :
elif [ "${PARALLEL:-0}" = 1 ]; then
  run_kd "$@" & kd=$!
  run_hard "$@" & hard=$!
  wait $kd; wait $hard
else
  run_kd "$@"
  run_hard "$@"
fi

# Inference speed: the first 2000 SST-2 training sentences through every task of each model.
rm -f "$OUT/speed.txt"
cut -f1 "$ONESTONE_DATA/sst2/train.tsv" | sed -n '2,2001p' > "$OUT/texts.txt"
for round in 1 2 3; do
  for m in teacher student; do
    dir=$TEACHER/best; [ $m = student ] && dir=$OUT/kd/best
    s=$(date +%s.%N)
    OMP_NUM_THREADS=1 "$BIN" predict "$dir" < "$OUT/texts.txt" > /dev/null
    echo "$m $(echo "$(date +%s.%N) - $s" | bc)" >> "$OUT/speed.txt"
  done
done

python3 - "$OUT" "$TEACHER" <<'PY'
import json, statistics, sys
out, teacher = sys.argv[1], sys.argv[2]
cfg = {t["name"]: t for t in json.load(open(f"{out}/kd/config.json"))["tasks"]}
runs = {"teacher": json.load(open(f"{teacher}/summary.json")), "distilled": json.load(open(f"{out}/kd/summary.json")),
        "hard labels": json.load(open(f"{out}/hard/summary.json"))}
def size(d):
    e = json.load(open(f"{d}/best/config.json"))
    return f"L{e['num_hidden_layers']}/H{e['hidden_size']}"
print(f"{'task':12s} {'metric':12s} {'teacher':>9s} {'distilled':>10s} {'hard only':>10s}")
mean = {k: 0.0 for k in runs}
for t, c in cfg.items():
    m = c["metric"]
    v = {k: r["dev"][t][m] for k, r in runs.items()}
    for k in runs: mean[k] += v[k] / len(cfg)
    print(f"{t:12s} {m:12s} {100*v['teacher']:9.2f} {100*v['distilled']:10.2f} {100*v['hard labels']:10.2f}")
print(f"{'mean':25s} {100*mean['teacher']:9.2f} {100*mean['distilled']:10.2f} {100*mean['hard labels']:10.2f}")
print(f"distilled keeps {100*mean['distilled']/mean['teacher']:.1f} % of the teacher's mean "
      f"(hard labels only: {100*mean['hard labels']/mean['teacher']:.1f} %)")
print(f"teacher {size(teacher)}, student {size(out + '/kd')}; student runs: distilled {runs['distilled']['steps']} steps "
      f"in {runs['distilled']['seconds']:.0f} s, hard labels {runs['hard labels']['steps']} steps in "
      f"{runs['hard labels']['seconds']:.0f} s")
t = {"teacher": [], "student": []}
for line in open(f"{out}/speed.txt"):
    k, s = line.split()
    t[k].append(float(s))
print(f"inference (predict, 2000 sentences, 1 thread): teacher {statistics.median(t['teacher']):.2f} s, student "
      f"{statistics.median(t['student']):.2f} s: speed-up {statistics.median(t['teacher'])/statistics.median(t['student']):.2f}x")
PY
