#!/usr/bin/env bash
# Bytes per key, cachet vs redis-server in the same run (issue 19's memory benchmark, first part).
#   plain:  1,000,000 keys of 16 B ("key:%012d") with 100 B values, loaded with pipelined SETs
#           (redis-cli --pipe from a generated file).
#   tagged: the same keys with 3 tags each: cachet `CACHE.SET k v TAGS 3 a b c`, Redis the
#           SET-of-members way (SET k v, then SADD <tag> k for each tag). The tags are `ta:<i%100>`
#           (100 tags of 10,000 keys), `tb:<i%10000>` (10,000 of 100) and `tc:<i/10>` (100,000 of 10).
# For each: RSS growth per key and used_memory growth per key, both minus the payload (key + value =
# 116 B), i.e. what the server spends on top of the bytes the client asked it to keep.
#   json:   $JSON_KEYS (200,000) JSON documents of 1-8 KB from a fixed seed (nested objects, field
#           names repeated, words and numbers from small sets), keys "doc:%012d" (redis-benchmark's __rand_int__).
#           Sizes: $JSON_MIN-$JSON_MAX bytes (1000-8000; e.g. 256-1024 for small values, with
#           COMPRESSION_MIN_SIZE=256, cachet's `compression-min-size`, 1024 by default).
#           Memory: each of $JSON_SERVERS (redis, cachet = compression off, cachet-fast,
#           cachet-default = `compression-level fast|default`, cachet-fast-dict = fast with
#           `compression-dict on`) started alone: bytes per key (RSS
#           and used_memory growth / keys), and the server's CPU µs per request of the load (SETs)
#           (redis-cli --pipe) and of as many GETs of random documents (redis-benchmark -c 50 -P 16).
#           A `-dict` server is loaded twice: the first pass samples the documents and trains
#           (in the background, then `CACHE.COMPRESSION TRAIN` for what is left), the second
#           rewrites them with the dictionary; its figures (memory, SET CPU) are the second pass's.
#           Throughput: redis-server and cachet with `compression-level $JSON_LEVEL` (fast) run
#           side by side, both loaded, then $ROUNDS (5) rounds, each replaying the SETs, then the
#           uniform GETs, then as many GETs of a skewed key choice (about Zipf 1, see
#           get_skewed_seconds) against both servers, which one goes first alternating per
#           round; used_memory of both (and cachet's hot values kept raw) after the rounds; per round the
#           ratio cachet/redis of requests per second, and the table gives the median of those
#           ratios and each server's median CPU µs per request. cachet's background compressor
#           (`compression-backlog`, $COMPRESSION_BACKLOG when set) may still be compressing when
#           the SETs' replies are in: the SET's wall time stops there, then the script waits for
#           the backlog to drain before the next step, and "SET total" is the CPU per SET up to
#           that point (requests + the compressor).
#   flood:  RSS against the limit after a change of value size (issue 19, "RSS that tracks the
#           limit"): each of $FLOOD_SERVERS (cachet, redis = redis-server's defaults, redis-defrag =
#           `activedefrag yes`) alone at `maxmemory $FLOOD_MAXMEMORY` (200mb) with allkeys-lru,
#           $FLOOD_SMALL (3,000,000) SETs of 100 B values, then $FLOOD_LARGE (600,000) of 1000 B, random
#           keys over 10M (redis-benchmark -r, -c 50 -P 16). After each phase: keys, used_memory and RSS
#           once it settles, and again after $FLOOD_IDLE (15) idle seconds (purges, defrag); the
#           ratio is RSS / (maxmemory + RSS at start).
#   sizes:  MEMORY USAGE and RSS growth per key for $SIZES_KEYS (100,000) keys of 16 B at each value
#           size of $SIZES (100..2000 B), cachet vs redis-server: where size-class rounding costs.
# Each server is started fresh for each data set, pinned to CPU $SERVER_CPU; the loader runs on
# $LOAD_CPU. Figures are read after the load settles (RSS sampled until it stops moving) and, for
# plain and tagged, again at steady state: after $STEADY_WAIT (15) idle seconds, more than jemalloc's
# 10 s dirty-page decay, the same wait for both servers.
#
# Usage: scripts/bench-memory.sh [keys=1000000]
# Env: SETS (default "plain tagged json"; also "flood", "sizes"), FLOOD_* and SIZES* above, JSON_KEYS (200000), JSON_MIN, JSON_MAX, COMPRESSION_MIN_SIZE, COMPRESSION_DICT_SIZE (16384), COMPRESSION_BACKLOG (the server's default), JSON_SERVERS, JSON_LEVEL, ROUNDS, STEADY_WAIT, CACHET (binary, default target/release/cachet, built if absent),
#      SERVER_CPU (1), LOAD_CPU (0), REDIS_PORT (16391), CACHET_PORT (16392).
set -euo pipefail
cd "$(dirname "$0")/.."

