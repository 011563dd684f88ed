#!/usr/bin/env bash
# `onestone serve` under valgrind for a short load: good requests from wrk (scripts/load_test.lua) plus
# malformed, unauthorised and oversize ones, then SIGTERM; the server must answer, exit 0, and valgrind
# must report no memory errors and no leaks. Debug build in build-valgrind/ (no -march=native), as
# scripts/valgrind_check.sh does for the other commands. Not part of `make test` (slow).
#   scripts/valgrind_serve.sh [MODEL_DIR [SECONDS]]   (default: a tiny model trained for 3 steps on tests/bad/;
#                                                      wrk runs SECONDS, default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind_serve: valgrind is not installed" >&2; exit 2; }
command -v wrk >/dev/null || { echo "valgrind_serve: wrk is not installed (scripts/setup.sh)" >&2; exit 2; }
build=build-valgrind
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$build" -j "$(nproc)" --target onestone >/dev/null
bin=$build/onestone
work=$(mktemp -d)
source scripts/serve_common.sh
trap 'serve_cleanup; rm -rf "$work"' EXIT
# OMP_WAIT_POLICY set: the CLI would otherwise re-execute itself, which valgrind cannot follow.
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE ONESTONE_BAD="$PWD/tests/bad"
model=${1:-}
seconds=${2:-10}
if [ -z "$model" ]; then
  "$bin" train tests/bad/good.json --out "$work/run" --quiet --max-steps 3 >/dev/null
  model=$work/run/best
fi
ONESTONE_LOAD_TOKEN=valgrind-serve-token
export ONESTONE_LOAD_TOKEN
printf '%s\n' "$ONESTONE_LOAD_TOKEN" > "$work/token"
serve_start "$work" valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect,possible \
  --errors-for-leak-kinds=definite,indirect,possible --log-file="$work/vg.log" \
  "$bin" serve "$model" --port 0 --token-file "$work/token" --max-body-bytes 2000 || { cat "$work/vg.log" >&2; exit 1; }
url=http://127.0.0.1:$port
auth="Authorization: Bearer $ONESTONE_LOAD_TOKEN"
failed=0
expect() {  # expect STATUS CURL_ARGS...: one request and its status
  local want=$1 got
  shift
  got=$(curl -s -o /dev/null -w '%{http_code}' "$@")
  if [ "$got" != "$want" ]; then echo "valgrind_serve: $* -> $got (expected $want)" >&2; failed=1; fi
}
expect 200 "$url/healthz"
expect 200 "$url/"
expect 401 -X POST -d '{"text": "a"}' "$url/v1/predict"
expect 400 -H "$auth" -X POST -d '{"text": ' "$url/v1/predict"
expect 400 -H "$auth" -X POST -d '{"text": "a", "tasks": ["nope"]}' "$url/v1/predict"
expect 413 -H "$auth" -X POST --data-binary "{\"text\": \"$(head -c 3000 /dev/zero | tr '\0' a)\"}" "$url/v1/predict"
expect 200 -H "$auth" "$url/metrics"
expect 200 -H "$auth" "$url/v1/model"
wrk -t1 -c4 -d"${seconds}s" --timeout 120s -s scripts/load_test.lua "$url/v1/predict" > "$work/wrk" || failed=1
grep '^LOADTEST' "$work/wrk" || failed=1
grep -q ' errors=0 ' "$work/wrk" || { echo "valgrind_serve: requests failed under load" >&2; failed=1; }
serve_stop
if [ "$server_rc" -ne 0 ] || [ -s "$work/vg.log" ]; then
  echo "valgrind_serve: server exit $server_rc (expected 0); valgrind log:" >&2
  cat "$work/err" "$work/vg.log" >&2
  failed=1
fi
[ "$failed" -eq 0 ] || { echo "valgrind_serve: FAILED" >&2; exit 1; }
echo "valgrind_serve: clean (no memory errors, no leaks; every answer as expected; exit 0 after SIGTERM)"
