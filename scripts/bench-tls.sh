#!/usr/bin/env bash
# redis-benchmark --tls GET/SET against redis-server and cachet, both serving TLS only, side by side
# in one run (issue 18's benchmark: TLS should cost cachet no more than it costs Redis). Servers are
# pinned to CPU 1, the load generator to CPU 0; the servers alternate round by round and the table
# reports the median of the per-round ratios cachet/Redis. A CA and an EC server certificate are
# made with openssl in a scratch directory; clients are not asked for certificates
# (tls-auth-clients no) so that the handshake cost is the server's alone.
#
# Usage: scripts/bench-tls.sh [rounds=3] [requests=100000]
# Env: TESTS (default SET,GET), PIPELINES (default "1 16"), CLIENTS (50).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${1:-3}
REQUESTS=${2:-100000}
TESTS=${TESTS:-SET,GET}
PIPELINES=${PIPELINES:-"1 16"}
CLIENTS=${CLIENTS:-50}
SERVER_CPU=${SERVER_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}
REDIS_PORT=${REDIS_PORT:-16389}
CACHET_PORT=${CACHET_PORT:-16390}

command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null && command -v openssl >/dev/null || {
  echo "needs redis-server, redis-benchmark and openssl" >&2; exit 1; }
cargo build --release --quiet
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=bench-ca" \
  -keyout "$WORK/ca.key" -out "$WORK/ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
  -keyout "$WORK/server.key" -out "$WORK/server.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > "$WORK/ext"
openssl x509 -req -in "$WORK/server.csr" -CA "$WORK/ca.crt" -CAkey "$WORK/ca.key" -CAcreateserial \
  -days 2 -extfile "$WORK/ext" -out "$WORK/server.crt" 2>/dev/null
TLS_ARGS=(--tls-cert-file "$WORK/server.crt" --tls-key-file "$WORK/server.key"
  --tls-ca-cert-file "$WORK/ca.crt" --tls-auth-clients no)

taskset -c "$SERVER_CPU" redis-server --port 0 --tls-port "$REDIS_PORT" --bind 127.0.0.1 --save '' \
  --appendonly no --dir "$WORK" --logfile "$WORK/redis.log" "${TLS_ARGS[@]}" &
REDIS_PID=$!
taskset -c "$SERVER_CPU" target/release/cachet --port 0 --tls-port "$CACHET_PORT" --bind 127.0.0.1 \
  --loglevel warning --save "" --dir "$WORK" "${TLS_ARGS[@]}" >"$WORK/cachet.log" 2>&1 &
CACHET_PID=$!
PIDS+=("$REDIS_PID" "$CACHET_PID")
cli() { redis-cli --tls --cacert "$WORK/ca.crt" -p "$@"; }
for port in "$REDIS_PORT" "$CACHET_PORT"; do
  for _ in $(seq 100); do cli "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
  cli "$port" ping >/dev/null || { echo "no TLS server on port $port" >&2; exit 1; }
done

: > "$WORK/raw.csv"
for round in $(seq "$ROUNDS"); do
  for pipeline in $PIPELINES; do
    for test in ${TESTS//,/ }; do
      if (( round % 2 )); then order="redis cachet"; else order="cachet redis"; fi
      for server in $order; do
        if [ "$server" = redis ]; then port=$REDIS_PORT; else port=$CACHET_PORT; fi
        line=$(taskset -c "$LOAD_CPU" redis-benchmark --tls --cacert "$WORK/ca.crt" -p "$port" \
          -c "$CLIENTS" -n "$REQUESTS" -r 1000000 -d 100 -P "$pipeline" --csv -t "$test" 2>/dev/null | tail -n 1)
        echo "$server,$test,$pipeline,$round,$line" >> "$WORK/raw.csv"
      done
    done
  done
done

python3 - "$WORK/raw.csv" <<'PY'
import csv, statistics, sys
rows = {}
for r in csv.reader(open(sys.argv[1])):
    # server,test,pipeline,round,"name","rps","avg","min","p50","p95","p99","max"
    server, test, pipeline, rnd = r[0], r[1], int(r[2]), int(r[3])
    rows.setdefault((test, pipeline), {}).setdefault(rnd, {})[server] = (float(r[5]), float(r[8]), float(r[10]))
print(f"{'test':<5} {'-P':>3} | {'redis ops/s':>12} {'cachet ops/s':>12} {'ratio':>6} | {'p50 r/c ms':>13} {'p99 r/c ms':>13}")
for (test, pipeline), rounds in sorted(rows.items(), key=lambda kv: (kv[0][1], kv[0][0])):
    full = [v for v in rounds.values() if "redis" in v and "cachet" in v]
    if not full:
        continue
    med = statistics.median
    ratio = med([v["cachet"][0] / v["redis"][0] for v in full])
    r = [med([v["redis"][i] for v in full]) for i in range(3)]
    c = [med([v["cachet"][i] for v in full]) for i in range(3)]
    print(f"{test:<5} {pipeline:>3} | {r[0]:>12.0f} {c[0]:>12.0f} {ratio:>6.2f} | {r[1]:>6.3f}/{c[1]:<6.3f} {r[2]:>6.3f}/{c[2]:<6.3f}")
print("(TLS on both; ratios are cachet/redis, median of per-round ratios)")
PY
