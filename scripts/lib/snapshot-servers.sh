# Sourced by the snapshot benchmarks (bench-snapshot.sh, bench-load.sh), from the repository's
# root after setting KEYS, HASHES and SERVER_CPU: makes the scratch directory $WORK (each server's
# files in $WORK/redis or $WORK/cachet, so a restart loads what the last process saved) and kills
# every server started by PID when the script exits; writes their data, the same bytes for both,
# to $WORK/fill.resp; `start` and `stop` one server.

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
now_ms() { date +%s%3N; }
# CPU time a process has used so far (utime+stime, all threads), in ms.
cpu_ms() { awk -v t="$(getconf CLK_TCK)" '{print ($14 + $15) * 1000 / t}' "/proc/$1/stat"; }

WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
mkdir -p "$WORK/redis" "$WORK/cachet"

# start SERVER PORT, SERVER `redis` or a cachet binary, at nice $NICE when set: sets PID and
# PORT, and STARTUP_MS and CPU_MS once DBSIZE answers a number (redis-server 7 answers PING while
# it loads, DBSIZE only once loaded). Never called in $(...): a server started in a command
# substitution keeps its pipe open and the substitution waits for it forever.
start() {
  local server=$1 log t0; t0=$(now_ms)
  PORT=$2
  if [ "$server" = redis ]; then
    log=$WORK/redis.log
    nice -n "${NICE:-0}" taskset -c "$SERVER_CPU" redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no \
      --dir "$WORK/redis" </dev/null >>"$log" 2>&1 &
  else
    log=$WORK/cachet.log
    nice -n "${NICE:-0}" taskset -c "$SERVER_CPU" "$server" --port "$PORT" --bind 127.0.0.1 --save '' \
      --dir "$WORK/cachet" --loglevel warning </dev/null >>"$log" 2>&1 &
  fi
  PID=$!
  PIDS+=("$PID")
  until redis-cli -p "$PORT" dbsize 2>/dev/null | grep -qx '[0-9][0-9]*'; do
    kill -0 "$PID" 2>/dev/null || { echo "$server did not start; log:" >&2; tail -n 20 "$log" >&2; exit 1; }
    sleep 0.01
  done
  STARTUP_MS=$(( $(now_ms) - t0 ))
  CPU_MS=$(cpu_ms "$PID")
  local serving; serving=$(redis-cli -p "$PORT" info server | tr -d '\r' | sed -n 's/^process_id://p')
  [ "$serving" = "$PID" ] || { echo "port $PORT is served by process $serving, not $server ($PID)" >&2; exit 1; }
}

stop() { redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || kill "$PID"; wait "$PID" 2>/dev/null || true; }

# KEYS keys key:%012d (as redis-benchmark's GET asks for) of 100-byte values and HASHES hashes
# h:N of fields f0..f9, every key distinct (redis-benchmark's __rand_int__ collides). Values are
# base64 of seeded random bytes (6 bits of entropy per byte: not the all-'x' of redis-benchmark,
# which any compressor squeezes to nothing).
python3 - "$KEYS" "$HASHES" >"$WORK/fill.resp" <<'PY'
import base64, random, sys
keys, hashes = int(sys.argv[1]), int(sys.argv[2])
rng = random.Random(1)
out = sys.stdout.buffer
def value(n):
    return base64.b64encode(rng.randbytes(n * 3 // 4))[:n]
def command(*args):
    b = [b"*%d\r\n" % len(args)]
    for a in args:
        b.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(b)
for i in range(keys):
    out.write(command(b"SET", b"key:%012d" % i, value(100)))
for i in range(hashes):
    args = [b"HSET", b"h:%d" % i]
    for f in range(10):
        args += [b"f%d" % f, value(32)]
    out.write(command(*args))
PY
