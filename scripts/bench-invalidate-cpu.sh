#!/usr/bin/env bash
# Server CPU per tag invalidation and per tagged write: two cachet binaries and redis-server.
#   invalidate: $TAGS (100,000) tags of $PER_TAG (10) keys loaded with `redis-cli --pipe`
#     (cachet `CACHE.SET k v TAGS 1 tag`, Redis `SET k v` + `SADD tag k`), then one
#     `TAG.INVALIDATE tag` per tag piped (Redis: the SMEMBERS + UNLINK Lua of
#     benches/invalidate.rs by EVALSHA). The server's CPU (utime+stime, /proc/PID/stat, ticks of
#     10 ms) from the first invalidation until every reply is in and, for cachet,
#     `invalidation_backlog:0` (the sweeper's work counts).
#   write: `CACHE.SET key:__rand_int__ v TAGS 1 t:__rand_int__` by redis-benchmark (-P 16, 50
#     clients, $WRITES requests, -r 1000000: tags of a key or two) on a fresh server; CPU µs per
#     request. Redis is not in this part (it has no CACHE.SET).
# Each round starts every server fresh, in the order OLD, NEW, Redis, alternating which cachet
# goes first; servers pinned to CPU $SERVER_CPU, loaders to $LOAD_CPU, all at `nice -n $NICE`
# when NICE is set (e.g. NICE=-19 keeps other builds off the measurement). Prints each round and
# the medians, and the ratios of the medians.
#
# Usage: scripts/bench-invalidate-cpu.sh OLD_BINARY NEW_BINARY [rounds=5]
# Env: PARTS ("invalidate write"), TAGS (100000), PER_TAG (10), WRITES (1000000), VALUE_SIZE (100),
#      SERVER_CPU (1), LOAD_CPU (0), NICE, PORT (27400), REDIS (redis-server).
set -euo pipefail
OLD=$1
NEW=$2
ROUNDS=${3:-5}
PARTS=${PARTS:-"invalidate write"}
TAGS=${TAGS:-100000}
PER_TAG=${PER_TAG:-10}
WRITES=${WRITES:-1000000}
VALUE_SIZE=${VALUE_SIZE:-100}
SERVER_CPU=${SERVER_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}
PORT=${PORT:-27400}
REDIS=${REDIS:-redis-server}
for tool in redis-cli redis-benchmark python3 "$REDIS"; do
  command -v "$tool" >/dev/null || { echo "needs $tool" >&2; exit 1; }
done
WORK=$(mktemp -d)
SERVER_PID=
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
prio=()
[ -n "${NICE:-}" ] && prio=(nice -n "$NICE")
run_load() { "${prio[@]}" taskset -c "$LOAD_CPU" "$@"; }

