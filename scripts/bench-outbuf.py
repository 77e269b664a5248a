#!/usr/bin/env python3
"""Peak memory of a client that asks for more than its `client-output-buffer-limit`, cachet against
redis-server side by side (issue 11, defect 2).

Each scenario runs against fresh processes of both servers (pinned to SERVER_CPU): store one value
of VALUE bytes under `big`, set `client-output-buffer-limit` to LIMIT, reset the kernel's peak RSS
of the server (`/proc/<pid>/clear_refs` 5), run the scenario from one client that reads and
discards whatever it is sent until the server closes the connection, then read the peak
(`VmHWM`). Reported: RSS before, peak RSS, the peak's growth, bytes the client received, whether it
was disconnected, and INFO's `client_recent_max_output_buffer` just after.

Scenarios:
  mget      one MGET of KEYS times `big`
  pipeline  PIPELINE requests `GET big` sent with one write (they arrive in one read or a few)

Usage: scripts/bench-outbuf.py [rounds=3]
Env: VALUE (1048576), KEYS (1000), PIPELINE (3000), LIMIT ("normal 64mb 32mb 10"),
     SCENARIOS ("mget pipeline"), SERVER_CPU (1), REDIS_PORT (7101), CACHET_PORT (7102),
     CACHET (target/release/cachet). Needs root or the servers' owner for clear_refs.
"""
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 3
VALUE = int(os.environ.get("VALUE", 1048576))
KEYS = int(os.environ.get("KEYS", 1000))
PIPELINE = int(os.environ.get("PIPELINE", 3000))
LIMIT = os.environ.get("LIMIT", "normal 64mb 32mb 10").encode()
SCENARIOS = os.environ.get("SCENARIOS", "mget pipeline").split()
SERVER_CPU = os.environ.get("SERVER_CPU", "1")
REDIS_PORT = int(os.environ.get("REDIS_PORT", 7101))
CACHET_PORT = int(os.environ.get("CACHET_PORT", 7102))
CACHET = os.environ.get("CACHET", os.path.join(ROOT, "target/release/cachet"))


def command(*args):
    out = b"*%d\r\n" % len(args)
    for arg in args:
        out += b"$%d\r\n%s\r\n" % (len(arg), arg)
    return out


def call(port, *args):
    """One command on a fresh connection; returns the raw reply (small replies only)."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(command(*args))
        data = b""
        while True:
            chunk = sock.recv(1 << 16)
            if not chunk:
                return data
            data += chunk
            if is_complete(data):
                return data


def is_complete(data):
    if data[:1] in (b"+", b"-", b":"):
        return data.endswith(b"\r\n")
    if data[:1] == b"$":
        head, _, rest = data.partition(b"\r\n")
        n = int(head[1:])
        return n < 0 or len(rest) >= n + 2
    return False


def info_field(port, section, name):
    text = call(port, b"INFO", section).decode(errors="replace")
    for line in text.split("\r\n"):
        if line.startswith(name + ":"):
            return line.split(":", 1)[1]
    return "?"


def status_kb(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def start(kind, port, work):
    if kind == "redis":
        argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", work, "--logfile", os.path.join(work, "redis.log")]
        log = subprocess.DEVNULL
    else:
        # No snapshot schedule and the scratch dir: never a dump.cachet in the repository.
        argv = [CACHET, "--port", str(port), "--loglevel", "warning", "--save", "", "--dir", work]
        log = open(os.path.join(work, "cachet.log"), "ab")
    proc = subprocess.Popen(["taskset", "-c", SERVER_CPU] + argv, stdout=log, stderr=log)
    for _ in range(200):
        try:
            if call(port, b"PING") == b"+PONG\r\n":
                return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"{kind} did not start on port {port}")


def run_scenario(scenario, port, pid):
    value = b"v" * VALUE
    assert call(port, b"SET", b"big", value) == b"+OK\r\n"
    assert call(port, b"CONFIG", b"SET", b"client-output-buffer-limit", LIMIT) == b"+OK\r\n"
    if scenario == "mget":
        request = command(b"MGET", *([b"big"] * KEYS))
    else:
        request = command(b"GET", b"big") * PIPELINE
    time.sleep(0.2)
    before = status_kb(pid, "VmRSS")
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")
    received = 0
    closed = False
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.settimeout(60)
        sock.sendall(request)
        try:
            while True:
                chunk = sock.recv(1 << 20)
                if not chunk:
                    closed = True
                    break
                received += len(chunk)
                expected = (VALUE + 16) * (KEYS if scenario == "mget" else PIPELINE)
                if received >= expected:
                    break
        except ConnectionResetError:
            closed = True
    peak = status_kb(pid, "VmHWM")
    recent = info_field(port, b"clients", "client_recent_max_output_buffer")
    return before, peak, received, closed, recent


def main():
    work = tempfile.mkdtemp(prefix="bench-outbuf-")
    try:
        run(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(work):
    print(f"limit '{LIMIT.decode()}', value {VALUE} B, MGET of {KEYS} keys, {PIPELINE} pipelined GETs")
    print(f"{'scenario':<9} {'server':<7} {'RSS before':>10} {'peak RSS':>9} {'growth':>8} "
          f"{'received':>9} {'closed':>6} {'recent_max_obuf':>15}")
    growth = {}
    for scenario in SCENARIOS:
        for round_ in range(ROUNDS):
            order = ["redis", "cachet"] if round_ % 2 == 0 else ["cachet", "redis"]
            for kind in order:
                port = REDIS_PORT if kind == "redis" else CACHET_PORT
                proc = start(kind, port, work)
                try:
                    before, peak, received, closed, recent = run_scenario(scenario, port, proc.pid)
                finally:
                    proc.terminate()
                    proc.wait()
                growth.setdefault((scenario, kind), []).append(peak - before)
                print(f"{scenario:<9} {kind:<7} {before/1024:>8.1f}MB {peak/1024:>7.1f}MB "
                      f"{(peak-before)/1024:>6.1f}MB {received/2**20:>7.1f}MB {str(closed):>6} "
                      f"{recent:>15}")
    print()
    for scenario in SCENARIOS:
        r = statistics.median(growth[(scenario, "redis")]) / 1024
        c = statistics.median(growth[(scenario, "cachet")]) / 1024
        print(f"{scenario}: median peak growth redis {r:.1f}MB, cachet {c:.1f}MB, "
              f"ratio cachet/redis {c / r if r else float('nan'):.2f}")
    if os.path.exists(os.path.join(work, "redis.log")):
        print("\nredis log (output-limit lines):")
        with open(os.path.join(work, "redis.log")) as f:
            lines = [line.rstrip() for line in f if "output buffer" in line]
        print("\n".join(lines[:2]))
    if os.path.exists(os.path.join(work, "cachet.log")):
        print("cachet log (output-limit lines):")
        with open(os.path.join(work, "cachet.log")) as f:
            lines = [line.rstrip() for line in f if "output buffer" in line]
        print("\n".join(lines[:2]))


if __name__ == "__main__":
    main()
