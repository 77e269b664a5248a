#!/usr/bin/env bash
# Snapshots, cachet against redis-server (RDB) in one run, the same data in both: 1,000,000 keys of
# 100-byte values and 100,000 hashes of 10 fields. Reports SAVE time and file size, the load time at
# start (until the first PING answers), and GET p99 of 50 clients during a BGSAVE against a
# baseline without one. Servers pinned to CPU $SERVER_CPU, the load to CPU $LOAD_CPU.
#
# Usage: scripts/bench-snapshot.sh [keys=1000000] [hashes=100000]
set -euo pipefail
cd "$(dirname "$0")/.."

KEYS=${1:-1000000}
HASHES=${2:-100000}
SERVER_CPU=${SERVER_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}
REDIS_PORT=${REDIS_PORT:-16379}
CACHET_PORT=${CACHET_PORT:-16380}

command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null || {
  echo "needs redis-server and redis-benchmark (apt-get install redis-server redis-tools)" >&2; exit 1; }
cargo build --release --quiet
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
mkdir -p "$WORK/redis" "$WORK/cachet"

now_ms() { date +%s%3N; }

start() { # server → sets PID; waits until PING answers; prints the ms it took
  local server=$1 t0; t0=$(now_ms)
  if [ "$server" = redis ]; then
    taskset -c "$SERVER_CPU" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
      --dir "$WORK/redis" --logfile "$WORK/redis.log" &
    PID=$!; PORT=$REDIS_PORT
  else
    taskset -c "$SERVER_CPU" target/release/cachet --port "$CACHET_PORT" --bind 127.0.0.1 --save '' \
      --dir "$WORK/cachet" --loglevel warning >>"$WORK/cachet.log" 2>&1 &
    PID=$!; PORT=$CACHET_PORT
  fi
  PIDS+=("$PID")
  until redis-cli -p "$PORT" ping 2>/dev/null | grep -q PONG; do
    kill -0 "$PID" 2>/dev/null || { echo "$server did not start" >&2; exit 1; }
    sleep 0.01
  done
  echo $(( $(now_ms) - t0 ))
}

fill() { # port
  taskset -c "$LOAD_CPU" redis-benchmark -p "$1" -c 50 -P 64 -n "$KEYS" -r "$KEYS" -d 100 -t set -q >/dev/null
  # __rand_int__ keys, so a few collide: DBSIZE tells what each server holds.
  taskset -c "$LOAD_CPU" redis-benchmark -p "$1" -c 50 -P 64 -n "$((HASHES * 10))" -r "$HASHES" -q \
    hset "h:__rand_int__" "f__rand_int__" "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv" >/dev/null
}

p99() { # port → GET p99 in ms over 200k requests of 50 clients
  taskset -c "$LOAD_CPU" redis-benchmark -p "$1" -c 50 -n 200000 -r "$KEYS" -t get --csv 2>/dev/null \
    | tail -n 1 | awk -F'"' '{print $14}'
}

declare -A SAVE_MS SIZE LOAD_MS BASE_P99 BG_P99 DBSIZE
for server in redis cachet; do
  start "$server" >/dev/null
  fill "$PORT"
  DBSIZE[$server]=$(redis-cli -p "$PORT" dbsize)
  t0=$(now_ms); redis-cli -p "$PORT" save >/dev/null; SAVE_MS[$server]=$(( $(now_ms) - t0 ))
  if [ "$server" = redis ]; then file="$WORK/redis/dump.rdb"; else file="$WORK/cachet/dump.cachet"; fi
  SIZE[$server]=$(stat -c %s "$file")
  BASE_P99[$server]=$(p99 "$PORT")
  # Back-to-back BGSAVEs for the whole GET run.
  ( while kill -0 "$PID" 2>/dev/null; do
      redis-cli -p "$PORT" bgsave >/dev/null 2>&1 || true
      while redis-cli -p "$PORT" info persistence 2>/dev/null | grep -q 'rdb_bgsave_in_progress:1'; do sleep 0.01; done
    done ) &
  SAVER=$!
  BG_P99[$server]=$(p99 "$PORT")
  kill "$SAVER" 2>/dev/null || true; wait "$SAVER" 2>/dev/null || true
  while redis-cli -p "$PORT" info persistence | grep -q 'rdb_bgsave_in_progress:1'; do sleep 0.05; done
  redis-cli -p "$PORT" save >/dev/null
  kill "$PID"; wait "$PID" 2>/dev/null || true
  LOAD_MS[$server]=$(start "$server")
  kill "$PID"; wait "$PID" 2>/dev/null || true
done

printf '%-28s %14s %14s %8s\n' "" redis-server cachet ratio
row() { printf '%-28s %14s %14s %8s\n' "$1" "$2" "$3" "$(awk -v a="$2" -v b="$3" 'BEGIN { if (a > 0) printf "%.2f", b / a; else print "-" }')"; }
row "keys (DBSIZE)" "${DBSIZE[redis]}" "${DBSIZE[cachet]}"
row "SAVE ms" "${SAVE_MS[redis]}" "${SAVE_MS[cachet]}"
row "file bytes" "${SIZE[redis]}" "${SIZE[cachet]}"
row "load at start ms" "${LOAD_MS[redis]}" "${LOAD_MS[cachet]}"
row "GET p99 ms, baseline" "${BASE_P99[redis]}" "${BASE_P99[cachet]}"
row "GET p99 ms, during BGSAVE" "${BG_P99[redis]}" "${BG_P99[cachet]}"
