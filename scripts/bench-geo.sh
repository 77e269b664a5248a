#!/usr/bin/env bash
# GEO commands under the same redis-benchmark load against redis-server and cachet, side by side.
# Servers are pinned to CPU 1 and the load generator to CPU 0; the two servers alternate round by
# round (which goes first), and the table reports medians and the median of the per-round ratios
# cachet/Redis of throughput and of server CPU per request.
#
# Both servers first load the same 100,000 members at random positions in a 1°×1° square
# (lon 13..14, lat 38..39, about 111 × 87 km: ~10 members per km²). Searches then start at random
# centres in that square (redis-benchmark's __rand_int__ gives 12 random digits after "13.").
#
# Usage: scripts/bench-geo.sh [rounds=5] [requests=100000]
# Env: PIPELINES (default "1 16"), CLIENTS (50), TESTS (names below, comma-separated).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${1:-5}
REQUESTS=${2:-100000}
PIPELINES=${PIPELINES:-"1 16"}
CLIENTS=${CLIENTS:-50}
SERVER_CPU=${SERVER_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}
REDIS_PORT=${REDIS_PORT:-16479}
CACHET_PORT=${CACHET_PORT:-16480}
MEMBERS=100000

# name|keyspace length for __rand_int__|command
ALL_TESTS=(
  "GEOADD|1000000000000|GEOADD geo:add 13.__rand_int__ 38.__rand_int__ m:__rand_int__"
  "GEOPOS|$MEMBERS|GEOPOS geo m:__rand_int__ m:__rand_int__"
  "GEODIST|$MEMBERS|GEODIST geo m:__rand_int__ m:__rand_int__ km"
  "RADIUS1KM|1000000000000|GEOSEARCH geo FROMLONLAT 13.__rand_int__ 38.__rand_int__ BYRADIUS 1 km ASC"
  "COUNT10|1000000000000|GEOSEARCH geo FROMLONLAT 13.__rand_int__ 38.__rand_int__ BYRADIUS 5 km COUNT 10 WITHDIST"
  "BOX2KM|1000000000000|GEOSEARCH geo FROMLONLAT 13.__rand_int__ 38.__rand_int__ BYBOX 2 2 km WITHCOORD"
)
TESTS=${TESTS:-GEOADD,GEOPOS,RADIUS1KM,COUNT10,BOX2KM}

# Checks the tools, builds the release binary, makes $WORK, kills the servers on exit.
# shellcheck source=lib/pinned-servers.sh
source scripts/lib/pinned-servers.sh
start_servers

python3 - "$WORK/load.resp" "$MEMBERS" <<'PY'
import random, sys
rnd = random.Random(13)
with open(sys.argv[1], "wb") as f:
    for i in range(int(sys.argv[2])):
        lon, lat = b"%.9f" % (13 + rnd.random()), b"%.9f" % (38 + rnd.random())
        member = b"m:%012d" % i
        f.write(b"*5\r\n$6\r\nGEOADD\r\n$3\r\ngeo\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n"
                % (len(lon), lon, len(lat), lat, len(member), member))
PY
for port in "$REDIS_PORT" "$CACHET_PORT"; do
  taskset -c "$LOAD_CPU" redis-cli -p "$port" --pipe < "$WORK/load.resp" >/dev/null
  [ "$(redis-cli -p "$port" zcard geo)" = "$MEMBERS" ] || { echo "load failed on port $port" >&2; exit 1; }
done

: > "$WORK/raw.csv"
for round in $(seq "$ROUNDS"); do
  for pipeline in $PIPELINES; do
    for entry in "${ALL_TESTS[@]}"; do
      IFS='|' read -r name keyspace command <<<"$entry"
      [[ ",$TESTS," == *",$name,"* ]] || continue
      if (( round % 2 )); then order="redis cachet"; else order="cachet redis"; fi
      for server in $order; do
        if [ "$server" = redis ]; then port=$REDIS_PORT; pid=$REDIS_PID; else port=$CACHET_PORT; pid=$CACHET_PID; fi
        redis-cli -p "$port" del geo:add >/dev/null
        before=$(cpu_ticks "$pid")
        # shellcheck disable=SC2086 # the command is words
        line=$(taskset -c "$LOAD_CPU" redis-benchmark -p "$port" -c "$CLIENTS" -n "$REQUESTS" -r "$keyspace" \
          -P "$pipeline" --csv $command 2>/dev/null | tail -n 1)
        after=$(cpu_ticks "$pid")
        echo "$server,$name,$pipeline,$round,$line,$((after - before))" >> "$WORK/raw.csv"
      done
    done
  done
done

# The same reply from both servers for one search, as a check that they answer the same thing.
sample="GEOSEARCH geo FROMLONLAT 13.5 38.5 BYRADIUS 1 km ASC WITHDIST"
[ "$(redis-cli -p "$REDIS_PORT" $sample | md5sum)" = "$(redis-cli -p "$CACHET_PORT" $sample | md5sum)" ] \
  && echo "sample search: same reply from both" || echo "sample search: REPLIES DIFFER"
echo "results per search (1 km radius at the square's centre): $(redis-cli -p "$CACHET_PORT" $sample | grep -c '^m:' || true)"

TICK=$(getconf CLK_TCK)
python3 - "$WORK/raw.csv" "$TICK" "$REQUESTS" <<'PY'
import csv, statistics, sys
raw, tick, requests = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rows = {}
for r in csv.reader(open(raw)):
    # server,test,pipeline,round,"name","rps","avg","min","p50","p95","p99","max",cpu_ticks
    server, test, pipeline, rnd = r[0], r[1], int(r[2]), int(r[3])
    rps, p50, ticks = float(r[5]), float(r[8]), int(r[-1])
    rows.setdefault((test, pipeline), {}).setdefault(rnd, {})[server] = (rps, p50, ticks * 1e6 / tick / requests)
med = statistics.median
print(f"{'test':<10} {'-P':>3} | {'redis ops/s':>12} {'cachet ops/s':>12} {'ratio':>6} | {'p50 ms r/c':>13} | {'cpu us/op r/c':>15} {'ratio':>6}")
for (test, pipeline), rounds in sorted(rows.items(), key=lambda kv: (kv[0][1], kv[0][0])):
    full = [v for v in rounds.values() if "redis" in v and "cachet" in v]
    if not full:
        continue
    rps_ratio = med([v["cachet"][0] / v["redis"][0] for v in full])
    cpu_ratio = med([v["cachet"][2] / v["redis"][2] if v["redis"][2] else float("nan") for v in full])
    r = [med([v["redis"][i] for v in full]) for i in range(3)]
    c = [med([v["cachet"][i] for v in full]) for i in range(3)]
    print(f"{test:<10} {pipeline:>3} | {r[0]:>12.0f} {c[0]:>12.0f} {rps_ratio:>6.2f} | {r[1]:>6.3f}/{c[1]:<6.3f} | {r[2]:>7.2f}/{c[2]:<7.2f} {cpu_ratio:>6.2f}")
print(f"(ratios cachet/redis, median of {len(full)} per-round ratios; CPU from /proc/PID/stat utime+stime)")
PY