KEYS=${1:-1000000}
SETS=${SETS:-"plain tagged json"}
JSON_KEYS=${JSON_KEYS:-200000}
JSON_MIN=${JSON_MIN:-1000}
JSON_MAX=${JSON_MAX:-8000}
COMPRESSION_MIN_SIZE=${COMPRESSION_MIN_SIZE:-1024}
COMPRESSION_DICT_SIZE=${COMPRESSION_DICT_SIZE:-16384}
COMPRESSION_BACKLOG=${COMPRESSION_BACKLOG:-}
SERVER_CPU=${SERVER_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}
REDIS_PORT=${REDIS_PORT:-16391}
CACHET_PORT=${CACHET_PORT:-16392}
CACHET=${CACHET:-target/release/cachet}
STEADY_WAIT=${STEADY_WAIT:-15}

command -v redis-server >/dev/null && command -v redis-cli >/dev/null || {
  echo "needs redis-server and redis-cli (apt-get install redis-server redis-tools)" >&2; exit 1; }
[ -x "$CACHET" ] || cargo build --release --quiet
WORK=$(mktemp -d)
JSON_SERVERS=${JSON_SERVERS:-"redis cachet cachet-fast cachet-default"}
JSON_LEVEL=${JSON_LEVEL:-fast}
ROUNDS=${ROUNDS:-5}
PID=""
HOT_LINE=""
OTHER_PID=""
cleanup() {
  for p in $PID $OTHER_PID; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# Writes the RESP load of one data set for one server to a file.
generate() { # set server file
  python3 scripts/lib/gen-load.py "$1" "$2" "$3" "$KEYS" "$JSON_KEYS" "$JSON_MIN" "$JSON_MAX"
}

# The server's user + system CPU time so far, in clock ticks (all its threads).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
TICK_US=$((1000000 / $(getconf CLK_TCK)))

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

start() { # server port [cachet directives...]
  local server=$1 port=$2
  shift 2
  if [ "$server" = redis ]; then
    taskset -c "$SERVER_CPU" redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
      --dir "$WORK" --logfile "$WORK/redis.log" &
  else
    taskset -c "$SERVER_CPU" "$CACHET" --port "$port" --loglevel warning --save "" --dir "$WORK" \
      ${COMPRESSION_BACKLOG:+--compression-backlog "$COMPRESSION_BACKLOG"} "$@" >"$WORK/cachet.log" 2>&1 &
  fi
  PID=$!
  for _ in $(seq 400); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
  kill -0 "$PID" 2>/dev/null || { echo "$server did not start (port $port in use?)" >&2; exit 1; }
}

stop() { kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; PID=""; }

# Waits until cachet's background compressor has compressed every value its writes left raw
# (INFO compression's `compression_backlog_keys` at 0; redis-server has no such field).
drain() { # port
  local left
  for _ in $(seq 12000); do
    left=$(redis-cli -p "$1" info compression | tr -d '\r' | awk -F: '/^compression_backlog_keys:/ {print $2}')
    [ "${left:-0}" = 0 ] && return
    sleep 0.05
  done
  echo "the compression backlog did not drain" >&2; exit 1
}

# Seconds a redis-cli --pipe of the file takes against the port.
pipe_seconds() { # port file
  local t0 t1
  t0=$(date +%s.%N)
  taskset -c "$LOAD_CPU" redis-cli -p "$1" --pipe < "$2" >"$WORK/pipe.log" 2>&1
  t1=$(date +%s.%N)
  grep -q "errors: 0," "$WORK/pipe.log" || { echo "load had errors:" >&2; cat "$WORK/pipe.log" >&2; exit 1; }
  python3 -c "print($t1 - $t0)"
}

# Seconds $JSON_KEYS GETs of random documents take: redis-benchmark, 50 clients, 16 pipelined
# (redis-cli --pipe slows down quadratically on megabytes of bulk replies: its reader buffer).
get_seconds() { # port
  local t0 t1
  t0=$(date +%s.%N)
  taskset -c "$LOAD_CPU" redis-benchmark -p "$1" -n "$JSON_KEYS" -r "$JSON_KEYS" -c 50 -P 16 -q \
    GET 'doc:__rand_int__' >"$WORK/get.log" 2>&1
  t1=$(date +%s.%N)
  python3 -c "print($t1 - $t0)"
}

# Seconds $JSON_KEYS GETs of a skewed key choice take: about Zipf with exponent 1 (a key's
# share ~ 1/rank), as a mix of four equal redis-benchmark passes, uniform over the first
# $JSON_KEYS/1000, /100, /10 and all of the documents (redis-benchmark has no Zipf: the mix's
# density steps down tenfold per decade of rank, as 1/rank does). The passes run one after the
# other, the hottest first, so a hot key's reads come in a run rather than interleaved.
get_skewed_seconds() { # port
  local t0 t1 range
  t0=$(date +%s.%N)
  for range in $((JSON_KEYS / 1000)) $((JSON_KEYS / 100)) $((JSON_KEYS / 10)) "$JSON_KEYS"; do
    taskset -c "$LOAD_CPU" redis-benchmark -p "$1" -n $((JSON_KEYS / 4)) -r "$((range > 0 ? range : 1))" \
      -c 50 -P 16 -q GET 'doc:__rand_int__' >"$WORK/get.log" 2>&1
  done
  t1=$(date +%s.%N)
  python3 -c "print($t1 - $t0)"
}

FLOOD_MAXMEMORY=${FLOOD_MAXMEMORY:-200mb}
FLOOD_SMALL=${FLOOD_SMALL:-3000000}
FLOOD_LARGE=${FLOOD_LARGE:-600000}
FLOOD_IDLE=${FLOOD_IDLE:-15}
FLOOD_SERVERS=${FLOOD_SERVERS:-"cachet redis redis-defrag"}
SIZES=${SIZES:-"100 200 300 400 450 490 500 550 600 700 800 900 1000 1010 1100 1200 1500 1600 2000"}
SIZES_KEYS=${SIZES_KEYS:-100000}

to_bytes() { # 200mb -> bytes
  python3 -c "import sys,re; m=re.fullmatch(r'(\d+)([kmg]?b?)', sys.argv[1].lower()); u={'':1,'b':1,'k':1000,'kb':1024,'m':10**6,'mb':2**20,'g':10**9,'gb':2**30}[m.group(2)]; print(int(m.group(1))*u)" "$1"
}

# SETs of random keys over 10M with values of one size (redis-benchmark's key:__rand_int__).
flood_sets() { # port count bytes
  taskset -c "$LOAD_CPU" redis-benchmark -p "$1" -t set -n "$2" -d "$3" -r 10000000 -c 50 -P 16 -q \
    >"$WORK/bench.log" 2>&1
}

# One flood line: server,phase,keys,used_memory,rss_kb,rss_kb_after_idle
flood_phase() { # server port phase
  local rss used keys idle
  rss=$(settled_rss "$PID")
  used=$(used_memory "$2")
  keys=$(redis-cli -p "$2" dbsize)
  sleep "$FLOOD_IDLE"
  idle=$(settled_rss "$PID")
  # jemalloc's view after the idle time: allocated (live), active (pages holding them: the
  # difference is fragmentation) and resident (active + dirty pages not yet given back).
  alloc=$(redis-cli -p "$2" info memory | tr -d '\r' | awk -F: '/^allocator_(allocated|active|resident):/ {printf "%s,", $2}')
  FLOOD_LINES+="$1,$3,$keys,$used,$rss,$idle,${alloc%,}"$'\n'
}

FLOOD_LINES=""
SIZE_LINES=""
LINES=""
JSON_LINES=""
ROUND_LINES=""
for set in $SETS; do
  if [ "$set" = flood ]; then
    limit=$(to_bytes "$FLOOD_MAXMEMORY")
    for server in $FLOOD_SERVERS; do
      case $server in
        redis | redis-defrag) start redis "$REDIS_PORT"; port=$REDIS_PORT ;;
        cachet) start cachet "$CACHET_PORT"; port=$CACHET_PORT ;;
        *) echo "unknown server $server in FLOOD_SERVERS" >&2; exit 1 ;;
      esac
      redis-cli -p "$port" config set maxmemory-policy allkeys-lru >/dev/null
      if [ "$server" = redis-defrag ]; then
        out=$(redis-cli -p "$port" config set activedefrag yes)
        [ "$out" = OK ] || { echo "redis-defrag: $out" >&2; stop; continue; }
      fi
      base=$(settled_rss "$PID")
      FLOOD_LINES+="$server,start,0,$(used_memory "$port"),$base,$base,0,0,0"$'\n'
      redis-cli -p "$port" config set maxmemory "$limit" >/dev/null
      flood_sets "$port" "$FLOOD_SMALL" 100
      flood_phase "$server" "$port" small
      flood_sets "$port" "$FLOOD_LARGE" 1000
      flood_phase "$server" "$port" large
      stop
    done
    continue
  fi
  if [ "$set" = sizes ]; then
    for size in $SIZES; do
      for server in redis cachet; do
        if [ "$server" = redis ]; then port=$REDIS_PORT; else port=$CACHET_PORT; fi
        start "$server" "$port"
        base=$(settled_rss "$PID")
        base_used=$(used_memory "$port")
        # key:%012d keys (16 B) as the plain set, each value exactly $size bytes.
        taskset -c "$LOAD_CPU" redis-benchmark -p "$port" -t set -n "$SIZES_KEYS" -d "$size" \
          -r "$SIZES_KEYS" -c 50 -P 16 -q >"$WORK/bench.log" 2>&1
        rss=$(settled_rss "$PID")
        used=$(used_memory "$port")
        keys=$(redis-cli -p "$port" dbsize)
        usage=$(redis-cli -p "$port" memory usage "$(redis-cli -p "$port" randomkey)")
        SIZE_LINES+="$size,$server,$keys,$((rss - base)),$((used - base_used)),$usage"$'\n'
        stop
      done
    done
    continue
  fi
  if [ "$set" = json ]; then
    generate json - "$WORK/json.resp"
    for server in $JSON_SERVERS; do
      case $server in
        redis) start redis "$REDIS_PORT"; port=$REDIS_PORT ;;
        cachet) start cachet "$CACHET_PORT"; port=$CACHET_PORT ;;
        cachet-*-dict)
          level=${server#cachet-}
          start cachet "$CACHET_PORT" --compression-level "${level%-dict}" \
            --compression-min-size "$COMPRESSION_MIN_SIZE" --compression-dict on \
            --compression-dict-size "$COMPRESSION_DICT_SIZE"
          port=$CACHET_PORT ;;
        cachet-*) start cachet "$CACHET_PORT" --compression-level "${server#cachet-}" \
            --compression-min-size "$COMPRESSION_MIN_SIZE"; port=$CACHET_PORT ;;
        *) echo "unknown server $server in JSON_SERVERS" >&2; exit 1 ;;
      esac
      base_rss=$(settled_rss "$PID")
      base_used=$(used_memory "$port")
      case $server in
        *-dict)
          pipe_seconds "$port" "$WORK/json.resp" >/dev/null
          redis-cli -p "$port" cache.compression train >/dev/null ;;
      esac
      c0=$(cpu_ticks "$PID")
      set_s=$(pipe_seconds "$port" "$WORK/json.resp")
      c1=$(cpu_ticks "$PID")
      drain "$port"
      c1d=$(cpu_ticks "$PID")
      rss=$(settled_rss "$PID")
      used=$(used_memory "$port")
      c2=$(cpu_ticks "$PID")
      get_s=$(get_seconds "$port")
      c3=$(cpu_ticks "$PID")
      keys=$(redis-cli -p "$port" dbsize)
      JSON_LINES+="$server,$keys,$base_rss,$rss,$base_used,$used,$set_s,$get_s,$(((c1 - c0) * TICK_US)),$(((c3 - c2) * TICK_US)),$(((c1d - c0) * TICK_US))"$'\n'
      stop
    done
    # Throughput side by side: both servers on the same CPU, loaded, then alternating rounds.
    start redis "$REDIS_PORT"
    OTHER_PID=$PID
    start cachet "$CACHET_PORT" --compression-level "$JSON_LEVEL" --compression-min-size "$COMPRESSION_MIN_SIZE"
    pipe_seconds "$REDIS_PORT" "$WORK/json.resp" >/dev/null
    pipe_seconds "$CACHET_PORT" "$WORK/json.resp" >/dev/null
    drain "$CACHET_PORT"
    for round in $(seq "$ROUNDS"); do
      if [ $((round % 2)) = 1 ]; then order="redis cachet"; else order="cachet redis"; fi
      for server in $order; do
        if [ "$server" = redis ]; then pid=$OTHER_PID; port=$REDIS_PORT; else pid=$PID; port=$CACHET_PORT; fi
        for load in json json-get json-zipf; do
          c0=$(cpu_ticks "$pid")
          case $load in
            json) secs=$(pipe_seconds "$port" "$WORK/json.resp") ;;
            json-get) secs=$(get_seconds "$port") ;;
            json-zipf) secs=$(get_skewed_seconds "$port") ;;
          esac
          c1=$(cpu_ticks "$pid")
          drain "$port"
          c2=$(cpu_ticks "$pid")
          ROUND_LINES+="$round,$server,$load,$secs,$(((c1 - c0) * TICK_US)),$(((c2 - c0) * TICK_US))"$'\n'
        done
      done
    done
    # What keeping hot values raw costs in memory at the end of the rounds (after a skewed pass).
    HOT_LINE="$(used_memory "$CACHET_PORT") $(used_memory "$REDIS_PORT") $(redis-cli -p "$CACHET_PORT" info compression |
      tr -d '\r' | awk -F: '/^compression_hot_(raw_keys|raw_bytes|kept_raw):/ {printf "%s=%s ", $1, $2}')"
    stop
    PID=$OTHER_PID; OTHER_PID=""; stop
    continue
  fi
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
    # Steady state: the same idle wait for both servers, longer than jemalloc's dirty-page decay
    # (10 s, Redis's and cachet's default), so the pages freed during the load (tables
    # outgrown, the client's buffers) are purged by the background threads both run.
    sleep "$STEADY_WAIT"
    steady_rss=$(settled_rss "$PID")
    steady_used=$(used_memory "$port")
    LINES+="$set,$server,$keys,$base_rss,$rss,$base_used,$used,$steady_rss,$steady_used"$'\n'
    stop
  done
