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
command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null || {
  echo "needs redis-server and redis-benchmark (apt-get install redis-server redis-tools)" >&2; exit 1; }
if [ -z "${CACHET:-}" ]; then cargo build --release --quiet; CACHET=target/release/cachet; fi
GETS=${GETS:-200000}
. scripts/lib/snapshot-servers.sh
# Free ports by default: a fixed one may be another bench's server, which this one would fill.
REDIS_PORT=${REDIS_PORT:-$(free_port)}
CACHET_PORT=${CACHET_PORT:-$(free_port)}
start_named() { if [ "$1" = redis ]; then start redis "$REDIS_PORT"; else start "$CACHET" "$CACHET_PORT"; fi; }

fill() { taskset -c "$LOAD_CPU" redis-cli -p "$1" --pipe <"$WORK/fill.resp" | tail -n 1; }

p99() { # port → GET p99 in ms over $GETS requests of 50 clients (at nice $NICE, as the servers)
  nice -n "${NICE:-0}" taskset -c "$LOAD_CPU" redis-benchmark -p "$1" -c 50 -n "$GETS" -r "$KEYS" -t get --csv 2>/dev/null \
    | tail -n 1 | awk -F'"' '{print $14}'
}

in_progress() { redis-cli -p "$1" info persistence 2>/dev/null | grep -q 'rdb_bgsave_in_progress:1'; }

declare -A SAVE_MS SIZE LOAD_MS BASE_P99 BG_P99 DBSIZE BGSAVES
for server in redis cachet; do
  start_named "$server"
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
  start_named "$server"; LOAD_MS[$server]=$STARTUP_MS
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
