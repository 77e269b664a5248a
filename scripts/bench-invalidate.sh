#!/usr/bin/env bash
# Tag invalidation under GET load, cachet vs Redis in the same run (issue 4's benchmark): cachet's
# TAG.INVALIDATE against the Redis way (a SET of member keys per tag + a Lua script that UNLINKs
# them), while 50 clients run GETs. Reports GET p50/p99/max before and during the invalidation, its
# duration and keys/s, side by side with ratios. Builds release first. Method: benches/invalidate.rs.
#
# Usage: scripts/bench-invalidate.sh [options]     e.g.  scripts/bench-invalidate.sh --rounds 3
#   --scenarios a,b   (a: 1,000,000 keys under one tag; b: 100,000 tags x 10 keys, all invalidated)
#   --keys N --tags N --per-tag N --invalidate-tags N --clients 50 --tagged-frac 0.1
#   --help for the rest.
# Servers run pinned to CPU 1 and every client to CPU 0; each on a free loopback port, always stopped.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v redis-server >/dev/null || {
  echo "needs redis-server on PATH (apt-get install redis-server), or pass --redis-bin PATH" >&2
  case " $* " in *" --redis-bin "*) ;; *) exit 1 ;; esac
}
cargo build --release --quiet
exec cargo bench --quiet --bench invalidate -- "$@"
