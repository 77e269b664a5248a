# Sourced by the scripts that run one load against redis-server and cachet side by side (from the
# repository's root, after setting SERVER_CPU, REDIS_PORT and CACHET_PORT): checks the tools,
# builds the release binary (unless CACHET names one) and makes the scratch directory $WORK; `start_servers` starts both
# servers pinned to CPU $SERVER_CPU (REDIS_PID, CACHET_PID), and every server started is killed by
# PID when the script exits.

command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null || {
  echo "needs redis-server and redis-benchmark (apt-get install redis-server redis-tools)" >&2; exit 1; }
# A named binary is measured as it is: rebuilding here would cost a helper's worktree 20 minutes.
[ -n "${CACHET:-}" ] || cargo build --release --quiet
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

start_servers() {
  taskset -c "$SERVER_CPU" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$WORK" --logfile "$WORK/redis.log" &
  REDIS_PID=$!
  taskset -c "$SERVER_CPU" "${CACHET:-target/release/cachet}" --port "$CACHET_PORT" --loglevel warning --save "" --dir "$WORK" >"$WORK/cachet.log" 2>&1 &
  CACHET_PID=$!
  PIDS+=("$REDIS_PID" "$CACHET_PID")
  for port in "$REDIS_PORT" "$CACHET_PORT"; do
    for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
  done
  for pid in "$REDIS_PID" "$CACHET_PID"; do
    kill -0 "$pid" 2>/dev/null || { echo "a server did not start (port $REDIS_PORT or $CACHET_PORT in use?)" >&2; exit 1; }
  done
}

stop_servers() {
  kill "$REDIS_PID" "$CACHET_PID" 2>/dev/null || true
  wait "$REDIS_PID" "$CACHET_PID" 2>/dev/null || true
  PIDS=()
}

# CPU time a process has used, in clock ticks (user + system).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