done

[ -z "$FLOOD_LINES" ] || python3 - "$FLOOD_LINES" "$(to_bytes "$FLOOD_MAXMEMORY")" "$FLOOD_SMALL" "$FLOOD_LARGE" <<'PY'
import sys
lines, limit, small, large = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
print(f"flood: maxmemory {limit/2**20:.0f} MB, {small} SETs of 100 B then {large} of 1000 B (random keys over 10M)")
print(f"{'server':<13} {'phase':<6} {'keys':>8} {'used MB':>8} {'RSS MB':>7} {'RSS/(limit+base)':>16} {'idle RSS MB':>11} {'idle ratio':>10} | {'alloc MB':>8} {'active':>7} {'resident':>8}")
base = {}
for line in lines.strip().splitlines():
    server, phase, keys, used, rss, idle, *alloc = line.split(",")
    alloc = "" if len(alloc) < 3 else " | " + " ".join(f"{int(x)/2**20:>{w}.1f}" for x, w in zip(alloc, (8, 7, 8)))
    rss, idle = int(rss) * 1024, int(idle) * 1024
    if phase == "start":
        base[server] = rss
        print(f"{server:<13} {phase:<6} {keys:>8} {int(used)/2**20:>8.1f} {rss/2**20:>7.1f}")
        continue
    bound = limit + base[server]
    print(f"{server:<13} {phase:<6} {keys:>8} {int(used)/2**20:>8.1f} {rss/2**20:>7.1f} {rss/bound:>16.3f} {idle/2**20:>11.1f} {idle/bound:>10.3f}{alloc}")
