#!/usr/bin/env bash
# What TLS costs cachet against what it costs Redis (issue 18's benchmark): redis-benchmark GET/SET
# over plaintext and over TLS (`--tls`), against redis-server 7.0 and cachet, each serving both a
# plaintext port and a TLS port, in one run. Servers are pinned to CPU 1, the load generator to
# CPU 0; rounds alternate which server goes first, and every figure is the median of per-round
# values. "TLS cost" is plaintext ops/s / TLS ops/s of one server in one round (1.00: free), and
# TLS CPU µs/op / plaintext CPU µs/op (CPU from /proc/PID/stat, the steadier figure on a loaded
# machine). Target: TLS costs cachet no more than it costs Redis.
#
# A CA and an EC P-256 server certificate are made with openssl in a scratch directory; clients are
# not asked for certificates (tls-auth-clients no), so the cost measured is the server's session.
# redis-benchmark opens its connections once per test, so handshakes are a small part of it.
#
# Usage: scripts/bench-tls.sh [rounds=5] [requests=100000]
# Env: CACHET (binary, default target/release/cachet, built if absent), TESTS (SET,GET),
#      PIPELINES ("1 16"), CLIENTS (50).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${1:-5}
REQUESTS=${2:-100000}
TESTS=${TESTS:-SET,GET}
PIPELINES=${PIPELINES:-"1 16"}
CLIENTS=${CLIENTS:-50}
SERVER_CPU=${SERVER_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}
REDIS_PORT=${REDIS_PORT:-16389}
CACHET_PORT=${CACHET_PORT:-16390}
REDIS_TLS_PORT=${REDIS_TLS_PORT:-16391}
CACHET_TLS_PORT=${CACHET_TLS_PORT:-16392}
CACHET=${CACHET:-target/release/cachet}

command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null && command -v openssl >/dev/null || {
  echo "needs redis-server, redis-benchmark and openssl" >&2; exit 1; }
if [ "$CACHET" = target/release/cachet ]; then cargo build --release --quiet; fi
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

taskset -c "$SERVER_CPU" redis-server --port "$REDIS_PORT" --tls-port "$REDIS_TLS_PORT" --bind 127.0.0.1 \
  --save '' --appendonly no --dir "$WORK" --logfile "$WORK/redis.log" "${TLS_ARGS[@]}" &
REDIS_PID=$!
PIDS+=("$REDIS_PID")
taskset -c "$SERVER_CPU" "$CACHET" --port "$CACHET_PORT" --tls-port "$CACHET_TLS_PORT" --bind 127.0.0.1 \
  --loglevel warning --save "" --dir "$WORK" "${TLS_ARGS[@]}" >"$WORK/cachet.log" 2>&1 &
CACHET_PID=$!
PIDS+=("$CACHET_PID")
for port in "$REDIS_TLS_PORT" "$CACHET_TLS_PORT"; do
  for _ in $(seq 100); do redis-cli --tls --cacert "$WORK/ca.crt" -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
  redis-cli --tls --cacert "$WORK/ca.crt" -p "$port" ping >/dev/null || { echo "no TLS server on port $port" >&2; exit 1; }
done
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

: > "$WORK/raw.csv"
for round in $(seq "$ROUNDS"); do
  for pipeline in $PIPELINES; do
    for test in ${TESTS//,/ }; do
      if (( round % 2 )); then order="redis cachet"; else order="cachet redis"; fi
      for server in $order; do
        for mode in plain tls; do
          if [ "$server" = redis ]; then pid=$REDIS_PID; else pid=$CACHET_PID; fi
          case "$server,$mode" in
            redis,plain) args=(-p "$REDIS_PORT") ;;
            redis,tls) args=(--tls --cacert "$WORK/ca.crt" -p "$REDIS_TLS_PORT") ;;
            cachet,plain) args=(-p "$CACHET_PORT") ;;
            cachet,tls) args=(--tls --cacert "$WORK/ca.crt" -p "$CACHET_TLS_PORT") ;;
          esac
          before=$(cpu_ticks "$pid")
          line=$(taskset -c "$LOAD_CPU" redis-benchmark "${args[@]}" -c "$CLIENTS" -n "$REQUESTS" -r 1000000 \
            -d 100 -P "$pipeline" --csv -t "$test" 2>/dev/null | tail -n 1)
          after=$(cpu_ticks "$pid")
          echo "$server,$mode,$test,$pipeline,$round,$line,$((after - before))" >> "$WORK/raw.csv"
        done
      done
    done
  done
done

python3 - "$WORK/raw.csv" "$(getconf CLK_TCK)" "$REQUESTS" <<'PY'
import csv, statistics, sys
raw, tick, requests = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rows = {}
for r in csv.reader(open(raw)):
    # server,mode,test,pipeline,round,"name","rps","avg","min","p50","p95","p99","max",cpu_ticks
    server, mode, test, pipeline, rnd = r[0], r[1], r[2], int(r[3]), int(r[4])
    rps, cpu_us = float(r[6]), int(r[13]) * 1e6 / tick / requests
    rows.setdefault((test, pipeline), {}).setdefault(rnd, {})[(server, mode)] = (rps, cpu_us)
med = statistics.median
head = ("test", "-P", "TLS ops/s r", "TLS ops/s c", "c/r TLS", "c/r plain",
        "TLS cost r", "TLS cost c", "CPU us/op r pl/tls", "CPU us/op c pl/tls", "CPU cost r", "CPU cost c")
print("| " + " | ".join(head) + " |")
print("|" + "---|" * len(head))
for (test, pipeline), rounds in sorted(rows.items(), key=lambda kv: (kv[0][1], kv[0][0])):
    full = [v for v in rounds.values() if len(v) == 4]
    if not full:
        continue
    def m(server, mode, i):
        return med([v[(server, mode)][i] for v in full])
    def ratio(f):
        return med([f(v) for v in full])
    tls_cost = {s: ratio(lambda v: v[(s, "plain")][0] / v[(s, "tls")][0]) for s in ("redis", "cachet")}
    cpu_cost = {s: ratio(lambda v: v[(s, "tls")][1] / v[(s, "plain")][1] if v[(s, "plain")][1] else float("nan"))
                for s in ("redis", "cachet")}
    print(f"| {test} | {pipeline} | {m('redis','tls',0):.0f} | {m('cachet','tls',0):.0f} "
          f"| {ratio(lambda v: v[('cachet','tls')][0] / v[('redis','tls')][0]):.2f} "
          f"| {ratio(lambda v: v[('cachet','plain')][0] / v[('redis','plain')][0]):.2f} "
          f"| {tls_cost['redis']:.2f} | {tls_cost['cachet']:.2f} "
          f"| {m('redis','plain',1):.2f} / {m('redis','tls',1):.2f} | {m('cachet','plain',1):.2f} / {m('cachet','tls',1):.2f} "
          f"| {cpu_cost['redis']:.2f} | {cpu_cost['cachet']:.2f} |")
print(f"({len(full)} rounds; r = redis-server 7.0, c = cachet; TLS cost = plaintext ops/s / TLS ops/s and")
print(" TLS CPU/op / plaintext CPU/op of the same server in the same round; medians of per-round values)")
PY
