#!/usr/bin/env bash
# Same redis-benchmark load against redis-server and cachet, side by side in one run.
# Servers are pinned to CPU 1 and the load generator to CPU 0; the two servers alternate round by
# round and the table reports the median of the per-round ratios cachet/Redis.
# Also loads 1,000,000 keys of 100-byte values into each and compares RSS.
#
# Usage: scripts/bench-vs-redis.sh [rounds=3] [requests=200000]   (rounds 0: memory comparison only)
# Env: TESTS (default SET,GET,INCR,MSET), PIPELINES (default "1 16"), CLIENTS (50), SKIP_MEMORY=1,
#      CUSTOM: commands redis-benchmark runs as given, 'NAME=command args;NAME2=...' (after TESTS,
#      in order, so a write can fill what a later read reads; TESTS= runs CUSTOM alone). E.g.
#      CUSTOM='SETBIT=setbit bm:__rand_int__ 100 1;GETBIT=getbit bm:__rand_int__ 100'
#      VALUE_SIZE (-d, default 100), KEYSPACE (-r, default 1000000).
#      At the limit: MAXMEMORY (e.g. 200mb) sets maxmemory in both servers, Redis with
#      REDIS_POLICY (default allkeys-lru), cachet with CACHET_POLICY (default: its own default);
#      the table then also shows the keys each server evicted. E.g. the issue-15 write flood:
#      MAXMEMORY=200mb VALUE_SIZE=1000 KEYSPACE=100000000 TESTS=SET PIPELINES=16 SKIP_MEMORY=1 \
#        scripts/bench-vs-redis.sh 5 1000000
#      MIX=1: instead of redis-benchmark, memtier's default mix at the limit: 1 SET to 10 GETs, keys
#      Gaussian over KEYSPACE (mean in the middle, σ = KEYSPACE/6, as memtier's G:G), MIX_VALUE
#      (500) bytes; each server is first filled past the limit by SETs alone, then every round
#      replays the same REQUESTS commands through `redis-cli --pipe` (one connection, pipelined
#      to the full). Reports ops/s, CPU per op and the hit ratio (keyspace_hits/misses) of each. E.g.
#      MIX=1 MAXMEMORY=200mb KEYSPACE=1100000 scripts/bench-vs-redis.sh 3 2000000
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${1:-3}
REQUESTS=${2:-200000}
TESTS=${TESTS-SET,GET,INCR,MSET}
CUSTOM=${CUSTOM:-}
PIPELINES=${PIPELINES:-"1 16"}
CLIENTS=${CLIENTS:-50}
SERVER_CPU=${SERVER_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}
REDIS_PORT=${REDIS_PORT:-16379}
CACHET_PORT=${CACHET_PORT:-16380}

# Checks the tools, builds the release binary, makes $WORK, kills the servers on exit.
# shellcheck source=lib/pinned-servers.sh
source scripts/lib/pinned-servers.sh

VALUE_SIZE=${VALUE_SIZE:-100}
KEYSPACE=${KEYSPACE:-1000000}
limit_servers() {
  [ -n "${MAXMEMORY:-}" ] || return 0
  redis-cli -p "$REDIS_PORT" config set maxmemory "$MAXMEMORY" >/dev/null
  redis-cli -p "$REDIS_PORT" config set maxmemory-policy "${REDIS_POLICY:-allkeys-lru}" >/dev/null
  redis-cli -p "$CACHET_PORT" config set maxmemory "$MAXMEMORY" >/dev/null
  if [ -n "${CACHET_POLICY:-}" ]; then
    redis-cli -p "$CACHET_PORT" config set maxmemory-policy "$CACHET_POLICY" >/dev/null
  fi
}
evicted() { redis-cli -p "$1" info stats | awk -F: '/^evicted_keys:/ {print $2+0}'; }

start_servers
limit_servers

if [ "${MIX:-0}" = 1 ]; then
  python3 - "$WORK" "$KEYSPACE" "${MIX_VALUE:-500}" "$REQUESTS" "${MAXMEMORY:-200mb}" <<'PY'
import random, re, sys
work, keyspace, size, requests, limit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
units = {"kb": 1 << 10, "mb": 1 << 20, "gb": 1 << 30, "": 1}
number, unit = re.fullmatch(r"(\d+)([a-z]*)", limit.lower()).groups()
limit_bytes = int(number) * units[unit]
value = b"x" * size
rng = random.Random(15)
def key():
    k = int(rng.gauss(keyspace / 2, keyspace / 6))
    return b"memtier-%d" % min(max(k, 0), keyspace - 1)
