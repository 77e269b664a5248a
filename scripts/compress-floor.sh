#!/usr/bin/env bash
# The floor under a compressed GET, on one CPU: what decompressing bench-memory.sh's JSON
# documents costs per document with the reference command-line tools (zstd at the levels
# cachet's `compression-level fast` uses: -1 without a dictionary, 3 with one; lz4 as the
# fastest common alternative), against what a redis-server GET of the same documents costs
# in all (server CPU per request, the same measure bench-memory.sh's throughput rounds use).
# If decompression alone costs more than a tenth of Redis's whole GET, no GET that
# decompresses can reach 0.9x Redis's throughput on one core.
#
# Env: JSON_KEYS (20000), JSON_MIN/JSON_MAX (1000/8000, as bench-memory.sh), SERVER_CPU (1),
# LOAD_CPU (0), PORT (7790). Needs zstd, lz4, redis-server, redis-benchmark, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
JSON_KEYS=${JSON_KEYS:-20000}
JSON_MIN=${JSON_MIN:-1000}
JSON_MAX=${JSON_MAX:-8000}
SERVER_CPU=${SERVER_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}
PORT=${PORT:-7790}
for tool in zstd lz4 redis-server redis-benchmark; do
  command -v "$tool" >/dev/null || { echo "needs $tool (apt-get install $tool)" >&2; exit 1; }
done
WORK=$(mktemp -d)
PID=""
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT

python3 scripts/lib/gen-load.py json - "$WORK/json.resp" 0 "$JSON_KEYS" "$JSON_MIN" "$JSON_MAX"
# The documents alone, one file each.
python3 - "$WORK/json.resp" "$WORK/docs" <<'PY'
import os, sys
data, out = open(sys.argv[1], "rb").read(), sys.argv[2]
os.makedirs(out)
at, n = 0, 0
while at < len(data):
    # *3 $3 SET $len key $len value
    fields = []
    at = data.index(b"\r\n", at) + 2
    for _ in range(3):
        end = data.index(b"\r\n", at)
        size = int(data[at + 1:end])
        fields.append(data[end + 2:end + 2 + size])
        at = end + 2 + size + 2
    open(os.path.join(out, "%06d.json" % n), "wb").write(fields[2])
    n += 1
PY
docs=$(ls "$WORK/docs" | wc -l)
bytes=$(cat "$WORK/json.resp.bytes")
echo "documents: $docs, $((bytes / docs)) B on average"

# One line per tool and level: ratio, compression and decompression MB/s (the tools' own
# benchmark mode; given many files, each is its own frame, as cachet compresses each value).
tool_line() { # name command...
  local name=$1 line
  shift
  line=$(taskset -c "$SERVER_CPU" "$@" </dev/null 2>&1 | tr '\r' '\n' | grep -E 'MB/s.*MB/s' | tail -1)
  python3 - "$name" "$bytes" "$docs" "$line" <<'PY'
import re, sys
name, total, docs, line = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
ratio = re.search(r"\(x?\s*([0-9.]+)\)", line).group(1)
speeds = [float(s) for s in re.findall(r"([0-9.]+) MB/s", line)]
per_doc = total / docs / (speeds[1] * 1e6) * 1e6
print(f"{name:10} ratio {ratio:>6}  compress {speeds[0]:7.1f} MB/s  decompress {speeds[1]:7.1f} MB/s"
      f" = {per_doc:5.2f} us per document")
PY
}
tool_line "zstd -1" zstd -b --fast=1 "$WORK"/docs/*.json
tool_line "zstd 3" zstd -b3 "$WORK"/docs/*.json
tool_line "lz4 1" lz4 -b1 "$WORK"/docs/*.json

# redis-server's whole GET of the same documents: server CPU per request.
taskset -c "$SERVER_CPU" redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no \
  --dir "$WORK" --logfile "$WORK/redis.log" &
PID=$!
for _ in $(seq 100); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.05; done
taskset -c "$LOAD_CPU" redis-cli -p "$PORT" --pipe <"$WORK/json.resp" >/dev/null
# Keys are "doc:%012d", as redis-benchmark's __rand_int__ writes them.
ticks() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
gets=$((docs * 10))
before=$(ticks)
taskset -c "$LOAD_CPU" redis-benchmark -p "$PORT" -n "$gets" -r "$docs" -c 50 -P 16 -q \
  GET 'doc:__rand_int__' >/dev/null
after=$(ticks)
python3 -c "print(f'redis-server GET: {($after - $before) * 1e6 / $(getconf CLK_TCK) / $gets:.2f} us of server CPU per request')"
