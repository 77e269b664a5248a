#!/usr/bin/env bash
# Snapshots, cachet against redis-server (RDB) in one run, the same data in both: 1,000,000 keys of
# 100-byte values and 100,000 hashes of 10 fields. Reports SAVE time and file size, the load time at
# start (until DBSIZE answers), and GET p99 of 50 clients during back-to-back BGSAVEs
# against a baseline without one. Servers pinned to CPU $SERVER_CPU, the load to CPU $LOAD_CPU.
#
# Usage: [CACHET=path/to/release/cachet] scripts/bench-snapshot.sh [keys=1000000] [hashes=100000]
# Without CACHET, builds target/release/cachet first.
set -euo pipefail
cd "$(dirname "$0")/.."

KEYS=${1:-1000000}
HASHES=${2:-100000}
SERVER_CPU=${SERVER_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}
# Free ports by default: a fixed one may be another bench's server, which this one would fill.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
REDIS_PORT=${REDIS_PORT:-$(free_port)}
CACHET_PORT=${CACHET_PORT:-$(free_port)}
GETS=${GETS:-200000}

command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null || {
  echo "needs redis-server and redis-benchmark (apt-get install redis-server redis-tools)" >&2; exit 1; }
if [ -z "${CACHET:-}" ]; then cargo build --release --quiet; CACHET=target/release/cachet; fi
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
mkdir -p "$WORK/redis" "$WORK/cachet"

now_ms() { date +%s%3N; }

# Sets PID, PORT and STARTUP_MS: until DBSIZE answers a number (redis-server 7 answers PING while
# it loads, DBSIZE only once loaded). Never called in $(...): a server started
# in a command substitution keeps its pipe open and the substitution waits for it forever (the
# stall of the first version of this script).
start() {
  local server=$1 t0; t0=$(now_ms)
  if [ "$server" = redis ]; then
    taskset -c "$SERVER_CPU" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
      --dir "$WORK/redis" </dev/null >>"$WORK/redis.log" 2>&1 &
    PID=$!; PORT=$REDIS_PORT
  else
    taskset -c "$SERVER_CPU" "$CACHET" --port "$CACHET_PORT" --bind 127.0.0.1 --save '' \
      --dir "$WORK/cachet" --loglevel warning </dev/null >>"$WORK/cachet.log" 2>&1 &
    PID=$!; PORT=$CACHET_PORT
  fi
  PIDS+=("$PID")
  until redis-cli -p "$PORT" dbsize 2>/dev/null | grep -qx '[0-9][0-9]*'; do
    kill -0 "$PID" 2>/dev/null || { echo "$server did not start; log:" >&2; tail -n 20 "$WORK/$server.log" >&2; exit 1; }
    sleep 0.01
  done
  STARTUP_MS=$(( $(now_ms) - t0 ))
  local serving; serving=$(redis-cli -p "$PORT" info server | tr -d '\r' | sed -n 's/^process_id://p')
  [ "$serving" = "$PID" ] || { echo "port $PORT is served by process $serving, not $server ($PID)" >&2; exit 1; }
}

stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; }

# The same bytes for both servers, every key distinct (redis-benchmark's __rand_int__ collides):
# key:%012d as redis-benchmark's GET asks for, and h:N with fields f0..f9. Values are base64 of
# seeded random bytes (6 bits of entropy per byte: not the all-'x' of redis-benchmark, which any
# compressor squeezes to nothing).
python3 - "$KEYS" "$HASHES" >"$WORK/fill.resp" <<'PY'
import base64, random, sys
keys, hashes = int(sys.argv[1]), int(sys.argv[2])
rng = random.Random(1)
out = sys.stdout.buffer
def value(n):
    return base64.b64encode(rng.randbytes(n * 3 // 4))[:n]
def command(*args):
    b = [b"*%d\r\n" % len(args)]
    for a in args:
        b.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(b)
for i in range(keys):
    out.write(command(b"SET", b"key:%012d" % i, value(100)))
for i in range(hashes):
    args = [b"HSET", b"h:%d" % i]
    for f in range(10):
        args += [b"f%d" % f, value(32)]
    out.write(command(*args))
PY

fill() { taskset -c "$LOAD_CPU" redis-cli -p "$1" --pipe <"$WORK/fill.resp" | tail -n 1; }

p99() { # port → GET p99 in ms over $GETS requests of 50 clients
  taskset -c "$LOAD_CPU" redis-benchmark -p "$1" -c 50 -n "$GETS" -r "$KEYS" -t get --csv 2>/dev/null \
    | tail -n 1 | awk -F'"' '{print $14}'
}

in_progress() { redis-cli -p "$1" info persistence 2>/dev/null | grep -q 'rdb_bgsave_in_progress:1'; }

declare -A SAVE_MS SIZE LOAD_MS BASE_P99 BG_P99 DBSIZE BGSAVES
for server in redis cachet; do
  start "$server"
  echo "$server: $(fill "$PORT")" >&2
  DBSIZE[$server]=$(redis-cli -p "$PORT" dbsize)
  t0=$(now_ms); redis-cli -p "$PORT" save >/dev/null; SAVE_MS[$server]=$(( $(now_ms) - t0 ))
  if [ "$server" = redis ]; then file="$WORK/redis/dump.rdb"; else file="$WORK/cachet/dump.cachet"; fi
  SIZE[$server]=$(stat -c %s "$file")
  BASE_P99[$server]=$(p99 "$PORT")
  # Back-to-back BGSAVEs for the whole GET run; the loop counts the ones it started.
  ( n=0
    while [ ! -e "$WORK/stop-saver" ]; do
      redis-cli -p "$PORT" bgsave >/dev/null 2>&1 && n=$((n + 1))
      while in_progress "$PORT"; do sleep 0.01; done
    done
    echo "$n" >"$WORK/bgsaves" ) &
  SAVER=$!
  until in_progress "$PORT"; do sleep 0.005; done
  BG_P99[$server]=$(p99 "$PORT")
  touch "$WORK/stop-saver"; wait "$SAVER"; rm -f "$WORK/stop-saver"
  BGSAVES[$server]=$(cat "$WORK/bgsaves")
  while in_progress "$PORT"; do sleep 0.05; done
  redis-cli -p "$PORT" save >/dev/null
  stop
  start "$server"; LOAD_MS[$server]=$STARTUP_MS
  [ "$(redis-cli -p "$PORT" dbsize)" = "${DBSIZE[$server]}" ] || { echo "$server lost keys across the restart" >&2; exit 1; }
  stop
done

printf '%-28s %14s %14s %8s\n' "" redis-server cachet ratio
row() { printf '%-28s %14s %14s %8s\n' "$1" "$2" "$3" "$(awk -v a="$2" -v b="$3" 'BEGIN { if (a > 0) printf "%.2f", b / a; else print "-" }')"; }
row "keys (DBSIZE)" "${DBSIZE[redis]}" "${DBSIZE[cachet]}"
row "SAVE ms" "${SAVE_MS[redis]}" "${SAVE_MS[cachet]}"
row "file bytes" "${SIZE[redis]}" "${SIZE[cachet]}"
row "load at start ms" "${LOAD_MS[redis]}" "${LOAD_MS[cachet]}"
row "GET p99 ms, baseline" "${BASE_P99[redis]}" "${BASE_P99[cachet]}"
row "GET p99 ms, during BGSAVE" "${BG_P99[redis]}" "${BG_P99[cachet]}"
row "BGSAVEs during that run" "${BGSAVES[redis]}" "${BGSAVES[cachet]}"
