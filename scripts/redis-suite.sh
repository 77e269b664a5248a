#!/usr/bin/env bash
# Redis's own test suite (tests/unit/*.tcl of a Redis 7.0 source tree) against cachet: each unit on
# a fresh cachet, in the suite's external-server mode (tests that need a server of their own, DEBUG,
# replication or persistence skip themselves). Prints one line per unit and the failed tests; the
# logs stay in OUT. What fails and why is in docs/notes.md ("Redis's own test suite").
#
# Usage: scripts/redis-suite.sh REDIS_SRC [unit ...]     e.g. scripts/redis-suite.sh ~/redis-7.0.15
#        scripts/redis-suite.sh ~/redis-7.0.15 unit/type/list unit/multi
#   REDIS_SRC: a Redis 7.0 source tree (`runtest` and `tests/`), e.g. from
#   `git archive 7.0.15 tests runtest | tar -x -C DIR` in a clone of redis/redis. Needs tclsh.
# Env: CACHET (binary; default target/release/cachet, built if missing), PORT (28600), OUT (a temp
#      dir), NICE (10: the suite is a correctness run and yields to benchmarks), CACHET_ARGS (more
#      directives, e.g. "--maxmemory-policy noeviction": the suite assumes Redis's default policy).
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=${1:?usage: scripts/redis-suite.sh REDIS_SRC [unit ...]}
shift
SRC=$(cd "$SRC" && pwd)
[ -x "$SRC/runtest" ] && [ -d "$SRC/tests/unit" ] || { echo "$SRC has no runtest and tests/unit" >&2; exit 1; }
command -v tclsh >/dev/null || { echo "needs tclsh (apt-get install tcl)" >&2; exit 1; }
CACHET=${CACHET:-target/release/cachet}
[ -x "$CACHET" ] || cargo build --release --quiet
CACHET=$(realpath "$CACHET")
PORT=${PORT:-28600}
NICE=${NICE:-10}
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT" "$SRC/src"
# The suite calls the tools by their place in a Redis build.
for tool in redis-cli redis-benchmark redis-server redis-check-aof redis-check-rdb; do
  [ -e "$SRC/src/$tool" ] || ln -s "$(command -v $tool)" "$SRC/src/$tool" 2>/dev/null || true
done
units=("$@")
if [ ${#units[@]} -eq 0 ]; then
  mapfile -t units < <(sed -n '/^set ::all_tests {/,/^}/p' "$SRC/tests/test_helper.tcl" | grep -v 'all_tests\|}' | tr -d ' ')
fi
server=
cleanup() { [ -n "$server" ] && kill -9 "$server" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT
for unit in "${units[@]}"; do
  log=$OUT/$(echo "$unit" | tr / _).log
  # shellcheck disable=SC2086 # CACHET_ARGS is a list of words
  nice -n "$NICE" "$CACHET" --port "$PORT" --bind 127.0.0.1 --save "" --loglevel warning \
    ${CACHET_ARGS:-} >"$log.server" 2>&1 &
  server=$!
  for _ in $(seq 100); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
  rc=0
  (cd "$SRC" && nice -n "$NICE" timeout 600 ./runtest --host 127.0.0.1 --port "$PORT" --clients 1 \
    --timeout 120 --single "$unit" --tags -needs:debug --tags -needs:repl --tags -needs:save) \
    >"$log" 2>&1 || rc=$?
  # A server that does not stop on SIGTERM is a finding too: say so, then make sure it goes.
  kill "$server" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$server" 2>/dev/null; then echo "  $unit: cachet ignored SIGTERM for 5 s" >>"$OUT/hung"; kill -9 "$server"; fi
  wait "$server" 2>/dev/null || true
  server=
  sed -i 's/\x1b\[[0-9;]*m//g' "$log"
  printf '%-34s ok %4s  err %3s  exception %s  timeout %s  rc %s\n' "$unit" \
    "$(grep -c '^\[ok\]' "$log")" "$(grep -c '^\[err\]' "$log")" \
    "$(grep -c '^\[exception\]' "$log")" "$(grep -c '^\[TIMEOUT\]' "$log")" "$rc"
done
echo
echo "failed (logs in $OUT):"
grep -h '^\[err\]\|^\[exception\]\|^\[TIMEOUT\]' "$OUT"/*.log | sed 's/^/  /' || echo "  none"
[ -f "$OUT/hung" ] && cat "$OUT/hung"
exit 0
