#!/usr/bin/env bash
# The admin port's cost to the RESP path: redis-benchmark against cachet with /metrics scraped once
# a second, and without, in alternating rounds; prints ops/s and p99 of each and their ratio
# (scraped / not scraped, median of the per-round ratios). Then /health's latency while the load runs
# (p50/p99/max over one request every 20 ms).
#
# Usage: scripts/bench-admin.sh [rounds=3] [requests=300000]
# Env: TESTS (SET,GET), CLIENTS (50), PIPELINE (1), CACHET (binary; default: a release build),
#      CACHET_PORT (16390), ADMIN_PORT (19390), SERVER_CPU (1), LOAD_CPU (0).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${1:-3}
REQUESTS=${2:-300000}
TESTS=${TESTS:-SET,GET}
CLIENTS=${CLIENTS:-50}
PIPELINE=${PIPELINE:-1}
CACHET_PORT=${CACHET_PORT:-16390}
ADMIN_PORT=${ADMIN_PORT:-19390}
SERVER_CPU=${SERVER_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}

command -v redis-benchmark >/dev/null && command -v curl >/dev/null || {
  echo "needs redis-benchmark and curl" >&2; exit 1; }
if [ -z "${CACHET:-}" ]; then
  cargo build --release --quiet
  CACHET=target/release/cachet
fi
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

taskset -c "$SERVER_CPU" "$CACHET" --port "$CACHET_PORT" --loglevel warning --save "" --dir "$WORK" \
  --admin-port "$ADMIN_PORT" >"$WORK/cachet.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$ADMIN_PORT/health" >/dev/null 2>&1 && break; sleep 0.05; done
curl -fs "http://127.0.0.1:$ADMIN_PORT/health" >/dev/null || { echo "cachet did not start" >&2; exit 1; }

# One benchmark run: "test,rps,p99" lines.
bench() {
  taskset -c "$LOAD_CPU" redis-benchmark -p "$CACHET_PORT" -t "$TESTS" -n "$REQUESTS" -c "$CLIENTS" \
    -P "$PIPELINE" -r 100000 -d 100 --csv -q 2>/dev/null \
    | awk -F, 'NR > 1 { gsub(/"/, ""); print $1 "," $2 "," $7 }'
}

: > "$WORK/runs.csv"
for round in $(seq "$ROUNDS"); do
  bench | sed "s/^/plain,/" >> "$WORK/runs.csv"
  ( while :; do curl -fs -o /dev/null "http://127.0.0.1:$ADMIN_PORT/metrics"; sleep 1; done ) &
  SCRAPER=$!
  PIDS+=("$SCRAPER")
  bench | sed "s/^/scraped,/" >> "$WORK/runs.csv"
  kill "$SCRAPER" 2>/dev/null || true
  wait "$SCRAPER" 2>/dev/null || true
done
scrape_bytes=$(curl -fs "http://127.0.0.1:$ADMIN_PORT/metrics" | wc -c)
scrape_time=$(curl -fs -o /dev/null -w '%{time_total}' "http://127.0.0.1:$ADMIN_PORT/metrics")

# /health while the load runs.
( bench >/dev/null ) &
LOAD=$!
PIDS+=("$LOAD")
: > "$WORK/health.txt"
while kill -0 "$LOAD" 2>/dev/null; do
  curl -fs -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$ADMIN_PORT/health" >> "$WORK/health.txt" || true
  sleep 0.02
done

python3 - "$WORK/runs.csv" "$WORK/health.txt" "$ROUNDS" "$scrape_bytes" "$scrape_time" <<'PY'
import statistics, sys
runs, health, rounds, size, took = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
rows = {}
for line in open(runs):
    mode, test, rps, p99 = line.strip().split(",")
    rows.setdefault(test, {}).setdefault(mode, []).append((float(rps), float(p99)))
print(f"{rounds} rounds; /metrics: {size} bytes, one scrape {float(took)*1000:.1f} ms")
print(f"{'test':<8} {'ops/s plain':>12} {'ops/s scraped':>14} {'ratio':>6} {'p99 ms plain':>13} {'p99 scraped':>12} {'p99 ratio':>10}")
for test, modes in rows.items():
    plain, scraped = modes.get("plain", []), modes.get("scraped", [])
    ratios = [s[0] / p[0] for p, s in zip(plain, scraped) if p[0]]
    p99_ratios = [s[1] / p[1] for p, s in zip(plain, scraped) if p[1]]
    print(f"{test:<8} {statistics.median(r for r, _ in plain):>12.0f} {statistics.median(r for r, _ in scraped):>14.0f}"
          f" {statistics.median(ratios):>6.3f} {statistics.median(p for _, p in plain):>13.3f}"
          f" {statistics.median(p for _, p in scraped):>12.3f}"
          f" {statistics.median(p99_ratios) if p99_ratios else float('nan'):>10.3f}")
times = sorted(float(t) * 1000 for t in open(health) if t.strip())
if times:
    p = lambda q: times[min(len(times) - 1, int(q * len(times)))]
    print(f"/health under load: {len(times)} requests, p50 {p(0.5):.2f} ms, p99 {p(0.99):.2f} ms, max {times[-1]:.2f} ms")
PY
