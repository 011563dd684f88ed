#!/usr/bin/env bash
# A tiny end-to-end run under valgrind: train -> save -> load -> predict -> eval -> tokenize, each command
# under `valgrind --error-exitcode=1 --leak-check=full` with one OpenMP thread. Builds a Debug build in
# build-valgrind/ (no -march=native, so valgrind knows every instruction). Not part of `make test` (slow).
#   scripts/valgrind_check.sh          exit 0: no memory errors and no leaks in any command, and each
#                                      exits as expected (the bad config and bad data ones with 3)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind_check: valgrind is not installed (apt-get install valgrind)" >&2; exit 2; }
build=build-valgrind
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$build" -j "$(nproc)" --target onestone >/dev/null
bin=$build/onestone
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# OMP_WAIT_POLICY set: the CLI would otherwise re-execute itself via /proc/self/exe to set it, which
# valgrind cannot follow.
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE ONESTONE_BAD="$PWD/tests/bad"

# vg NAME EXPECTED_EXIT ARGS... [< input]: one command under valgrind; its stdout/stderr go to $work/NAME.*.
vg() {
  local name=$1 expect=$2 rc=0
  shift 2
  valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect,possible \
    --errors-for-leak-kinds=definite,indirect,possible --log-file="$work/vg-$name.log" "$bin" "$@" \
    >"$work/$name.out" 2>"$work/$name.err" || rc=$?
  if [ "$rc" -eq "$expect" ] && [ ! -s "$work/vg-$name.log" ]; then
    echo "valgrind_check: $name: clean"
  else
    echo "valgrind_check: $name: exit $rc (expected $expect)" >&2
    cat "$work/$name.err" "$work/vg-$name.log" >&2
    failed=1
  fi
}

failed=0
vg train 0 train tests/bad/good.json --out "$work/run" --quiet --max-steps 3
vg predict 0 predict "$work/run/best" --logits < tests/bad/train.tsv
vg eval 0 eval "$work/run/best" --task sentiment --data tests/bad/train.tsv
vg resume 0 train --resume --out "$work/run" --max-steps 4 --quiet
vg tokenize 0 tokenize tests/bad/vocab.txt --pieces --offsets < tests/bad/train.tsv
vg bad-config 3 train tests/bad/unknown_key.json --out "$work/bad" --quiet
vg bad-data 3 train tests/bad/conll_columns.json --out "$work/bad" --quiet
if [ "$failed" -ne 0 ]; then
  echo "valgrind_check: memory errors or leaks (see above)" >&2
  exit 1
fi
echo "valgrind_check: every command clean"
