#!/usr/bin/env bash
# Multi-task versus single-task with the same encoder and budget: trains CONFIG jointly, then each task alone
# for exactly as many batches as it got in the joint run (same optimizer settings and schedule shape), and
# prints a table of dev scores plus delta_m (LibMTL's mean relative gain of the joint model).
# usage: scripts/mt_vs_single.sh [CONFIG] [OUT_DIR] [extra train options...]
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG=${1:-examples/three_tasks.json}
OUT=${2:-runs/mt_vs_single}
shift $(( $# > 2 ? 2 : $# )) || true
BIN=build/onestone
mkdir -p "$OUT"
"$BIN" train "$CONFIG" --out "$OUT/joint" --quiet "$@"
tasks=$(python3 -c "import json,sys; print(' '.join(t['name'] for t in json.load(open('$OUT/joint/config.json'))['tasks']))")
for t in $tasks; do
  steps=$(python3 -c "import json; s=json.load(open('$OUT/joint/summary.json')); print(s['batches_per_dataset']['$t'])")
  keep=$(python3 -c "import json; c=json.load(open('$OUT/joint/config.json')); print(json.dumps([x for x in c['tasks'] if x['name']=='$t']))")
  "$BIN" train "$CONFIG" --out "$OUT/single_$t" --quiet --set "tasks=$keep" --set training.max_steps="$steps" \
        --set training.eval_every=$(( steps / 4 > 0 ? steps / 4 : 1 )) "$@"
done
python3 - "$OUT" $tasks <<'PY'
import json, sys
out, tasks = sys.argv[1], sys.argv[2:]
joint = json.load(open(f"{out}/joint/summary.json"))
cfg = {t["name"]: t for t in json.load(open(f"{out}/joint/config.json"))["tasks"]}
print(f"{'task':12s} {'metric':12s} {'joint':>8s} {'single':>8s} {'batches':>8s}")
gains = []
for t in tasks:
    m = cfg[t]["metric"]
    single = json.load(open(f"{out}/single_{t}/summary.json"))
    j, s = joint["dev"][t][m], single["dev"][t][m]
    gains.append((j - s) / s * (-1 if m == "mse" else 1))
    print(f"{t:12s} {m:12s} {100*j:8.2f} {100*s:8.2f} {single['steps']:8d}")
print(f"delta_m = {100 * sum(gains) / len(gains):+.2f} %  (joint: {joint['steps']} steps, {joint['seconds']:.0f} s)")
PY
