#!/usr/bin/env bash
# Builds one libFuzzer target with clang (fuzzer + ASan + UBSan) and runs it for a while:
#   scripts/fuzz.sh TARGET SECONDS     TARGET: safetensors | config | conll | delimited | jsonl | semeval |
#                                              tokenizer
#   scripts/fuzz.sh --build TARGET     builds only
# Seeds come from tests/fuzz/corpus/TARGET (read only); new inputs and any crash-* / leak-* / timeout-*
# files go to build-fuzz/. Prints the executions run and the crashes found; exits non-zero on a crash.
set -euo pipefail

usage() {
  echo "usage: scripts/fuzz.sh $targets_usage SECONDS | --build TARGET" >&2
  exit 2
}
targets_usage="safetensors|config|conll|delimited|jsonl|semeval|tokenizer"
[ $# -eq 2 ] || usage
build_only=0
if [ "$1" = --build ]; then
  build_only=1
  target=$2
  seconds=0
else
  target=$1
  seconds=$2
fi
[[ $seconds =~ ^[0-9]+$ ]] || usage

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
case $target in
  safetensors) sources=(src/io/safetensors.c src/util/error.c src/util/fileio.c) ;;
  config) sources=(src/model/bert_config.c src/util/error.c src/util/fileio.c) ;;
  conll | delimited | jsonl | semeval)
    sources=(src/data/dataset.c "src/data/read_$target.c" src/util/error.c src/util/fileio.c) ;;
  tokenizer) sources=(src/tokenizer/*.c src/util/error.c src/util/fileio.c) ;;
  *) usage ;;
esac

out=build-fuzz
mkdir -p "$out/corpus-$target" "$out/artifacts-$target"
bin=$out/fuzz_$target
# shellcheck disable=SC2046  # pkg-config's flags are meant to split
clang -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -fno-omit-frame-pointer -Wall -Wextra -Werror -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -I src \
  "tests/fuzz/fuzz_$target.c" "${sources[@]}" $(pkg-config --cflags --libs jansson libutf8proc) -lm -o "$bin"
[ "$build_only" -eq 0 ] || exit 0
dict=()
[ -f "tests/fuzz/$target.dict" ] && dict=(-dict="tests/fuzz/$target.dict")

log=$out/fuzz_$target.log
before=$(find "$out/artifacts-$target" -type f | wc -l)
status=0
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  "$bin" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
  "${dict[@]}" -artifact_prefix="$out/artifacts-$target/" \
  "$out/corpus-$target" "tests/fuzz/corpus/$target" >"$log" 2>&1 || status=$?
after=$(find "$out/artifacts-$target" -type f | wc -l)

execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 || true)
echo "fuzz $target: ${seconds}s, execs: ${execs:-?}, ${cov:-cov: ?}, corpus: $(find "$out/corpus-$target" -type f | wc -l) files, crashes: $((after - before)) (log: $log)"
if [ "$status" -ne 0 ]; then
  grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$log" | head -n 5 >&2 || true
  echo "fuzz $target: the target failed (exit $status); reproduce with $bin ARTIFACT" >&2
  exit 1
fi
