#!/usr/bin/env bash
# Load test of `onestone serve` with wrk (Debian package wrk): starts a server on a free port with a random
# bearer token, runs wrk with scripts/load_test.lua (one text per POST /v1/predict), and prints throughput,
# p50/p99 latency, the error count and the mean encoder batch from /metrics; then stops the server with
# SIGTERM and checks it exits 0. With an ASan build (ONESTONE_BIN=build-asan/onestone) it also fails on any
# sanitizer report in the server's stderr.
#   scripts/load_test.sh MODEL_DIR [-d SECONDS] [-c CONNECTIONS] [-t WRK_THREADS] [-T TIMEOUT_S] [-- SERVE_OPTIONS...]
# (wrk counts an answer slower than TIMEOUT_S, default 10, as an error.)
# Exit status: 0 when every request got a 2xx answer and the server stopped cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."
usage="usage: scripts/load_test.sh MODEL_DIR [-d SECONDS] [-c CONNECTIONS] [-t WRK_THREADS] [-T TIMEOUT_S] [-- SERVE_OPTIONS...]"
[ $# -ge 1 ] || { echo "$usage" >&2; exit 2; }
model=$1
shift
duration=20 connections=16 threads=2 timeout=10
while [ $# -gt 0 ]; do
  case $1 in
    -d) duration=$2; shift 2 ;;
    -c) connections=$2; shift 2 ;;
    -t) threads=$2; shift 2 ;;
    -T) timeout=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
done
bin=${ONESTONE_BIN:-build/onestone}
command -v wrk >/dev/null || { echo "load_test: wrk is not installed (scripts/setup.sh installs it)" >&2; exit 2; }
[ -x "$bin" ] || { echo "load_test: $bin is missing (make build)" >&2; exit 2; }
work=$(mktemp -d)
source scripts/serve_common.sh
trap 'serve_cleanup; rm -rf "$work"' EXIT

ONESTONE_LOAD_TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
export ONESTONE_LOAD_TOKEN
printf '%s\n' "$ONESTONE_LOAD_TOKEN" > "$work/token"
serve_start "$work" "$bin" serve "$model" --port 0 --token-file "$work/token" "$@"
echo "load_test: $bin serve $model $* on port $port; wrk -t$threads -c$connections -d${duration}s --timeout ${timeout}s"

wrk -t"$threads" -c"$connections" -d"${duration}s" --timeout "${timeout}s" --latency -s scripts/load_test.lua \
  "http://127.0.0.1:$port/v1/predict" > "$work/wrk" || { cat "$work/wrk" >&2; exit 1; }
summary=$(grep '^LOADTEST' "$work/wrk") || { echo "load_test: no summary from wrk:" >&2; cat "$work/wrk" >&2; exit 1; }
metrics=$(curl -sf -H "Authorization: Bearer $ONESTONE_LOAD_TOKEN" "http://127.0.0.1:$port/metrics") ||
  { echo "load_test: GET /metrics failed; server stderr:" >&2; cat "$work/err" >&2; exit 1; }
batch=$(awk '/^onestone_batch_size_sum/ {s=$2} /^onestone_batch_size_count/ {c=$2} END {printf "%.2f", c ? s/c : 0}' <<<"$metrics")
tps=$(awk '/^onestone_tokens_per_second/ {print $2}' <<<"$metrics")
echo "load_test: ${summary#LOADTEST } mean_batch=$batch encoder_tokens_per_s=$tps"

serve_stop
status=0
if [ "$server_rc" -ne 0 ]; then echo "load_test: the server exited with $server_rc" >&2; status=1; fi
if grep -qE 'Sanitizer|runtime error' "$work/err"; then
  echo "load_test: sanitizer report:" >&2
  cat "$work/err" >&2
  status=1
fi
errors=$(sed -n 's/.* errors=\([0-9]*\).*/\1/p' <<<"$summary")
[ "$errors" = 0 ] || { echo "load_test: $errors requests failed" >&2; status=1; }
[ "$status" -eq 0 ] && echo "load_test: server stopped cleanly (exit 0, no sanitizer report)"
exit "$status"