def set_cmd(k):
    return b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(k), k, size, value)
with open(f"{work}/fill.resp", "wb") as f:
    # Twice the limit's worth of SETs: both servers are evicting before the first round.
    for _ in range(2 * limit_bytes // size):
        f.write(set_cmd(key()))
with open(f"{work}/mix.resp", "wb") as f:
    for i in range(requests):
        k = key()
        f.write(set_cmd(k) if i % 11 == 0 else b"*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n" % (len(k), k))
PY
  stat() { redis-cli -p "$1" info stats | awk -F: -v f="$2" '$1 == f {print $2+0}'; }
  for port in "$REDIS_PORT" "$CACHET_PORT"; do
    taskset -c "$LOAD_CPU" redis-cli -p "$port" --pipe < "$WORK/fill.resp" >/dev/null
  done
  : > "$WORK/mix.csv"
  for round in $(seq "$ROUNDS"); do
    if (( round % 2 )); then order="redis cachet"; else order="cachet redis"; fi
    for server in $order; do
      if [ "$server" = redis ]; then port=$REDIS_PORT; pid=$REDIS_PID; else port=$CACHET_PORT; pid=$CACHET_PID; fi
      hits=$(stat "$port" keyspace_hits); misses=$(stat "$port" keyspace_misses)
      before=$(cpu_ticks "$pid"); start=$(date +%s.%N)
      taskset -c "$LOAD_CPU" redis-cli -p "$port" --pipe < "$WORK/mix.resp" >/dev/null
      end=$(date +%s.%N); after=$(cpu_ticks "$pid")
      echo "$server,$round,$start,$end,$((after - before)),$(( $(stat "$port" keyspace_hits) - hits )),$(( $(stat "$port" keyspace_misses) - misses ))" >> "$WORK/mix.csv"
    done
  done
  stop_servers
  python3 - "$WORK/mix.csv" "$(getconf CLK_TCK)" "$REQUESTS" <<'PY'
import csv, statistics, sys
raw, tick, requests = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rounds = {}
for server, rnd, start, end, ticks, hits, misses in csv.reader(open(raw)):
    rps = requests / (float(end) - float(start))
    cpu = int(ticks) * 1e6 / tick / requests
    hit = int(hits) / max(int(hits) + int(misses), 1)
    rounds.setdefault(rnd, {})[server] = (rps, cpu, hit)
full = [v for v in rounds.values() if len(v) == 2]
med = statistics.median
r = [med([v["redis"][i] for v in full]) for i in range(3)]
c = [med([v["cachet"][i] for v in full]) for i in range(3)]
print(f"{'mix':<8} | {'redis ops/s':>12} {'cachet ops/s':>12} {'ratio':>6} | {'cpu us/op r/c':>14} {'ratio':>6} | {'hit ratio r/c':>15}")
print(f"{'1:10':<8} | {r[0]:>12.0f} {c[0]:>12.0f} {med([v['cachet'][0] / v['redis'][0] for v in full]):>6.2f} | "
      f"{r[1]:>6.2f}/{c[1]:<6.2f} {med([v['cachet'][1] / v['redis'][1] for v in full]):>6.2f} | {r[2]:>7.4f}/{c[2]:<7.4f}")
print("(ratios are cachet/redis, median of per-round ratios; CPU from /proc/PID/stat utime+stime)")
PY
  exit 0
fi

: > "$WORK/raw.csv"
for round in $(seq "$ROUNDS"); do
  for pipeline in $PIPELINES; do
    IFS=';' read -r -a customs <<< "$CUSTOM"
    for test in ${TESTS//,/ } "${customs[@]}"; do
      [ -n "$test" ] || continue
      # A custom entry is NAME=command: run the command, report it under NAME.
      command=()
      if [[ "$test" == *=* ]]; then
        read -r -a command <<< "${test#*=}"
        test=${test%%=*}
      fi
      # Alternate which server goes first so drift in machine load hits both alike.
      if (( round % 2 )); then order="redis cachet"; else order="cachet redis"; fi
      for server in $order; do
        if [ "$server" = redis ]; then port=$REDIS_PORT; pid=$REDIS_PID; else port=$CACHET_PORT; pid=$CACHET_PID; fi
        before=$(cpu_ticks "$pid")
        evicted_before=$(evicted "$port")
        if [ ${#command[@]} -gt 0 ]; then what=("${command[@]}"); else what=(-t "$test"); fi
        line=$(taskset -c "$LOAD_CPU" redis-benchmark -p "$port" -c "$CLIENTS" -n "$REQUESTS" -r "$KEYSPACE" -d "$VALUE_SIZE" \
          -P "$pipeline" --csv "${what[@]}" 2>/dev/null | tail -n 1)
        after=$(cpu_ticks "$pid")
        evicted_now=$(( $(evicted "$port") - evicted_before ))
        echo "$server,$test,$pipeline,$round,$line,$((after - before)),$evicted_now" >> "$WORK/raw.csv"
      done
    done
  done
done

MEM_LINES=""
if [ "${SKIP_MEMORY:-0}" != 1 ]; then
  # Fresh processes, so memory the throughput rounds left with the allocator does not count.
  stop_servers
  start_servers
  python3 - "$WORK/load.resp" <<'PY'
import sys
value = b"x" * 100
with open(sys.argv[1], "wb") as f:
    for i in range(1_000_000):
        key = b"key:%012d" % i
        f.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$100\r\n%s\r\n" % (len(key), key, value))
PY
  for server in redis cachet; do
    if [ "$server" = redis ]; then port=$REDIS_PORT; pid=$REDIS_PID; else port=$CACHET_PORT; pid=$CACHET_PID; fi
    redis-cli -p "$port" flushall >/dev/null
    base=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
    taskset -c "$LOAD_CPU" redis-cli -p "$port" --pipe < "$WORK/load.resp" >/dev/null
    sleep 1
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
    keys=$(redis-cli -p "$port" dbsize)
    MEM_LINES+="$server,$keys,$base,$rss"$'\n'
  done
fi
stop_servers

TICK=$(getconf CLK_TCK)
python3 - "$WORK/raw.csv" "$TICK" "$REQUESTS" "$MEM_LINES" <<'PY'
import csv, statistics, sys
raw, tick, requests, mem = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rows = {}
for r in csv.reader(open(raw)):
    # server,test,pipeline,round,"name","rps","avg","min","p50","p95","p99","max",cpu_ticks,evicted
    server, test, pipeline, rnd = r[0], r[1], int(r[2]), int(r[3])
    rps, p50, p99, ticks, evicted = float(r[5]), float(r[8]), float(r[10]), int(r[12]), int(r[13])
    ops = requests
    cpu_us = ticks * 1e6 / tick / ops
    rows.setdefault((test, pipeline), {}).setdefault(rnd, {})[server] = (rps, p50, p99, cpu_us, evicted)
print(f"{'test':<8} {'-P':>3} | {'redis ops/s':>12} {'cachet ops/s':>12} {'ratio':>6} | {'p50 r/c ms':>11} {'p99 r/c ms':>13} | {'cpu us/op r/c':>14} {'ratio':>6} | {'evicted r/c':>15}")
for (test, pipeline), rounds in sorted(rows.items(), key=lambda kv: (kv[0][1], kv[0][0])):
    full = [v for v in rounds.values() if "redis" in v and "cachet" in v]
    if not full:
        continue
    med = lambda xs: statistics.median(xs)
    rps_ratio = med([v["cachet"][0] / v["redis"][0] for v in full])
    cpu_ratio = med([v["cachet"][3] / v["redis"][3] if v["redis"][3] else float("nan") for v in full])
    r = [med([v["redis"][i] for v in full]) for i in range(5)]
    c = [med([v["cachet"][i] for v in full]) for i in range(5)]
    print(f"{test:<8} {pipeline:>3} | {r[0]:>12.0f} {c[0]:>12.0f} {rps_ratio:>6.2f} | {r[1]:>5.3f}/{c[1]:<5.3f} {r[2]:>6.3f}/{c[2]:<6.3f} | {r[3]:>6.2f}/{c[3]:<6.2f} {cpu_ratio:>6.2f} | {r[4]:>7.0f}/{c[4]:<7.0f}")
print("(ratios are cachet/redis, median of per-round ratios; CPU from /proc/PID/stat utime+stime)")
if mem.strip():
    print()
    print(f"{'server':<7} {'keys':>8} {'RSS before':>11} {'RSS after':>10} {'bytes/key':>10}")
    vals = {}
    for line in mem.strip().splitlines():
        server, keys, base, rss = line.split(",")
        keys, base, rss = int(keys), int(base) * 1024, int(rss) * 1024
        vals[server] = rss
        print(f"{server:<7} {keys:>8} {base/2**20:>9.1f}MB {rss/2**20:>8.1f}MB {(rss-base)/max(keys,1):>10.1f}")
    if "redis" in vals and "cachet" in vals:
        print(f"RSS ratio cachet/redis: {vals['cachet']/vals['redis']:.2f}")
PY