LUA="local members = redis.call('SMEMBERS', KEYS[1])
local removed = 0
for i = 1, #members, 1000 do
  removed = removed + redis.call('UNLINK', unpack(members, i, math.min(i + 999, #members)))
end
redis.call('UNLINK', KEYS[1])
return removed"
SHA=$(printf '%s' "$LUA" | sha1sum | cut -d' ' -f1)

# The RESP files: loads and invalidations for both protocols.
python3 - "$WORK" "$TAGS" "$PER_TAG" "$VALUE_SIZE" "$SHA" <<'EOF'
import sys
work, tags, per_tag, size, sha = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
def resp(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)
value = b"v" * size
with open(f"{work}/cachet-load", "wb") as c, open(f"{work}/redis-load", "wb") as r:
    for t in range(tags):
        tag = b"tag:%d" % t
        for k in range(per_tag):
            key = b"key:%d:%d" % (t, k)
            c.write(resp(b"CACHE.SET", key, value, b"TAGS", b"1", tag))
            r.write(resp(b"SET", key, value) + resp(b"SADD", tag, key))
with open(f"{work}/cachet-inv", "wb") as c, open(f"{work}/redis-inv", "wb") as r:
    for t in range(tags):
        tag = b"tag:%d" % t
        c.write(resp(b"TAG.INVALIDATE", tag))
        r.write(resp(b"EVALSHA", sha.encode(), b"1", tag))
EOF

start() { # kind binary
  if [ "$1" = redis ]; then
    "${prio[@]}" taskset -c "$SERVER_CPU" "$2" --port "$PORT" --bind 127.0.0.1 --save "" \
      --appendonly no --dir "$WORK" >/dev/null 2>&1 &
  else
    "${prio[@]}" taskset -c "$SERVER_CPU" "$2" --port "$PORT" --bind 127.0.0.1 --loglevel warning \
      --save "" --dir "$WORK" >/dev/null 2>&1 &
  fi
  SERVER_PID=$!
  for _ in $(seq 200); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && return; sleep 0.05; done
  echo "server $2 did not start" >&2; exit 1
}
stop() { kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=; }
ticks() { awk '{print $14 + $15}' "/proc/$SERVER_PID/stat"; }
backlog_empty() {
  for _ in $(seq 6000); do
    redis-cli -p "$PORT" info cachet | grep -q '^invalidation_backlog:0' && return; sleep 0.01
  done
  echo "invalidation backlog never drained" >&2; exit 1
}

invalidate_round() { # kind binary → ticks
  start "$1" "$2"
  run_load redis-cli -p "$PORT" --pipe <"$WORK/$1-load" >/dev/null
  if [ "$1" = redis ]; then
    [ "$(redis-cli -p "$PORT" script load "$LUA")" = "$SHA" ] || { echo "sha mismatch" >&2; exit 1; }
  fi
  local before after
  before=$(ticks)
  run_load redis-cli -p "$PORT" --pipe <"$WORK/$1-inv" >/dev/null
  [ "$1" = redis ] || backlog_empty
  after=$(ticks)
  [ "$(redis-cli -p "$PORT" dbsize)" = 0 ] || { echo "$1: keys left after the invalidations" >&2; exit 1; }
  stop
  echo $((after - before))
}

write_round() { # binary → CPU µs per request
  start cachet "$1"
  local before after
  before=$(ticks)
  run_load redis-benchmark -p "$PORT" -P 16 -c 50 -n "$WRITES" -r 1000000 -q \
    CACHE.SET key:__rand_int__ v TAGS 1 t:__rand_int__ >/dev/null
  after=$(ticks)
  stop
  python3 -c "print(f'{($after - $before) * 10000 / $WRITES:.3f}')"
}

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

for part in $PARTS; do
  old_runs=() new_runs=() redis_runs=()
  for round in $(seq "$ROUNDS"); do
    order=(old new)
    [ $((round % 2)) = 0 ] && order=(new old)
    for which in "${order[@]}"; do
      bin=$OLD; [ "$which" = new ] && bin=$NEW
      if [ "$part" = invalidate ]; then v=$(invalidate_round cachet "$bin"); else v=$(write_round "$bin"); fi
      if [ "$which" = old ]; then old_runs+=("$v"); else new_runs+=("$v"); fi
    done
    if [ "$part" = invalidate ]; then redis_runs+=("$(invalidate_round redis "$REDIS")"); fi
    echo "$part round $round: old ${old_runs[-1]} new ${new_runs[-1]}${redis_runs:+ redis ${redis_runs[-1]}}" >&2
  done
  old_m=$(echo "${old_runs[*]}" | median)
  new_m=$(echo "${new_runs[*]}" | median)
  unit="CPU ticks (10 ms) for $TAGS invalidations of $PER_TAG-key tags"
  [ "$part" = write ] && unit="CPU µs per tagged CACHE.SET"
  echo "## $part: $unit"
  echo "| server | rounds | median |"
  echo "|---|---|---|"
  echo "| old ($OLD) | ${old_runs[*]} | $old_m |"
  echo "| new ($NEW) | ${new_runs[*]} | $new_m |"
  if [ "$part" = invalidate ]; then
    redis_m=$(echo "${redis_runs[*]}" | median)
    echo "| redis-server | ${redis_runs[*]} | $redis_m |"
    python3 -c "print(f'old/redis {$old_m/$redis_m:.2f}, new/redis {$new_m/$redis_m:.2f}, new/old {$new_m/$old_m:.2f}')"
  else
    python3 -c "print(f'new/old {$new_m/$old_m:.3f}')"
  fi
done
