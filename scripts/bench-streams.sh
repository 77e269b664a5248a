#!/usr/bin/env bash
# Streams, cachet against redis-server side by side in one run (issue 14's targets: ops/s >= Redis,
# bytes per entry <= Redis). Servers pinned to CPU 1, the load to CPU 0; the two servers alternate
# which goes first round by round; the table reports medians and the median of the per-round
# ratios cachet/Redis, with each server's CPU time per operation (from /proc/PID/stat).
#
#   XADD        redis-benchmark `XADD bench:<round> * f v`, at -P 16 and -P 1 (CLIENTS connections)
#   XREADGROUP  CONSUMERS connections, each a consumer of one group on that round's stream, loop
#               `XREADGROUP GROUP g cN COUNT BATCH STREAMS key >`, then XACK of the IDs read sent in
#               the same write as the next read, until the stream (every entry the XADD runs of
#               the round added) is drained; the figure is entries read and acknowledged a second.
#               This Python consumer may be the bottleneck on one core: then the CPU each server
#               spent per entry compares their cost better than the rates do.
#   memory      fresh servers, 1,000,000 XADD of 3 fields (`*` IDs) through redis-cli --pipe;
#               used_memory and RSS growth per entry.
#
# Usage: scripts/bench-streams.sh [rounds=3] [requests=200000]   (rounds 0: memory only)
# Env: CLIENTS (50), CONSUMERS (10), BATCH (10), ENTRIES (1000000, the memory run), SKIP_MEMORY=1,
#      SERVER_CPU (1), LOAD_CPU (0), REDIS_PORT (16383), CACHET_PORT (16384), CACHET (binary).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${1:-3}
REQUESTS=${2:-200000}
CLIENTS=${CLIENTS:-50}
CONSUMERS=${CONSUMERS:-10}
BATCH=${BATCH:-10}
ENTRIES=${ENTRIES:-1000000}
SERVER_CPU=${SERVER_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}
REDIS_PORT=${REDIS_PORT:-16383}
CACHET_PORT=${CACHET_PORT:-16384}

# Checks the tools, builds the release binary, makes $WORK, kills the servers on exit.
# shellcheck source=lib/pinned-servers.sh
source scripts/lib/pinned-servers.sh

# The consumer load: prints "entries seconds" for one drained stream.
cat > "$WORK/consume.py" <<'PY'
import selectors, socket, sys, time

port, key, consumers, batch = int(sys.argv[1]), sys.argv[2].encode(), int(sys.argv[3]), int(sys.argv[4])


def command(*args):
    out = b"*%d\r\n" % len(args)
    for arg in args:
        out += b"$%d\r\n%s\r\n" % (len(arg), arg)
    return out


def parse(buf, at):
    """One RESP2 value at `at`: (value, next offset), or None if incomplete. Bulk strings are
    bytes, arrays lists, nulls None, anything else the line."""
    end = buf.find(b"\r\n", at)
    if end < 0:
        return None
    kind, line = buf[at:at + 1], buf[at + 1:end]
    at = end + 2
    if kind == b"$":
        n = int(line)
        if n < 0:
            return None, at
        if len(buf) < at + n + 2:
            return None
        return buf[at:at + n], at + n + 2
    if kind == b"*":
        n = int(line)
        if n < 0:
            return None, at
        items = []
        for _ in range(n):
            got = parse(buf, at)
            if got is None:
                return None
            item, at = got
            items.append(item)
        return items, at
    if kind == b"-":
        raise RuntimeError(line.decode())
    return line, at


def read_request(name):
    return command(b"XREADGROUP", b"GROUP", b"g", name, b"COUNT", b"%d" % batch, b"STREAMS", key, b">")


setup = socket.create_connection(("127.0.0.1", port))
setup.sendall(command(b"XGROUP", b"CREATE", key, b"g", b"0"))
assert setup.recv(64) == b"+OK\r\n"
setup.close()

