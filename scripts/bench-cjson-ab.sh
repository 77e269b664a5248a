#!/usr/bin/env bash
# Two cachet binaries side by side on EVAL of `cjson.encode(cjson.decode(doc))` for a 1.5 KB JSON
# document (20 objects of numbers, strings, arrays, booleans and nulls): what a change to the
# cjson library costs. Servers pinned to CPU 1, redis-benchmark to CPU 0, both at nice -19; the
# two alternate round by round and the median of per-round ratios new/old of CPU time (utime +
# stime from /proc/PID/stat) is reported.
#
# Usage: scripts/bench-cjson-ab.sh OLD_BINARY NEW_BINARY [rounds=5] [requests=20000]
# Env: OLD_PORT (7814), NEW_PORT (7815).
set -euo pipefail
OLD=$(realpath "$1") NEW=$(realpath "$2") ROUNDS=${3:-5} N=${4:-20000}
OLD_PORT=${OLD_PORT:-7814} NEW_PORT=${NEW_PORT:-7815}
DOC=$(python3 -c 'import json; print(json.dumps({"items": [{"id": i, "name": "item%d" % i, "price": i * 1.25, "tags": ["a", "b"], "ok": True, "none": None} for i in range(20)], "total": 12345.678}))')
SCRIPT='return #cjson.encode(cjson.decode(ARGV[1]))'
dir=$(mktemp -d)
cd "$dir"
start() { taskset -c 1 nice -n -19 "$1" --port "$2" --bind 127.0.0.1 --save '' >/dev/null 2>&1 & echo $!; }
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
old_pid=$(start "$OLD" "$OLD_PORT")
new_pid=$(start "$NEW" "$NEW_PORT")
trap 'kill "$old_pid" "$new_pid" 2>/dev/null; rm -rf "$dir"' EXIT
sleep 1
for port in "$OLD_PORT" "$NEW_PORT"; do
  redis-cli -p "$port" eval "$SCRIPT" 0 "$DOC" >/dev/null
done
ratios=()
for round in $(seq "$ROUNDS"); do
  for side in old new; do
    if [ "$side" = old ]; then pid=$old_pid port=$OLD_PORT; else pid=$new_pid port=$NEW_PORT; fi
    before=$(cpu "$pid")
    taskset -c 0 nice -n -19 redis-benchmark -p "$port" -n "$N" -c 4 -P 8 -q eval "$SCRIPT" 0 "$DOC" >/dev/null
    after=$(cpu "$pid")
    declare "ticks_$side=$((after - before))"
  done
  ratio=$(python3 -c "print(round($ticks_new / $ticks_old, 3))")
  ratios+=("$ratio")
  echo "round $round: old $ticks_old ticks, new $ticks_new ticks for $N EVALs: new/old $ratio"
done
python3 -c 'import statistics, sys; print("median new/old CPU per EVAL:", statistics.median(map(float, sys.argv[1:])))' "${ratios[@]}"
