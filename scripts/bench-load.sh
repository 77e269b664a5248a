#!/usr/bin/env bash
# The load at start alone, in alternating rounds: redis-server on its RDB file, then one or two
# cachet binaries on the same cachet snapshot (the data of scripts/bench-snapshot.sh: 1,000,000
# keys of 100-byte values and 100,000 hashes of 10 fields, filled once, saved by the first
# binary; scripts/lib/snapshot-servers.sh). Each start is timed until DBSIZE answers a number; the CPU
# time the server used by then (utime+stime, all threads) is reported beside it. Servers pinned
# to CPU $SERVER_CPU (a load spread over both cores is allowed with SERVER_CPU=0,1). NICE=-19
# (root) starts the servers at that nice value, so that other processes on the machine (builds)
# barely take their CPU: wall times then mean something on a shared machine.
#
# Usage: scripts/bench-load.sh CACHET_A [CACHET_B] [rounds=5] [keys=1000000] [hashes=100000]
# E.g.   scripts/bench-load.sh /tmp/cachet-main target/release/cachet 7
set -euo pipefail
cd "$(dirname "$0")/.."
A=$1
B=${2:-}
ROUNDS=${3:-5}
KEYS=${4:-1000000}
HASHES=${5:-100000}
SERVER_CPU=${SERVER_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}
command -v redis-server >/dev/null || { echo "needs redis-server" >&2; exit 1; }
. scripts/lib/snapshot-servers.sh
PORT=${PORT:-$(free_port)}
for which in redis "$A"; do
  start "$which" "$PORT"
  taskset -c "$LOAD_CPU" redis-cli -p "$PORT" --pipe <"$WORK/fill.resp" >/dev/null
  redis-cli -p "$PORT" save >/dev/null
  stop
done
EXPECTED=$((KEYS + HASHES))
echo "files: redis $(stat -c %s "$WORK/redis/dump.rdb") B, cachet $(stat -c %s "$WORK/cachet/dump.cachet") B" >&2

for round in $(seq "$ROUNDS"); do
  order="redis $A ${B}"
  (( round % 2 )) || order="${B} $A redis"
  for which in $order; do
    start "$which" "$PORT"
    DBSIZE=$(redis-cli -p "$PORT" dbsize)
    [ "$DBSIZE" = "$EXPECTED" ] || { echo "$which loaded $DBSIZE keys, not $EXPECTED" >&2; exit 1; }
    stop
    case $which in redis) tag=redis ;; "$A") tag=A ;; *) tag=B ;; esac
    echo "$round $tag $STARTUP_MS $CPU_MS" >>"$WORK/raw"
  done
done
python3 - "$WORK/raw" "$A" "$B" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    rnd, tag, ms, cpu = line.split()
    rows.setdefault(int(rnd), {})[tag] = (int(ms), float(cpu))
tags = [t for t in ("A", "B") if any(t in r for r in rows.values())]
names = {"A": sys.argv[2], "B": sys.argv[3]}
med = statistics.median
print(f"{'round':>5} {'redis ms':>9} {'redis cpu':>9} " + " ".join(
    f"{t + ' ms':>8} {t + ' cpu ms':>9} {t + '/redis':>8} {t + ' cpu/r':>8}" for t in tags))
for rnd, r in sorted(rows.items()):
    print(f"{rnd:>5} {r['redis'][0]:>9} {r['redis'][1]:>9.0f} " + " ".join(
        f"{r[t][0]:>8} {r[t][1]:>9.0f} {r[t][0] / r['redis'][0]:>8.2f} {r[t][1] / r['redis'][1]:>8.2f}"
        for t in tags))
def spread(xs):
    return f"{min(xs):.2f}-{max(xs):.2f}"
for t in tags:
    ratios = [r[t][0] / r["redis"][0] for r in rows.values()]
    cpu_ratios = [r[t][1] / r["redis"][1] for r in rows.values()]
    print(f"{t} = {names[t]}: median load {med(r[t][0] for r in rows.values()):.0f} ms, "
          f"cpu {med(r[t][1] for r in rows.values()):.0f} ms; "
          f"median {t}/redis {med(ratios):.2f} ({spread(ratios)}), cpu {med(cpu_ratios):.2f} ({spread(cpu_ratios)})")
print(f"redis-server: median load {med(r['redis'][0] for r in rows.values()):.0f} ms, "
      f"cpu {med(r['redis'][1] for r in rows.values()):.0f} ms")
if len(tags) == 2:
    ba = [r['B'][0] / r['A'][0] for r in rows.values()]
    ba_cpu = [r['B'][1] / r['A'][1] for r in rows.values()]
    print(f"median B/A {med(ba):.2f} ({spread(ba)}), cpu {med(ba_cpu):.2f} ({spread(ba_cpu)})")
PY
