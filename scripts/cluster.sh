#!/usr/bin/env bash
# Drives a local cachet cluster with the operator commands (no gossip: every node is told
# everything).
#   scripts/cluster.sh create N [BASE_PORT] [R]  N masters on BASE_PORT.. (default 7000), slots split evenly,
#                                                and R replicas per master after them (default 0)
#   scripts/cluster.sh add PORT                  one more daemon, met by every node and meeting them
#   scripts/cluster.sh reshard FROM TO COUNT     moves COUNT slots of the node on port FROM to port TO
#   scripts/cluster.sh stop                      stops the daemons this script started
# Daemons run from $CACHET (default target/release/cachet) with their files in $CLUSTER_DIR
# (default /tmp/cachet-cluster); their PIDs are kept there, and only those are stopped (stop waits
# for them to exit). $CACHET_ARGS is added to every daemon's flags (e.g. --save= for a bench: no snapshot).
# reshard is redis-cli --cluster reshard (keys move with MIGRATE ... KEYS, metadata and TTL kept).
set -euo pipefail

CACHET=${CACHET:-target/release/cachet}
DIR=${CLUSTER_DIR:-/tmp/cachet-cluster}
CLI=(redis-cli -h 127.0.0.1)
SLOTS=16384

start_node() {
    local port=$1
    mkdir -p "$DIR/$port"
    "$CACHET" --port "$port" --bind 127.0.0.1 --dir "$DIR/$port" \
        --cluster-enabled yes --cluster-config-file nodes.conf ${CACHET_ARGS:-} >"$DIR/$port/log" 2>&1 &
    echo $! >"$DIR/$port/pid"
    for _ in $(seq 100); do
        "${CLI[@]}" -p "$port" ping >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    echo "node on port $port did not start (see $DIR/$port/log)" >&2
    exit 1
}

ports() { ls "$DIR" 2>/dev/null | grep -E '^[0-9]+$' | sort -n; }

node_id() { "${CLI[@]}" -p "$1" cluster myid; }

case "${1:-}" in
create)
    n=${2:?usage: create N [BASE_PORT] [REPLICAS]}
    base=${3:-7000}
    replicas=${4:-0}
    total=$((n * (1 + replicas)))
    for i in $(seq 0 $((total - 1))); do start_node $((base + i)); done
    # One topology for every node, installed at once (CACHE.CLUSTER CONFIG): slots split evenly,
    # master i's replicas on the ports after the masters'. A replica follows its master's
    # invalidations and fills from it (README, "Cluster replicas").
    json=$(for i in $(seq 0 $((n - 1))); do
        line="$(node_id $((base + i))) $((base + i)) $((SLOTS * i / n)) $((SLOTS * (i + 1) / n - 1))"
        for r in $(seq 1 "$replicas"); do
            port=$((base + n * r + i))
            line="$line $(node_id "$port"):$port"
        done
        echo "$line"
    done | python3 -c '
import json, sys
shards = []
for line in sys.stdin:
    node, port, first, last, *replicas = line.split()
    shards.append({"slot_ranges": [{"start": int(first), "end": int(last)}],
                   "master": {"id": node, "ip": "127.0.0.1", "port": int(port)},
                   "replicas": [{"id": r.split(":")[0], "ip": "127.0.0.1", "port": int(r.split(":")[1])}
                                for r in replicas]})
print(json.dumps(shards))')
    for port in $(ports); do "${CLI[@]}" -p "$port" cache.cluster config "$json" >/dev/null; done
    "${CLI[@]}" -p "$base" cluster info | grep cluster_state
    ;;
add)
    port=${2:?usage: add PORT}
    src=$(ports | head -1)
    start_node "$port"
    # The topology an existing node has, plus the new node as a master without slots.
    json=$("${CLI[@]}" -p "$src" cluster nodes | python3 -c '
import json, sys
new_id, new_port = sys.argv[1], int(sys.argv[2])
nodes = [line.split() for line in sys.stdin if line.strip()]
def addr(f):
    host = f[1].split("@")[0]
    ip, port = host.rsplit(":", 1)
    return {"id": f[0], "ip": ip, "port": int(port)}
shards = []
for f in nodes:
    if f[3] != "-":
        continue
    ranges = []
    for s in f[8:]:
        if s.startswith("["):
            continue
        first, _, last = s.partition("-")
        ranges.append({"start": int(first), "end": int(last or first)})
    replicas = [addr(r) for r in nodes if r[3] == f[0]]
    shards.append({"slot_ranges": ranges, "master": addr(f), "replicas": replicas})
shards.append({"slot_ranges": [], "master": {"id": new_id, "ip": "127.0.0.1", "port": new_port}, "replicas": []})
print(json.dumps(shards))' "$(node_id "$port")" "$port")
    for node in $(ports); do "${CLI[@]}" -p "$node" cache.cluster config "$json" >/dev/null; done
    "${CLI[@]}" -p "$port" cluster info | grep cluster_state
    ;;
reshard)
    from=${2:?usage: reshard FROM TO COUNT}
    to=${3:?usage: reshard FROM TO COUNT}
    count=${4:?usage: reshard FROM TO COUNT}
    # redis-cli's own resharding: SETSLOT IMPORTING/MIGRATING, GETKEYSINSLOT, MIGRATE ... KEYS
    # (keys keep cachet's metadata and TTL between cachet nodes), SETSLOT NODE on every master.
    redis-cli --cluster reshard "127.0.0.1:$from" --cluster-from "$(node_id "$from")" \
        --cluster-to "$(node_id "$to")" --cluster-slots "$count" --cluster-yes >"$DIR/reshard.log" ||
        { tail -20 "$DIR/reshard.log" >&2; exit 1; }
    redis-cli --cluster check "127.0.0.1:$from" | tail -3
    ;;
stop)
    pids=()
    for port in $(ports); do
        if [ -f "$DIR/$port/pid" ]; then
            pid=$(cat "$DIR/$port/pid")
            kill "$pid" 2>/dev/null && pids+=("$pid")
            rm -f "$DIR/$port/pid"
        fi
    done
    # A daemon saves its snapshot on SIGTERM: wait for it to be gone before the caller cleans up.
    for pid in "${pids[@]}"; do
        for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    done
    ;;
*)
    sed -n '2,13p' "$0"
    exit 2
    ;;
esac
