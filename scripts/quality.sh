#!/usr/bin/env bash
# The quality recipe (docs/quality.md): raw data -> one shared encoder trained on CoNLL-2003 NER, SemEval-2010
# Task 8 relations and SST-2 sentiment -> a table of its dev scores next to single-task baselines.
#   1. vocabulary + masked-LM pretraining on the open text (scripts/pretrain_recipe.sh; reused when finished,
#      resumed when interrupted)
#   2. joint fine-tuning of the three tasks from the pretrained encoder (CONFIG)
#   3. single-task baselines of the same size and budget: each task alone, from the same pretrained encoder,
#      for exactly as many batches as it received in the joint run (same optimizer, schedule shape and seed)
#   4. with ABLATE=1, the ablation that measures the pretraining: the joint run from scratch (same vocabulary)
# Environment:
#   ONESTONE_DATA  the data folder (required)
#   OUT            output folder (default runs/quality); the pretraining goes to PRETRAIN_WORK
#                  (default $OUT/pretrain)
#   SEED           seeds every stage (default 42)
#   CONFIG         the fine-tuning config (default examples/quality.json)
#   PRETRAIN_STEPS, CASE, VOCAB_SIZE   passed to the pretraining recipe as STEPS, CASE (default cased: +3 NER F1,
#                  docs/quality.md), VOCAB_SIZE
#   JOBS           trainings run at once (default 1). JOBS=2 runs independent trainings side by side with one
#                  thread each; results depend on the thread count (BLAS summation order), so compare runs
#                  made with the same JOBS.
# Extra arguments are passed to every `onestone train` of stages 2-4 (e.g. --set training.max_steps=500).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${ONESTONE_DATA:?set ONESTONE_DATA to the data folder (see README)}"
BIN=${BIN:-build/onestone}
OUT=${OUT:-runs/quality}
SEED=${SEED:-42}
CONFIG=${CONFIG:-examples/quality.json}
PRETRAIN_WORK=${PRETRAIN_WORK:-$OUT/pretrain}
JOBS=${JOBS:-1}
case "$JOBS" in [1-9]) ;; *) echo "quality: JOBS must be 1-9, not '$JOBS'"; exit 2;; esac
[ -x "$BIN" ] || { echo "quality: $BIN missing (build first: make build)"; exit 2; }
[ -f "$CONFIG" ] || { echo "quality: config $CONFIG not found"; exit 2; }
mkdir -p "$OUT"
threads=()
[ "$JOBS" -gt 1 ] && threads=(env OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1)

# ---- 1. vocabulary + pretraining --------------------------------------------------------------------------
pre=$PRETRAIN_WORK/run
if [ -s "$pre/summary.json" ]; then
  echo "quality: pretraining found in $pre (reused)"
else
  resume=()
  [ -s "$pre/checkpoint/state.json" ] && resume=(--resume)
  WORK=$PRETRAIN_WORK STEPS=${PRETRAIN_STEPS:-3600} SEED=$SEED CASE=${CASE:-cased} \
    scripts/pretrain_recipe.sh --quiet "${resume[@]}"
fi
vocab=$pre/model  # its tokenizer.json: the vocabulary and its casing

# ---- trainings, JOBS at a time ------------------------------------------------------------------------------
declare -A running=()  # pid -> run name
train_run() {  # NAME ARGS...: one `onestone train` in the background, logged to $OUT/NAME.log
  local name=$1; shift
  while [ "${#running[@]}" -ge "$JOBS" ]; do wait_one; done
  echo "quality: training $name ($(date -u +%H:%M:%S))"
  "${threads[@]}" "$BIN" train "$CONFIG" --out "$OUT/$name" --quiet --set seed="$SEED" "$@" > "$OUT/$name.log" 2>&1 &
  running[$!]=$name
}
wait_one() {
  local pid rc=0
  wait -n -p pid "${!running[@]}" || rc=$?
  if [ "$rc" -ne 0 ]; then echo "quality: ${running[$pid]} failed (exit $rc), see $OUT/${running[$pid]}.log"; exit 1; fi
  unset "running[$pid]"
}
wait_all() { while [ "${#running[@]}" -gt 0 ]; do wait_one; done; }
done_run() { [ -s "$OUT/$1/summary.json" ]; }