PY

[ -z "$SIZE_LINES" ] || python3 - "$SIZE_LINES" <<'PY'
import sys
rows = {}
for line in sys.argv[1].strip().splitlines():
    size, server, keys, rss_kb, used, usage = line.split(",")
    rows[(int(size), server)] = (int(keys), int(rss_kb) * 1024 / int(keys), int(used) / int(keys), int(usage))
print("sizes: per key (RSS growth / keys, used_memory growth / keys, MEMORY USAGE of one key)")
print(f"{'value B':>7} | {'redis RSS':>9} {'used':>6} {'usage':>6} | {'cachet RSS':>10} {'used':>6} {'usage':>6} | {'RSS c/r':>7}")
for size in sorted({k[0] for k in rows}):
    r, c = rows.get((size, "redis")), rows.get((size, "cachet"))
    if r and c:
        print(f"{size:>7} | {r[1]:>9.0f} {r[2]:>6.0f} {r[3]:>6} | {c[1]:>10.0f} {c[2]:>6.0f} {c[3]:>6} | {c[1]/r[1]:>7.2f}")
PY

[ -z "$LINES" ] || python3 - "$LINES" "$KEYS" <<'PY'
import sys
lines, n = sys.argv[1], int(sys.argv[2])
payload = 16 + 100
print(f"{'set':<7} {'server':<7} {'when':<6} {'keys':>8} {'RSS growth':>11} {'used growth':>12} | {'RSS B/key':>9} {'used B/key':>10} | {'RSS-116':>7} {'used-116':>8}")
rows = {}
for line in lines.strip().splitlines():
    s, server, keys, brss, rss, bused, used, srss, sused = line.split(",")
    keys = int(keys)
    # "now": once RSS stops moving after the load; "steady": after $STEADY_WAIT idle seconds.
    for when, r, u in (("now", rss, used), ("steady", srss, sused)):
        drss, dused = (int(r) - int(brss)) * 1024, int(u) - int(bused)
        # Redis's tagged set also holds the tag SETs as keys: per data key, divide by the keys loaded.
        per_rss, per_used = drss / n, dused / n
        rows[(s, server, when)] = (per_rss - payload, per_used - payload)
        print(f"{s:<7} {server:<7} {when:<6} {keys:>8} {drss/2**20:>9.1f}MB {dused/2**20:>10.1f}MB | {per_rss:>9.1f} {per_used:>10.1f} | {per_rss-payload:>7.1f} {per_used-payload:>8.1f}")
