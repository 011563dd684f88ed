#!/usr/bin/env bash
# Every weighting strategy on the three-task benchmark (CoNLL-2003 NER + SemEval-2010 Task 8 + SST-2) with the
# same budget, over several seeds, next to single-task baselines: per-task dev scores, delta_m and training
# speed (docs/weighting.md, "Benchmark"). Runs already finished (summary.json present) are kept, so the script
# can be stopped and rerun.
#   SEEDS="1 2 3"   seeds                       STEPS=300   batches per task (the budget)
#   STRATEGIES=...  default: all                OUT=runs/weighting_bench
#   SPEED_STEPS=60  optimizer steps of the separate speed runs (1 thread, one after another; 0 = skip)
# Extra arguments go to every `onestone train` (e.g. --set model.encoder.hidden_size=256).
# The loss-weighting strategies run twice: sampling one dataset per step (uniform; 3 x STEPS updates) and,
# as NAME_all, with sampling "all" (one batch of every dataset per step, STEPS updates), which is how every
# gradient-based strategy runs. DWA's epoch is set to STEPS/3 steps so that its weights change at all.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${ONESTONE_DATA:?set ONESTONE_DATA to the data folder}"
SEEDS=${SEEDS:-"1 2 3"}
STEPS=${STEPS:-300}
OUT=${OUT:-runs/weighting_bench}
STRATEGIES=${STRATEGIES:-"static static_all ew uw uw_all dwa rlw gls gradnorm famo dbmtl mgda mgda_ub pcgrad graddrop gradvac imtl_g cagrad nash_mtl aligned_mtl upgrad"}
SPEED_STEPS=${SPEED_STEPS:-60}
BIN=build/onestone
CONFIG=examples/three_tasks.json
# A BERT-Tiny-sized encoder (L2/H128) keeps one run near a minute on 2 cores; one evaluation at the end.
COMMON=(--set model.encoder.hidden_size=128 --set model.encoder.num_hidden_layers=2
        --set model.encoder.num_attention_heads=2 --set model.encoder.intermediate_size=512
        --set model.max_seq_length=64 --set optimizer.lr=0.001 --set training.log_every=50 --quiet)
mkdir -p "$OUT"
run() {  # name seed args...
  local name=$1 seed=$2; shift 2
  [ -f "$OUT/$name/s$seed/summary.json" ] && return 0
  "$BIN" train "$CONFIG" --out "$OUT/$name/s$seed" --seed "$seed" "${COMMON[@]}" "$@" "${EXTRA[@]}" > /dev/null
}
EXTRA=("$@")
# The train options of strategy NAME for a budget of STEPS per task; the last one is training.max_steps=N.
strategy_args() {
  local name=${1%_all} all=0 budget=$2
  [ "$name" != "$1" ] && all=1
  case $name in
    static|ew|uw|dwa|rlw)
      if [ $all = 1 ]; then echo --set weighting.strategy="$name" --set sampling.strategy=all --set training.max_steps="$budget"
      else
        local dwa=(); [ "$name" = dwa ] && dwa=(--set sampling.epoch_steps=$budget)
        echo --set weighting.strategy="$name" --set sampling.strategy=uniform "${dwa[@]}" --set training.max_steps=$((3 * budget))
      fi ;;
    *) echo --set weighting.strategy="$name" --set training.max_steps="$budget" ;;
  esac
}
for seed in $SEEDS; do
  for t in ner relation sentiment; do
    keep=$(python3 -c "import json; c=json.load(open('$CONFIG')); print(json.dumps([x for x in c['tasks'] if x['name']=='$t']))")
    run "single_$t" "$seed" --set "tasks=$keep" --set training.max_steps="$STEPS" --set training.eval_every="$STEPS"
  done
  for s in $STRATEGIES; do
    args=($(strategy_args "$s" "$STEPS"))
    run "$s" "$seed" "${args[@]}" --set training.eval_every="${args[-1]#training.max_steps=}"
  done
done
# Speed: each strategy alone on one thread for SPEED_STEPS steps, one after another (an idle machine gives
# comparable figures); the median logging window's tokens/s.
if [ "$SPEED_STEPS" -gt 0 ]; then
  for s in $STRATEGIES; do
    [ -f "$OUT/speed/$s/summary.json" ] && continue
    args=($(strategy_args "$s" "$SPEED_STEPS"))
    OMP_NUM_THREADS=1 "$BIN" train "$CONFIG" --out "$OUT/speed/$s" "${COMMON[@]}" "${args[@]}" \
      --set training.log_every=10 --set training.eval_every=100000 "${EXTRA[@]}" > /dev/null
  done
fi
python3 - "$OUT" "$STRATEGIES" "$SEEDS" <<'PY'
import json, os, statistics as st, sys
out, strategies, seeds = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
tasks = [("ner", "entity_f1"), ("relation", "semeval_f1"), ("sentiment", "accuracy")]
def summary(name, seed):
    p = f"{out}/{name}/s{seed}/summary.json"
    return json.load(open(p)) if os.path.exists(p) else None
def ms(v):
    return f"{st.mean(v):.2f} ± {st.stdev(v):.2f}" if len(v) > 1 else (f"{v[0]:.2f}" if v else "–")
base = {t: {s: summary(f"single_{t}", s)["dev"][t][m] for s in seeds if summary(f"single_{t}", s)} for t, m in tasks}
rows = ["| strategy | updates | NER F1 | SemEval F1 | SST-2 acc | Δm (%) | train tok/s (1 thread) |",
        "|---|---|---|---|---|---|---|"]
rows.append("| single-task | – | " + " | ".join(ms([100 * v for v in base[t].values()]) for t, _ in tasks) + " | 0 | – |")
def speed(name):
    p = f"{out}/speed/{name}/metrics.jsonl"
    if not os.path.exists(p): return "–"
    v = [e["tokens_per_s"] for e in map(json.loads, open(p)) if e.get("event") == "train" and e.get("tokens_per_s")]
    return f"{st.median(v[1:] or v):.0f}" if v else "–"
for name in strategies:
    cols, dms, steps = {t: [] for t, _ in tasks}, [], []
    for s in seeds:
        sm = summary(name, s)
        if not sm: continue
        gains = []
        for t, m in tasks:
            cols[t].append(100 * sm["dev"][t][m])
            if base[t].get(s): gains.append((sm["dev"][t][m] - base[t][s]) / base[t][s])
        if len(gains) == len(tasks): dms.append(100 * sum(gains) / len(gains))
        steps.append(sm["steps"])
    if not steps: continue
    rows.append(f"| {name} | {steps[0]} | " + " | ".join(ms(cols[t]) for t, _ in tasks) + f" | {ms(dms)} | {speed(name)} |")
text = "\n".join(rows)
print(text)
open(f"{out}/table.md", "w").write(text + "\n")
PY
