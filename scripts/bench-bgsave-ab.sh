#!/usr/bin/env bash
# A/B of GET p99 during BGSAVE: two cachet binaries on the same data (scripts/bench-snapshot.sh's
# fill, one snapshot loaded by both), alternating rounds; per round and binary the p99 of
# `redis-benchmark -c 50 -n $GETS -t get` alone, then during back-to-back BGSAVEs, and their
# ratio. Servers on CPU 1, the load on CPU 0. Quote the median of the ratios (docs/notes.md).
# OLD_ARGS / NEW_ARGS: extra flags for each binary (e.g. NEW_ARGS='--shards 1024'), so one
# binary can be compared with itself under two settings. NICE=-19 (root) runs both servers and the
# load generator at that nice value, so that other processes on the machine (builds) barely take
# their CPUs: what is left is the save's own cost to the clients.
# Usage: [KEYS=1000000] [HASHES=100000] [GETS=200000] [OLD_ARGS=] [NEW_ARGS=] scripts/bench-bgsave-ab.sh OLD NEW [rounds=5]
set -euo pipefail
OLD=$(realpath "$1") NEW=$(realpath "$2") ROUNDS=${3:-5}
KEYS=${KEYS:-1000000} HASHES=${HASHES:-100000} GETS=${GETS:-200000}
OLD_ARGS=${OLD_ARGS:-} NEW_ARGS=${NEW_ARGS:-}
RUN=(nice -n "${NICE:-0}")
W=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
cd "$(dirname "$0")/.."
# The same bytes as scripts/bench-snapshot.sh fills: the generator of their library, taken from it
# (sourcing the library would also start its own scratch directory and exit trap).
sed -n "/<<'PY'/,/^PY$/p" scripts/lib/snapshot-servers.sh | sed '1d;$d' >"$W/gen.py"
[ -s "$W/gen.py" ] || { echo "no generator found in scripts/lib/snapshot-servers.sh" >&2; exit 1; }
python3 "$W/gen.py" "$KEYS" "$HASHES" >"$W/fill.resp"
mkdir -p "$W/a" "$W/b"
start() { # bin dir port [extra flags...]
  local bin=$1 dir=$2 port=$3; shift 3
  # shellcheck disable=SC2068 # the extra flags are split on purpose
  "${RUN[@]}" taskset -c 1 "$bin" --port "$port" --bind 127.0.0.1 --save '' --dir "$dir" --loglevel warning $@ </dev/null >>"$dir/log" 2>&1 &
  local pid=$!; PIDS+=("$pid")
  until redis-cli -p "$port" dbsize 2>/dev/null | grep -qx '[0-9][0-9]*'; do
    kill -0 "$pid" 2>/dev/null || { echo "$bin did not start:" >&2; tail -n 20 "$dir/log" >&2; exit 1; }
    sleep 0.05
  done
}
PA=$(free_port); start "$OLD" "$W/a" "$PA" $OLD_ARGS
taskset -c 0 redis-cli -p "$PA" --pipe <"$W/fill.resp" | tail -n 1 >&2
redis-cli -p "$PA" save >/dev/null
cp "$W/a/dump.cachet" "$W/b/dump.cachet"
PB=$(free_port); start "$NEW" "$W/b" "$PB" $NEW_ARGS
echo "dbsize old $(redis-cli -p $PA dbsize) new $(redis-cli -p $PB dbsize)" >&2
p99() { "${RUN[@]}" taskset -c 0 redis-benchmark -p "$1" -c 50 -n "$GETS" -r "$KEYS" -t get --csv 2>/dev/null | tail -n 1 | awk -F'"' '{print $14}'; }
in_progress() { redis-cli -p "$1" info persistence 2>/dev/null | grep -q 'rdb_bgsave_in_progress:1'; }
now_ms() { date +%s%3N; }
# Each BGSAVE's wall time (ms, from the command until INFO no longer shows it) goes to $W/durations;
# the first BGSAVE of a round runs wholly under the load, the last one partly.
during() {
  rm -f "$W/stop" "$W/durations"
  ( while [ ! -e "$W/stop" ]; do
      t0=$(now_ms); redis-cli -p "$1" bgsave >/dev/null 2>&1 || true
      while in_progress "$1"; do sleep 0.01; done
      echo $(( $(now_ms) - t0 )) >>"$W/durations"
    done ) &
  local s=$!
  until in_progress "$1"; do sleep 0.005; done
  p99 "$1"
  touch "$W/stop"; wait $s
  while in_progress "$1"; do sleep 0.05; done
}
echo "round binary base_p99 bgsave_p99 ratio first_bgsave_ms"
for r in $(seq 1 "$ROUNDS"); do
  for which in old new; do
    if [ $which = old ]; then P=$PA; else P=$PB; fi
    b=$(p99 $P); during $P >"$W/p99"; d=$(cat "$W/p99")
    echo "$r $which $b $d $(awk -v a=$b -v c=$d 'BEGIN{printf "%.2f", c/a}') $(head -n 1 "$W/durations")"
  done
done