for s in sorted({k[0] for k in rows}):
    for when in ("now", "steady"):
        if (s, "redis", when) in rows and (s, "cachet", when) in rows:
            r, c = rows[(s, "redis", when)], rows[(s, "cachet", when)]
            print(f"{s} ({when}): overhead per key cachet/redis  RSS {c[0]:.1f}/{r[0]:.1f} B   used_memory {c[1]:.1f}/{r[1]:.1f} B")
PY

[ -z "$JSON_LINES" ] || python3 - "$JSON_LINES" "$JSON_KEYS" "$WORK/json.resp" "$ROUND_LINES" "$JSON_LEVEL" "$HOT_LINE" <<'PY'
import statistics, sys
lines, n, load, rounds, level, hot = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
payload = int(open(load + ".bytes").read())
print(f"json: {n} documents, {payload / n:.0f} B on average")
print(f"{'server':<15} {'keys':>7} {'RSS B/key':>10} {'used B/key':>11} {'SET/s':>8} {'GET/s':>8} {'SET cpu us':>10} {'GET cpu us':>10} {'SET total':>9}")
rows = {}
for line in lines.strip().splitlines():
    server, keys, brss, rss, bused, used, set_s, get_s, set_cpu, get_cpu, set_total = line.split(",")
    per_rss = (int(rss) - int(brss)) * 1024 / n
    per_used = (int(used) - int(bused)) / n
    rows[server] = (per_rss, per_used)
    print(f"{server:<15} {keys:>7} {per_rss:>10.0f} {per_used:>11.0f} {n/float(set_s):>8.0f} {n/float(get_s):>8.0f}"
          f" {int(set_cpu)/n:>10.1f} {int(get_cpu)/n:>10.1f} {int(set_total)/n:>9.1f}")
