#!/bin/sh
# onestone vs the PyTorch reference (scripts/reference/mtl_reference.py) on the real three-task recipe
# (examples/three_tasks.json) at a small budget, for several seeds: each with its own sampler and dropout
# ("reference"), and the reference replaying onestone's batches with its own dropout masks ("replay+drop");
# then one replay of onestone's batch trace with dropout 0 (where the two must agree step by step).
# usage: scripts/reference/three_tasks_compare.sh OUT_DIR [STEPS] [SEEDS...]
#   needs $ONESTONE_DATA, build/onestone and /usr/bin/python3 with torch. Results: OUT_DIR/table.txt
set -eu
out=${1:?usage: three_tasks_compare.sh OUT_DIR [STEPS] [SEEDS...]}
steps=${2:-300}
shift $(( $# > 1 ? 2 : 1 ))
seeds=${*:-"1 2"}
bin=${ONESTONE_BIN:-build/onestone}
ref() { nice -n 10 /usr/bin/python3 scripts/reference/mtl_reference.py "$@"; }
mkdir -p "$out"
# BERT-Tiny-size encoder, the recipe of examples/three_tasks.json otherwise.
small="--set model.encoder.hidden_size=128 --set model.encoder.num_hidden_layers=2
       --set model.encoder.num_attention_heads=2 --set model.encoder.intermediate_size=512
       --set training.max_steps=$steps --set training.eval_every=$((steps / 3))"
export OMP_NUM_THREADS=1
main() {  # RESULT.json -> "ner relation sentiment" main metrics in percent
    /usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["dev"]
print(" ".join("%.2f" % (100*d[t][m]) for t,m in (("ner","entity_f1"),("relation","semeval_f1"),("sentiment","accuracy"))))' "$1"
}
printf '%-11s %-5s %8s %10s %10s\n' system seed ner_f1 rel_f1 sst2_acc > "$out/table.txt"
for seed in $seeds; do
    rm -f "$out/trace_$seed.jsonl"
    # shellcheck disable=SC2086
    nice -n 10 "$bin" train examples/three_tasks.json --out "$out/os_$seed" --quiet --seed "$seed" $small \
        --set training.trace_file="$out/trace_$seed.jsonl"
    printf '%-11s %-5s %s\n' onestone "$seed" "$(main "$out/os_$seed/summary.json")" >> "$out/table.txt"
    # shellcheck disable=SC2086
    "$bin" export-data examples/three_tasks.json "$out/export_$seed" --init-model "$out/export_$seed/init" --seed "$seed" $small
    ref "$out/export_$seed" --model "$out/export_$seed/init" --out "$out/ref_$seed.json" --quiet > /dev/null
    printf '%-11s %-5s %s\n' reference "$seed" "$(main "$out/ref_$seed.json")" >> "$out/table.txt"
    ref "$out/export_$seed" --model "$out/export_$seed/init" --replay "$out/trace_$seed.jsonl" \
        --out "$out/ref_drop_$seed.json" --quiet > /dev/null
    printf '%-11s %-5s %s\n' replay+drop "$seed" "$(main "$out/ref_drop_$seed.json")" >> "$out/table.txt"
done
# Replay with dropout 0: the same batches, so the same numbers up to float32 rounding.
seed=$(echo "$seeds" | cut -d' ' -f1)
nodrop="--set model.encoder.hidden_dropout_prob=0 --set model.encoder.attention_probs_dropout_prob=0"
rm -f "$out/replay_trace.jsonl"
# shellcheck disable=SC2086
nice -n 10 "$bin" train examples/three_tasks.json --out "$out/os_replay" --quiet --seed "$seed" $small $nodrop \
    --set training.trace_file="$out/replay_trace.jsonl"
# shellcheck disable=SC2086
"$bin" export-data examples/three_tasks.json "$out/export_replay" --init-model "$out/export_replay/init" --seed "$seed" $small $nodrop
ref "$out/export_replay" --model "$out/export_replay/init" --replay "$out/replay_trace.jsonl" \
    --out "$out/ref_replay.json" --quiet > /dev/null
{
printf '%-11s %-5s %s\n' "onestone" "$seed*" "$(main "$out/os_replay/summary.json")"
printf '%-11s %-5s %s\n' "replay" "$seed*" "$(main "$out/ref_replay.json")"
/usr/bin/python3 - "$out/replay_trace.jsonl" "$out/ref_replay.json" <<'PY'
import json, sys
trace = [json.loads(l) for l in open(sys.argv[1])]
ref = json.load(open(sys.argv[2]))["steps"]
worst = max(abs(a - b) / abs(a) for o, r in zip(trace, ref) for ob, rb in zip(o["batches"], r["batches"])
            for a, b in ((ob["loss"][t], rb["loss"][t]) for t in ob["loss"]))
print("* dropout 0, reference replaying onestone's batch trace: %d steps, largest relative loss difference %.1e"
      % (len(ref), worst))
PY
} >> "$out/table.txt"
cat "$out/table.txt"
