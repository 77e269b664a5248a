#!/usr/bin/env bash
# redis-benchmark --cluster against 1, 2 and 3 cachet daemons (topology by scripts/cluster.sh) and
# a 3-node redis-server cluster made by redis-cli --cluster create, in the same run; then the
# 3-node cachet cluster again while redis-cli --cluster reshard moves 1000 slots (the cost of
# MOVED/ASK during a reshard). Prints requests per second, total and per daemon.
#   scripts/bench-cluster.sh [REQUESTS]     (default 200000 per test)
# CACHET (default target/release/cachet), BASE_PORT (default 7400). Pinning (taskset): with more
# CPUs than daemons, daemon i gets CPU i+1 and redis-benchmark CPU 0; with fewer (the 2-CPU
# machine), every daemon shares the last CPU and redis-benchmark has CPU 0, so the servers of
# each run, cachet's or redis-server's, get the same one CPU. Only the PIDs this script started
# are stopped.
set -euo pipefail

REQUESTS=${1:-200000}
CACHET=${CACHET:-target/release/cachet}
BASE=${BASE_PORT:-7400}
WORK=$(mktemp -d /tmp/cachet-bench-cluster.XXXXXX)
CPUS=$(nproc)
LOAD_CPU=0
BENCH=(taskset -c "$LOAD_CPU" redis-benchmark -h 127.0.0.1 -t set,get -n "$REQUESTS" -r 100000 -P 16 -c 50 -q)
REDIS_PIDS=()

cleanup() {
    CLUSTER_DIR="$WORK/cachet" scripts/cluster.sh stop >/dev/null 2>&1 || true
    for pid in "${REDIS_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

# The last line redis-benchmark -q prints per test: "SET: 123.45 requests per second, ...".
rps() { tr '\r' '\n' | grep "requests per second" | sed -E 's/^([A-Z]+): ([0-9.]+) requests.*/\1 \2/'; }

report() {
    local name=$1 daemons=$2
    while read -r test total; do
        printf '%-28s %-4s %10.0f req/s  %10.0f per daemon\n' "$name" "$test" "$total" \
            "$(echo "$total / $daemons" | bc -l)"
    done
}

# Every thread of the daemon (taskset -a): cachet runs one worker per CPU.
pin() {
    local i=$1 cpu
    if [ "$CPUS" -gt 3 ]; then cpu=$((i + 1)); else cpu=$((CPUS - 1)); fi
    taskset -apc "$cpu" "$2" >/dev/null
}

# Redirections answered by the nodes so far (INFO errorstats: MOVED and ASK replies).
redirections() {
    for port in "$@"; do redis-cli -p "$port" info errorstats; done | tr -d '\r' |
        sed -nE 's/^errorstat_(MOVED|ASK):count=([0-9]+)/\1 \2/p' |
        awk '{n[$1] += $2} END {printf "MOVED %d ASK %d", n["MOVED"], n["ASK"]}'
}

# redis-benchmark --cluster (3x the requests) while redis-cli --cluster reshard moves 1000 slots
# of the first node to the second: throughput during the move, how long the move took, and how
# many redirections the clients followed.
reshard_under_load() {
    local name=$1 first=$2
    local from to before started elapsed
    from=$(redis-cli -p "$first" cluster myid)
    to=$(redis-cli -p "$3" cluster myid)
    before=$(redirections "${@:2}")
    "${BENCH[@]}" --cluster -p "$first" -n $((REQUESTS * 3)) 2>/dev/null | rps >"$WORK/during" &
    local bench=$!
    sleep 0.5
    started=$(date +%s.%N)
    redis-cli --cluster reshard "127.0.0.1:$first" --cluster-from "$from" --cluster-to "$to" \
        --cluster-slots 1000 --cluster-yes >"$WORK/reshard.log" 2>&1 || echo "reshard failed: $(tail -3 "$WORK/reshard.log")"
    elapsed=$(echo "$(date +%s.%N) - $started" | bc -l)
    wait "$bench" || true
    report "$name, 3, during a reshard" 3 <"$WORK/during"
    printf '%-28s reshard: %s slots moved in %.1f s; redirections before: %s, after: %s\n' \
        "$name" "$(grep -c '^Moving slot' "$WORK/reshard.log" || true)" "$elapsed" "$before" "$(redirections "${@:2}")"
}

echo "machine: $CPUS CPUs; redis-benchmark on CPU $LOAD_CPU, daemons $([ "$CPUS" -gt 3 ] && echo 'one CPU each from 1' || echo "all on CPU $((CPUS - 1))"); load average $(cut -d' ' -f1-3 /proc/loadavg); $REQUESTS requests per test, pipeline 16, 50 clients"
for n in 1 2 3; do
    CLUSTER_DIR="$WORK/cachet" CACHET="$CACHET" CACHET_ARGS=--save= scripts/cluster.sh create "$n" "$BASE" >/dev/null
    i=0
    for port in $(ls "$WORK/cachet" | grep -E '^[0-9]+$'); do pin "$i" "$(cat "$WORK/cachet/$port/pid")"; i=$((i + 1)); done
    # redis-benchmark refuses --cluster with one node: a lone daemon is benchmarked plainly.
    cluster_flag=$([ "$n" = 1 ] || echo --cluster)
    "${BENCH[@]}" $cluster_flag -p "$BASE" 2>/dev/null | rps | report "cachet, $n daemon(s)" "$n"
    if [ "$n" = 3 ]; then
        reshard_under_load "cachet" "$BASE" $((BASE + 1)) $((BASE + 2))
    fi
    CLUSTER_DIR="$WORK/cachet" scripts/cluster.sh stop
    rm -rf "$WORK/cachet"
    sleep 0.5
done

mkdir -p "$WORK/redis"
for i in 0 1 2; do
    port=$((BASE + 100 + i))
    mkdir -p "$WORK/redis/$port"
    redis-server --port "$port" --bind 127.0.0.1 --dir "$WORK/redis/$port" --save "" --appendonly no \
        --cluster-enabled yes --cluster-config-file nodes.conf >"$WORK/redis/$port/log" 2>&1 &
    REDIS_PIDS+=($!)
    pin "$i" "$!"
done
for i in 0 1 2; do
    until redis-cli -p $((BASE + 100 + i)) ping >/dev/null 2>&1; do sleep 0.05; done
done
redis-cli --cluster create 127.0.0.1:$((BASE + 100)) 127.0.0.1:$((BASE + 101)) 127.0.0.1:$((BASE + 102)) \
    --cluster-yes >/dev/null
until redis-cli -p $((BASE + 100)) cluster info | grep -q cluster_state:ok; do sleep 0.1; done
sleep 1
"${BENCH[@]}" --cluster -p $((BASE + 100)) 2>/dev/null | rps | report "redis-server, 3 nodes" 3
reshard_under_load "redis-server" $((BASE + 100)) $((BASE + 101)) $((BASE + 102))
