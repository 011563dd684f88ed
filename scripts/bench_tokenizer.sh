#!/usr/bin/env bash
# Tokenizer throughput, onestone vs transformers.js in the same run, single thread, on SST-2 + WikiText-2 text
# (one text per line; encode time only, input already in memory). Prints both figures and the ratio.
#   scripts/bench_tokenizer.sh [BUILD_DIR]     (default build; needs node and the reference install:
#   npm install --ignore-scripts --prefix build-node-ref @huggingface/transformers@4.3.2 tokenizers@0.23.2)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
data=${ONESTONE_DATA:-$(cd .. && pwd)/shared/data}
vocab="$data/vocab/bert-base-uncased/vocab.txt"
input=$(mktemp)
trap 'rm -f "$input"' EXIT
cat "$data/sst2/train.tsv" "$data/wikitext2_raw/wiki.valid.raw" "$data/wikitext2_raw/wiki.test.raw" > "$input"

ours=$("$build/onestone" tokenize "$vocab" --bench --repeat "${ONESTONE_BENCH_REPEAT:-5}" < "$input")
theirs=$(node tests/ref/tokenizer/bench.mjs "$input" "${NODE_BENCH_REPEAT:-1}")
echo "onestone:        $ours"
echo "transformers.js: $theirs"
python3 - "$ours" "$theirs" <<'PY'
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert a["tokens"] == b["tokens"], f"token counts differ: {a['tokens']} vs {b['tokens']}"
print(f"input {a['bytes'] / 1e6:.2f} MB, {a['lines']} lines, {a['tokens']} tokens (same in both)")
print(f"onestone {a['mb_per_s']:.1f} MB/s, transformers.js {b['mb_per_s']:.2f} MB/s: {a['mb_per_s'] / b['mb_per_s']:.1f}x")
PY
