# Sourced by scripts/load_test.sh and scripts/valgrind_serve.sh: runs `onestone serve` in the background.
#   serve_start WORKDIR CMD...   runs CMD (a command line ending in `serve MODEL --port 0 ...`) with stdout and
#                                stderr in WORKDIR/out and WORKDIR/err; sets server (its pid) and port (read from
#                                its first line; waits up to 120 s); returns 1 when it exits or never listens.
#   serve_stop                   SIGTERM, wait; sets server_rc to its exit status.
serve_start() {
  local dir=$1
  shift
  "$@" > "$dir/out" 2> "$dir/err" &
  server=$!
  port=
  for _ in $(seq 1200); do
    port=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$dir/out")
    [ -n "$port" ] && return 0
    kill -0 "$server" 2>/dev/null || break
    sleep 0.1
  done
  echo "the server did not start:" >&2
  cat "$dir/err" >&2
  return 1
}

serve_stop() {
  server_rc=0
  kill -TERM "$server"
  wait "$server" || server_rc=$?
  server=
}

# For an EXIT trap: stops a server still running.
serve_cleanup() {
  if [ -n "${server:-}" ] && kill -0 "$server" 2>/dev/null; then kill -TERM "$server"; wait "$server" || true; fi
}