# ---- 2. joint fine-tuning (and 4. its from-scratch ablation) -------------------------------------------------
done_run joint || train_run joint --set model.init="$pre" "$@"
if [ "${ABLATE:-0}" = 1 ]; then
  done_run joint_scratch || train_run joint_scratch --set model.vocab="$vocab" "$@"
fi
wait_all

# ---- 3. single-task baselines --------------------------------------------------------------------------------
tasks=$(python3 -c "import json,sys; print(' '.join(t['name'] for t in json.load(open(sys.argv[1]))['tasks']))" "$OUT/joint/config.json")
for t in $tasks; do
  done_run "single_$t" && continue
  steps=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['batches_per_dataset'][sys.argv[2]])" "$OUT/joint/summary.json" "$t")
  keep=$(python3 -c "import json,sys; c=json.load(open(sys.argv[1])); print(json.dumps([x for x in c['tasks'] if x['name']==sys.argv[2]]))" "$OUT/joint/config.json" "$t")
  train_run "single_$t" --set model.init="$pre" --set "tasks=$keep" --set training.max_steps="$steps" \
    --set training.eval_every=$(( steps / 4 > 0 ? steps / 4 : 1 )) --set weighting.strategy=static "$@"
done
wait_all

# ---- table ---------------------------------------------------------------------------------------------------
python3 - "$OUT" "$pre" $tasks <<'PY'
import json, os, sys
out, pre, tasks = sys.argv[1], sys.argv[2], sys.argv[3:]
load = lambda p: json.load(open(p))
joint = load(f"{out}/joint/summary.json")
cfg = {t["name"]: t for t in load(f"{out}/joint/config.json")["tasks"]}
scratch = load(f"{out}/joint_scratch/summary.json") if os.path.exists(f"{out}/joint_scratch/summary.json") else None
lines = ["| task | metric | joint (pretrained) | single-task (pretrained) | batches |" + (" joint from scratch |" if scratch else ""),
         "|---|---|---|---|---|" + ("---|" if scratch else "")]
gains, seconds = [], {}
for t in tasks:
    m = cfg[t]["metric"]
    single = load(f"{out}/single_{t}/summary.json")
    j, s = joint["dev"][t][m], single["dev"][t][m]
    gains.append((j - s) / s * (-1 if m == "mse" else 1))
    seconds[f"single_{t}"] = single["seconds"]
    row = f"| {t} | {m} | {100*j:.2f} | {100*s:.2f} | {single['steps']} |"
    if scratch: row += f" {100*scratch['dev'][t][m]:.2f} |"
    lines.append(row)
dm = 100 * sum(gains) / len(gains)
ps = load(f"{pre}/summary.json")
lines += ["", f"delta_m (joint vs single-task) = {dm:+.2f} %",
          f"pretraining: {ps['steps']} steps, dev MLM loss {ps['dev_mlm_loss']:.3f}, accuracy {100*ps['dev_mlm_accuracy']:.1f} %, "
          f"{ps['seconds']/60:.1f} min (the last session of the run when it was resumed)",
          f"joint fine-tuning: {joint['steps']} steps, {joint['seconds']/60:.1f} min; single-task runs: "
          + ", ".join(f"{k} {v/60:.1f} min" for k, v in seconds.items())]
if scratch: lines.append(f"joint from scratch: {scratch['seconds']/60:.1f} min")
text = "\n".join(lines)
print(text)
open(f"{out}/quality.md", "w").write(text + "\n")
json.dump({"delta_m": dm, "joint": joint["dev"], "single": {t: load(f"{out}/single_{t}/summary.json")["dev"] for t in tasks},
           "scratch": scratch["dev"] if scratch else None}, open(f"{out}/quality.json", "w"), indent=1)
PY
