#!/usr/bin/env bash
# Two cachet binaries side by side on the same redis-benchmark load: what one change costs or saves.
# Both servers are pinned to CPU 1 and the load to CPU 0; the two alternate round by round, and the
# table reports CPU per op (utime+stime from /proc/PID/stat: far less sensitive than ops/s to other
# load on the machine) and the median of the per-round ratios new/old.
#
# Usage: scripts/bench-ab.sh OLD_BINARY NEW_BINARY [rounds=3] [requests=800000]
# Env: TESTS (default SET,LPUSH), PIPELINE (16), CLIENTS (50), OLD_PORT (27380), NEW_PORT (27381),
#      VALUE_SIZE (-d, 100), KEYSPACE (-r, 1000000); NEW_ARGS: extra flags for NEW only (the same
#      binary with and without a setting, e.g. NEW_ARGS='--region all prefix key:'); MAXMEMORY (e.g. 200mb) limits both servers, which
#      are then filled past it before the rounds, so every round measures writes that evict. E.g.
#      MAXMEMORY=200mb VALUE_SIZE=1024 KEYSPACE=100000000 TESTS=SET scripts/bench-ab.sh OLD NEW
# E.g. keep a copy of target/release/cachet, rebuild with the change, then
#      scripts/bench-ab.sh /tmp/cachet-before target/release/cachet
set -euo pipefail
OLD=$1
NEW=$2
ROUNDS=${3:-3}
REQUESTS=${4:-800000}
TESTS=${TESTS:-SET,LPUSH}
PIPELINE=${PIPELINE:-16}
CLIENTS=${CLIENTS:-50}
OLD_PORT=${OLD_PORT:-27380}
NEW_PORT=${NEW_PORT:-27381}
command -v redis-benchmark >/dev/null || { echo "needs redis-benchmark (apt-get install redis-tools)" >&2; exit 1; }
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
taskset -c 1 "$OLD" --port "$OLD_PORT" --bind 127.0.0.1 --loglevel warning --save "" --dir "$WORK" >/dev/null 2>&1 &
OLD_PID=$!
# shellcheck disable=SC2086 # NEW_ARGS is a list of flags
taskset -c 1 "$NEW" --port "$NEW_PORT" --bind 127.0.0.1 --loglevel warning --save "" --dir "$WORK" ${NEW_ARGS:-} >/dev/null 2>&1 &
NEW_PID=$!
PIDS+=("$OLD_PID" "$NEW_PID")
for port in "$OLD_PORT" "$NEW_PORT"; do
  for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
done
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
VALUE_SIZE=${VALUE_SIZE:-100}
KEYSPACE=${KEYSPACE:-1000000}
if [ -n "${MAXMEMORY:-}" ]; then
  for port in "$OLD_PORT" "$NEW_PORT"; do
    redis-cli -p "$port" config set maxmemory "$MAXMEMORY" >/dev/null
    # Past the limit before measuring: the first round would otherwise fill rather than evict.
    until [ "$(redis-cli -p "$port" info stats | awk -F: '/^evicted_keys:/ {print $2+0}')" -gt 0 ]; do
      taskset -c 0 redis-benchmark -p "$port" -c "$CLIENTS" -n 100000 -r "$KEYSPACE" -d "$VALUE_SIZE" \
        -P "$PIPELINE" -t set >/dev/null 2>&1
    done
  done
fi
for round in $(seq "$ROUNDS"); do
  for test in ${TESTS//,/ }; do
    if (( round % 2 )); then order="old new"; else order="new old"; fi
    for which in $order; do
      if [ "$which" = old ]; then port=$OLD_PORT; pid=$OLD_PID; else port=$NEW_PORT; pid=$NEW_PID; fi
      before=$(cpu_ticks "$pid")
      line=$(taskset -c 0 redis-benchmark -p "$port" -c "$CLIENTS" -n "$REQUESTS" -r "$KEYSPACE" -d "$VALUE_SIZE" \
        -P "$PIPELINE" --csv -t "$test" 2>/dev/null | tail -n 1)
      after=$(cpu_ticks "$pid")
      echo "$which,$test,$round,$line,$((after - before))" >> "$WORK/raw.csv"
    done
  done
done
python3 - "$WORK/raw.csv" "$(getconf CLK_TCK)" "$REQUESTS" <<'PY'
import csv, statistics, sys
raw, tick, requests = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rows = {}
for r in csv.reader(open(raw)):
    which, test, rnd = r[0], r[1], r[2]
    rows.setdefault(test, {}).setdefault(rnd, {})[which] = (float(r[4]), int(r[-1]) * 1e6 / tick / requests)
print(f"{'test':<8} | {'cpu us/op old':>13} {'new':>7} {'new/old':>8} | {'ops/s old':>10} {'new':>10} | per-round cpu ratios")
for test, rounds in rows.items():
    full = [v for v in rounds.values() if "old" in v and "new" in v]
    med = statistics.median
    ratios = [v["new"][1] / v["old"][1] for v in full if v["old"][1]]
    print(f"{test:<8} | {med([v['old'][1] for v in full]):>13.3f} {med([v['new'][1] for v in full]):>7.3f} "
          f"{med(ratios):>8.3f} | {med([v['old'][0] for v in full]):>10.0f} {med([v['new'][0] for v in full]):>10.0f} | "
          + " ".join(f"{x:.3f}" for x in ratios))
PY
