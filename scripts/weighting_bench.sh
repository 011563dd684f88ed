#!/usr/bin/env bash
# Every weighting strategy on the three-task benchmark (CoNLL-2003 NER + SemEval-2010 Task 8 + SST-2) with the
# same budget, over several seeds, next to single-task baselines: per-task dev scores, delta_m and training
# speed (docs/weighting.md, "Benchmark"). Runs already finished (summary.json present) are kept, so the script
# can be stopped and rerun.
#   SEEDS="1 2 3"   seeds                       STEPS=300   batches per task (the budget)
#   STRATEGIES=...  default: all                OUT=runs/weighting_bench
# Extra arguments go to every `onestone train` (e.g. --set model.encoder.hidden_size=256).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${ONESTONE_DATA:?set ONESTONE_DATA to the data folder}"
SEEDS=${SEEDS:-"1 2 3"}
STEPS=${STEPS:-300}
OUT=${OUT:-runs/weighting_bench}
STRATEGIES=${STRATEGIES:-"static ew uw dwa rlw gls gradnorm famo dbmtl mgda mgda_ub pcgrad graddrop gradvac imtl_g cagrad nash_mtl aligned_mtl upgrad"}
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
for seed in $SEEDS; do
  for t in ner relation sentiment; do
    keep=$(python3 -c "import json; c=json.load(open('$CONFIG')); print(json.dumps([x for x in c['tasks'] if x['name']=='$t']))")
    run "single_$t" "$seed" --set "tasks=$keep" --set training.max_steps="$STEPS" --set training.eval_every="$STEPS"
  done
  for s in $STRATEGIES; do
    case $s in
      static|ew|uw|dwa|rlw) steps=$((3 * STEPS)); extra=(--set sampling.strategy=uniform) ;;  # one dataset per step
      *) steps=$STEPS; extra=() ;;                                                             # every dataset each step
    esac
    run "$s" "$seed" --set weighting.strategy="$s" --set training.max_steps="$steps" \
        --set training.eval_every="$steps" "${extra[@]}"
  done
done
python3 - "$OUT" "$STRATEGIES" "$SEEDS" <<'PY'
import json, os, statistics as st, sys
out, strategies, seeds = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
tasks = [("ner", "entity_f1"), ("relation", "semeval_f1"), ("sentiment", "accuracy")]
def summary(name, seed):
    p = f"{out}/{name}/s{seed}/summary.json"
    return json.load(open(p)) if os.path.exists(p) else None
def tok_s(name, seed):
    v = []
    for line in open(f"{out}/{name}/s{seed}/metrics.jsonl"):
        e = json.loads(line)
        if e.get("event") == "train" and e.get("tokens_per_s"): v.append(e["tokens_per_s"])
    return st.median(v) if v else float("nan")
def ms(v):
    return f"{st.mean(v):.2f} ± {st.stdev(v):.2f}" if len(v) > 1 else (f"{v[0]:.2f}" if v else "–")
base = {t: {s: summary(f"single_{t}", s)["dev"][t][m] for s in seeds if summary(f"single_{t}", s)} for t, m in tasks}
rows = ["| strategy | NER F1 | SemEval F1 | SST-2 acc | Δm (%) | s per 100 batches | train tok/s |",
        "|---|---|---|---|---|---|---|"]
rows.append("| single-task | " + " | ".join(ms([100 * v for v in base[t].values()]) for t, _ in tasks) + " | 0 | – | – |")
for name in strategies:
    cols, dms, secs, tps = {t: [] for t, _ in tasks}, [], [], []
    for s in seeds:
        sm = summary(name, s)
        if not sm: continue
        gains = []
        for t, m in tasks:
            cols[t].append(100 * sm["dev"][t][m])
            if base[t].get(s): gains.append((sm["dev"][t][m] - base[t][s]) / base[t][s])
        if len(gains) == len(tasks): dms.append(100 * sum(gains) / len(gains))
        batches = sum(sm["batches_per_dataset"].values())
        secs.append(100 * sm["seconds"] / batches)
        tps.append(tok_s(name, s))
    if not secs: continue
    rows.append(f"| {name} | " + " | ".join(ms(cols[t]) for t, _ in tasks) + f" | {ms(dms)} | {st.median(secs):.1f} | {st.median(tps):.0f} |")
text = "\n".join(rows)
print(text)
open(f"{out}/table.md", "w").write(text + "\n")
PY
