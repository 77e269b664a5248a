#!/usr/bin/env bash
# Bytes per key, cachet vs redis-server in the same run (issue 19's memory benchmark, first part).
#   plain:  1,000,000 keys of 16 B ("key:%012d") with 100 B values, loaded with pipelined SETs
#           (redis-cli --pipe from a generated file).
#   tagged: the same keys with 3 tags each: cachet `CACHE.SET k v TAGS 3 a b c`, Redis the
#           SET-of-members way (SET k v, then SADD <tag> k for each tag). The tags are `ta:<i%100>`
#           (100 tags of 10,000 keys), `tb:<i%10000>` (10,000 of 100) and `tc:<i/10>` (100,000 of 10).
# For each: RSS growth per key and used_memory growth per key, both minus the payload (key + value =
# 116 B), i.e. what the server spends on top of the bytes the client asked it to keep.
# Each server is started fresh for each data set, pinned to CPU $SERVER_CPU; the loader runs on
# $LOAD_CPU. Figures are read after the load settles (RSS sampled until it stops moving).
#
# Usage: scripts/bench-memory.sh [keys=1000000]
# Env: SETS (default "plain tagged"), CACHET (binary, default target/release/cachet, built if absent),
#      SERVER_CPU (1), LOAD_CPU (0), REDIS_PORT (16391), CACHET_PORT (16392).
set -euo pipefail
cd "$(dirname "$0")/.."

KEYS=${1:-1000000}
SETS=${SETS:-"plain tagged"}
SERVER_CPU=${SERVER_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}
REDIS_PORT=${REDIS_PORT:-16391}
CACHET_PORT=${CACHET_PORT:-16392}
CACHET=${CACHET:-target/release/cachet}

command -v redis-server >/dev/null && command -v redis-cli >/dev/null || {
  echo "needs redis-server and redis-cli (apt-get install redis-server redis-tools)" >&2; exit 1; }
[ -x "$CACHET" ] || cargo build --release --quiet
WORK=$(mktemp -d)
PID=""
cleanup() { [ -z "$PID" ] || kill "$PID" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

# Writes the RESP load of one data set for one server to a file.
generate() { # set server file
  python3 - "$1" "$2" "$3" "$KEYS" <<'PY'
import sys
which, server, path, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
value = b"x" * 100
def cmd(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)
with open(path, "wb") as f:
    for i in range(n):
        key = b"key:%012d" % i
        if which == "plain":
            f.write(cmd(b"SET", key, value))
            continue
        tags = (b"ta:%d" % (i % 100), b"tb:%d" % (i % 10000), b"tc:%d" % (i // 10))
        if server == "cachet":
            f.write(cmd(b"CACHE.SET", key, value, b"TAGS", b"3", *tags))
        else:
            f.write(cmd(b"SET", key, value) + b"".join(cmd(b"SADD", t, key) for t in tags))
PY
}

rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
used_memory() { redis-cli -p "$1" info memory | awk -F: '/^used_memory:/ {print $2+0}'; }

# RSS once it stopped moving (jemalloc's background purge, Redis's lazy frees).
settled_rss() {
  local last now
  last=$(rss_kb "$1")
  for _ in $(seq 20); do
    sleep 0.5
    now=$(rss_kb "$1")
    [ "$now" = "$last" ] && break
    last=$now
  done
  echo "$last"
}

start() { # server port
  if [ "$1" = redis ]; then
    taskset -c "$SERVER_CPU" redis-server --port "$2" --bind 127.0.0.1 --save '' --appendonly no \
      --dir "$WORK" --logfile "$WORK/redis.log" &
  else
    taskset -c "$SERVER_CPU" "$CACHET" --port "$2" --loglevel warning --save "" --dir "$WORK" >"$WORK/cachet.log" 2>&1 &
  fi
  PID=$!
  for _ in $(seq 100); do redis-cli -p "$2" ping >/dev/null 2>&1 && break; sleep 0.05; done
  kill -0 "$PID" 2>/dev/null || { echo "$1 did not start (port $2 in use?)" >&2; exit 1; }
}

stop() { kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; PID=""; }

LINES=""
for set in $SETS; do
  for server in redis cachet; do
    if [ "$server" = redis ]; then port=$REDIS_PORT; else port=$CACHET_PORT; fi
    generate "$set" "$server" "$WORK/load.resp"
    start "$server" "$port"
    base_rss=$(settled_rss "$PID")
    base_used=$(used_memory "$port")
    taskset -c "$LOAD_CPU" redis-cli -p "$port" --pipe < "$WORK/load.resp" >"$WORK/pipe.log" 2>&1
    grep -q "errors: 0," "$WORK/pipe.log" || { echo "$server: load had errors:" >&2; cat "$WORK/pipe.log" >&2; exit 1; }
    rss=$(settled_rss "$PID")
    used=$(used_memory "$port")
    keys=$(redis-cli -p "$port" dbsize)
    LINES+="$set,$server,$keys,$base_rss,$rss,$base_used,$used"$'\n'
    stop
  done
done

python3 - "$LINES" "$KEYS" <<'PY'
import sys
lines, n = sys.argv[1], int(sys.argv[2])
payload = 16 + 100
print(f"{'set':<7} {'server':<7} {'keys':>8} {'RSS growth':>11} {'used growth':>12} | {'RSS B/key':>9} {'used B/key':>10} | {'RSS-116':>7} {'used-116':>8}")
rows = {}
for line in lines.strip().splitlines():
    s, server, keys, brss, rss, bused, used = line.split(",")
    keys = int(keys)
    drss, dused = (int(rss) - int(brss)) * 1024, int(used) - int(bused)
    # Redis's tagged set also holds the tag SETs as keys: per data key, divide by the keys loaded.
    per_rss, per_used = drss / n, dused / n
    rows[(s, server)] = (per_rss - payload, per_used - payload)
    print(f"{s:<7} {server:<7} {keys:>8} {drss/2**20:>9.1f}MB {dused/2**20:>10.1f}MB | {per_rss:>9.1f} {per_used:>10.1f} | {per_rss-payload:>7.1f} {per_used-payload:>8.1f}")
for s in sorted({k[0] for k in rows}):
    if (s, "redis") in rows and (s, "cachet") in rows:
        r, c = rows[(s, "redis")], rows[(s, "cachet")]
        print(f"{s}: overhead per key cachet/redis  RSS {c[0]:.1f}/{r[0]:.1f} B   used_memory {c[1]:.1f}/{r[1]:.1f} B")
PY
