#!/usr/bin/env bash
# Hit ratio of cachet vs Redis allkeys-lru / allkeys-lfu at the same maxmemory, on deterministic
# traces replayed cache-aside (see benches/hit_ratio.rs for the method). Builds release first.
#
# Usage: scripts/hit-ratio.sh [options]      e.g.  scripts/hit-ratio.sh --quick
#   --servers redis-lru,redis-lfu,cachet   (also redis:POLICY, cachet:POLICY)
#   --workloads zipf-0.8,zipf-1.0,zipf-scan,shifting,loop,mixed-size,mix (and zipf-json, JSON
#     documents of 1-8 KB for compression, run only when named)
#   --trace-file PATH (repeatable): a recorded trace, one key per line (scripts/trace-keys.py
#     converts the usual formats); alone, it replaces the synthetic workloads
#   --quick (1/5 of the requests and keys)   --csv PATH   --cachet-cost   --cachet-no-limit
#   --cachet-flags "--maxmemory-samples 10"  (or CACHET_FLAGS in the environment)
#   --restart: each cachet is restarted (SHUTDOWN SAVE, a new process on the same dir) at
#     --restart-at (0.6 of the trace) and the hit ratio of the --restart-window (0.1) before is
#     printed beside the one after, and beside the same windows of a run without a restart
#   --cachet-bin PATH (default target/release/cachet)
#   --help for the rest.
# The servers run pinned to CPU 1 and the replay client to CPU 0.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v redis-server >/dev/null || {
  echo "needs redis-server on PATH (apt-get install redis-server), or pass --redis-bin PATH" >&2
  case " $* " in *" --redis-bin "*) ;; *) exit 1 ;; esac
}
cargo build --release --quiet
exec cargo bench --quiet --bench hit_ratio -- "$@"
