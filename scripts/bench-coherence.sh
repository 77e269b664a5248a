#!/usr/bin/env bash
# Peer coherence under write load (issue 6's benchmark): 3 cachet daemons A, B, C in a full mesh.
# Reports invalidation propagation latency (SET acknowledged on A -> `invalidate` push from B)
# p50/p99/p99.9/max with 50 writers on A and readers on B, at full speed and paced to 50k writes/s;
# messages/s per link and items/message (A's INFO coherence); and the SET throughput cost of
# coherence on A (redis-benchmark -P 1 and -P 16, coherence on vs off) beside redis-server's, in
# the same run. Builds release first. Method: benches/coherence.rs.
#
# Usage: scripts/bench-coherence.sh [options]     e.g.  scripts/bench-coherence.sh --rounds 3
#   --quick            short windows (smoke run)
#   --parts latency,throughput   --modes full,paced   --rate 50000 --read-rate 50000
#   --writers 50 --readers 10 --duration 10 --probe-ms 1   --help for the rest.
# Servers run pinned to CPU 1 and every client to CPU 0; each on a free loopback port, killed by
# PID when the run ends (and by the kernel if the bench dies: PR_SET_PDEATHSIG).
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in redis-server redis-benchmark; do
  command -v "$tool" >/dev/null || {
    echo "needs $tool on PATH (apt-get install redis-server redis-tools)" >&2
    exit 1
  }
done
cargo build --release --quiet
exec cargo bench --quiet --bench coherence -- "$@"
