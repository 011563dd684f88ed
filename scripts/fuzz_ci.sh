#!/usr/bin/env bash
# Bounded fuzz run for CI (`make test-fuzz`): builds every libFuzzer target (scripts/fuzz.sh) and runs each
# for a short while (FUZZ_SECONDS, default 18; about 2.5 minutes in all) from its seed corpus. Fails on a
# build error or a crash; the crashing input is left in build-fuzz/artifacts-TARGET/.
# Long runs: scripts/fuzz.sh TARGET SECONDS (docs/reliability.md).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-18}
targets=(safetensors config conll delimited jsonl semeval tokenizer)
if ! command -v clang >/dev/null; then
  echo "fuzz: clang is missing (scripts/setup.sh installs it)" >&2
  exit 1
fi
failed=()
for t in "${targets[@]}"; do
  bash scripts/fuzz.sh "$t" "$seconds" || failed+=("$t")  # builds, then fuzzes
done
if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzz: failed (build error or crash): ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: ${#targets[@]} targets, ${seconds}s each, no crashes"