if "redis" in rows:
    r = rows["redis"]
    for server, c in rows.items():
        if server != "redis":
            print(f"json: {server}/redis  RSS per key {c[0]/r[0]:.2f}x  used_memory per key {c[1]/r[1]:.2f}x")
by = {}
for line in rounds.strip().splitlines():
    rnd, server, what, secs, cpu, total = line.split(",")
    by[(int(rnd), server, what)] = (float(secs), int(cpu), int(total))
for what, name in (("json", "SET"), ("json-get", "GET"), ("json-zipf", "GET (skewed)")):
    ratios, cpus, totals = [], {"redis": [], "cachet": []}, []
    for rnd in sorted({k[0] for k in by}):
        r, c = by[(rnd, "redis", what)], by[(rnd, "cachet", what)]
        ratios.append(r[0] / c[0])
        cpus["redis"].append(r[1] / n)
        cpus["cachet"].append(c[1] / n)
        totals.append(c[2] / n)
    if ratios:
        print(f"json {name} side by side, cachet compression-level {level} vs redis, {len(ratios)} rounds:"
              f" ops/s ratio median {statistics.median(ratios):.2f}x (rounds {', '.join(f'{x:.2f}' for x in ratios)});"
              f" server CPU us/request median redis {statistics.median(cpus['redis']):.1f}, cachet {statistics.median(cpus['cachet']):.1f}"
              f" ({statistics.median(totals):.1f} with the backlog drained)")
if hot.strip():
    cachet_used, redis_used, *fields = hot.split()
    print(f"json after the rounds: used_memory per key cachet {int(cachet_used)/n:.0f} B, redis {int(redis_used)/n:.0f} B"
          f" ({int(cachet_used)/int(redis_used):.2f}x); {' '.join(fields)}")
PY