selector = selectors.DefaultSelector()
state = {}
started = time.perf_counter()
for n in range(consumers):
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    name = b"c%d" % n
    sock.sendall(read_request(name))
    # Replies awaited: an XACK's (when one was sent) before the read's.
    state[sock] = {"name": name, "buf": b"", "acks": 0}
    selector.register(sock, selectors.EVENT_READ)
consumed = 0
while state:
    for key_, _ in selector.select():
        sock = key_.fileobj
        s = state[sock]
        chunk = sock.recv(1 << 20)
        if not chunk:
            raise RuntimeError("connection closed")
        s["buf"] += chunk
        while s["acks"]:
            got = parse(s["buf"], 0)
            if got is None:
                break
            s["buf"] = s["buf"][got[1]:]
            s["acks"] -= 1
        if s["acks"]:
            continue
        got = parse(s["buf"], 0)
        if got is None:
            continue
        reply, at = got
        s["buf"] = s["buf"][at:]
        if reply is None:
            selector.unregister(sock)
            sock.close()
            del state[sock]
            continue
        ids = [entry[0] for entry in reply[0][1]]
        consumed += len(ids)
        sock.sendall(command(b"XACK", key, b"g", *ids) + read_request(s["name"]))
        s["acks"] = 1
elapsed = time.perf_counter() - started
print(consumed, elapsed)
PY

: > "$WORK/raw.csv"
pid_of() { if [ "$1" = redis ]; then echo "$REDIS_PID"; else echo "$CACHET_PID"; fi; }
port_of() { if [ "$1" = redis ]; then echo "$REDIS_PORT"; else echo "$CACHET_PORT"; fi; }

if (( ROUNDS > 0 )); then
  start_servers
  for round in $(seq "$ROUNDS"); do
    if (( round % 2 )); then order="redis cachet"; else order="cachet redis"; fi
    for pipeline in 16 1; do
      for server in $order; do
        port=$(port_of $server); pid=$(pid_of $server)
        len_before=$(redis-cli -p "$port" xlen "bench:$round")
        before=$(cpu_ticks "$pid")
        rps=$(taskset -c "$LOAD_CPU" redis-benchmark -p "$port" -c "$CLIENTS" -n "$REQUESTS" -P "$pipeline" \
          --csv XADD "bench:$round" '*' f v 2>/dev/null | tail -n 1 | cut -d, -f2 | tr -d '"')
        after=$(cpu_ticks "$pid")
        added=$(( $(redis-cli -p "$port" xlen "bench:$round") - len_before ))
        [ "$added" = "$REQUESTS" ] || { echo "$server: $added of $REQUESTS XADDs landed" >&2; exit 1; }
        echo "$server,XADD,$pipeline,$round,$rps,$REQUESTS,$((after - before))" >> "$WORK/raw.csv"
      done
    done
    for server in $order; do
      port=$(port_of $server); pid=$(pid_of $server)
      before=$(cpu_ticks "$pid")
      read -r consumed seconds < <(taskset -c "$LOAD_CPU" python3 "$WORK/consume.py" "$port" "bench:$round" "$CONSUMERS" "$BATCH")
      after=$(cpu_ticks "$pid")
      pending=$(redis-cli -p "$port" xpending "bench:$round" g | head -n 1)
      [ "$pending" = 0 ] || { echo "$server: $pending entries still pending after the consumer run" >&2; exit 1; }
      rps=$(python3 -c "print($consumed / $seconds)")
      echo "$server,XREADGROUP+XACK,$BATCH,$round,$rps,$consumed,$((after - before))" >> "$WORK/raw.csv"
      redis-cli -p "$port" del "bench:$round" >/dev/null
    done
  done
  stop_servers
fi

MEM_LINES=""
if [ "${SKIP_MEMORY:-0}" != 1 ]; then
  # Fresh processes, so memory the throughput rounds left with the allocator does not count.
  start_servers
  python3 - "$WORK/load.resp" "$ENTRIES" <<'PY'
import sys
def command(*args):
    out = b"*%d\r\n" % len(args)
    for arg in args:
        out += b"$%d\r\n%s\r\n" % (len(arg), arg)
    return out
with open(sys.argv[1], "wb") as f:
    for i in range(int(sys.argv[2])):
        f.write(command(b"XADD", b"events", b"*", b"user", b"user:%d" % (i % 10007),
                        b"action", (b"view", b"click", b"buy")[i % 3], b"amount", b"%d" % (i % 977)))
PY
  used() { redis-cli -p "$1" info memory | awk -F: '/^used_memory:/ {print $2+0}'; }
  for server in redis cachet; do
    port=$(port_of $server); pid=$(pid_of $server)
    base_used=$(used "$port")
    base_rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
    taskset -c "$LOAD_CPU" redis-cli -p "$port" --pipe < "$WORK/load.resp" >/dev/null
    sleep 1
    used_now=$(used "$port")
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
    len=$(redis-cli -p "$port" xlen events)
    MEM_LINES+="$server,$len,$base_used,$used_now,$base_rss,$rss"$'\n'
  done
  stop_servers
fi

TICK=$(getconf CLK_TCK)
python3 - "$WORK/raw.csv" "$TICK" "$MEM_LINES" "$CLIENTS" "$CONSUMERS" <<'PY'
import csv, os, statistics, sys
raw, tick, mem, clients, consumers = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
med = statistics.median
rows = {}
if os.path.getsize(raw):
    for r in csv.reader(open(raw)):
        # server,test,pipeline-or-batch,round,ops/s,operations,cpu ticks,...
        server, test, p, rnd = r[0], r[1], int(r[2]), int(r[3])
        rps, ops, ticks = float(r[4]), int(r[5]), int(r[6])
        rows.setdefault((test, p), {}).setdefault(rnd, {})[server] = (rps, ticks * 1e6 / tick / max(ops, 1))
if rows:
    print(f"{'test':<16} {'-P/COUNT':>8} | {'redis ops/s':>12} {'cachet ops/s':>12} {'ratio':>6} | {'cpu us/op r/c':>14} {'ratio':>6}")
    for (test, p), rounds in sorted(rows.items()):
        full = [v for v in rounds.values() if "redis" in v and "cachet" in v]
        ratio = med([v["cachet"][0] / v["redis"][0] for v in full])
        cpu = med([v["cachet"][1] / v["redis"][1] if v["redis"][1] else float("nan") for v in full])
        r = [med([v["redis"][i] for v in full]) for i in range(2)]
        c = [med([v["cachet"][i] for v in full]) for i in range(2)]
        print(f"{test:<16} {p:>8} | {r[0]:>12.0f} {c[0]:>12.0f} {ratio:>6.2f} | {r[1]:>6.2f}/{c[1]:<6.2f} {cpu:>6.2f}")
    print(f"(XADD: {clients} connections; XREADGROUP+XACK: {consumers} consumers, COUNT as shown, ops = entries;")
    print(" ratios cachet/redis, median of per-round ratios; CPU from /proc/PID/stat utime+stime)")
if mem.strip():
    print()
    print(f"{'server':<7} {'entries':>8} {'used_memory/entry':>18} {'RSS/entry':>10}")
    vals = {}
    for line in mem.strip().splitlines():
        server, n, base_used, used, base_rss, rss = line.split(",")
        n = int(n)
        per_used = (int(used) - int(base_used)) / max(n, 1)
        per_rss = (int(rss) - int(base_rss)) * 1024 / max(n, 1)
        vals[server] = (per_used, per_rss)
        print(f"{server:<7} {n:>8} {per_used:>18.1f} {per_rss:>10.1f}")
    if "redis" in vals and "cachet" in vals:
        print(f"ratio cachet/redis: used_memory {vals['cachet'][0] / vals['redis'][0]:.2f}, "
              f"RSS {vals['cachet'][1] / vals['redis'][1]:.2f}")
PY
