#!/usr/bin/env python3
"""PUBLISH fan-out, cachet against redis-server side by side in one run.

One publisher pipelines PUBLISH to one channel (batches of BATCH commands, at most WINDOW batches
unanswered) and SUBSCRIBERS connections subscribed to it read everything. A round ends when every
subscriber has received every message; its figure is deliveries per second (messages x
subscribers / elapsed) and the server's CPU time. As scripts/bench-vs-redis.sh does, the servers
run pinned to SERVER_CPU and this load generator to LOAD_CPU, the two servers alternate which goes
first round by round, and the summary is the median of the per-round ratios cachet/Redis.

This Python generator reads at most ~600k small messages a second on one core, so at small
payloads both servers may be waiting for it: the CPU ticks each server spent per run (from
/proc/<pid>/stat) then compare their cost better than the rates do.

Usage: scripts/bench-pubsub.py [rounds=5] [messages=20000]
Env: SUBSCRIBERS (50), PAYLOAD bytes (64), BATCH (100), WINDOW (8), SERVER_CPU (1), LOAD_CPU (0),
     REDIS_PORT (16381), CACHET_PORT (16382), CACHET (target/release/cachet).
"""
import os
import selectors
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 5
MESSAGES = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
SUBSCRIBERS = int(os.environ.get("SUBSCRIBERS", 50))
PAYLOAD = b"x" * int(os.environ.get("PAYLOAD", 64))
BATCH = int(os.environ.get("BATCH", 100))
WINDOW = int(os.environ.get("WINDOW", 8))
SERVER_CPU = os.environ.get("SERVER_CPU", "1")
LOAD_CPU = int(os.environ.get("LOAD_CPU", 0))
REDIS_PORT = int(os.environ.get("REDIS_PORT", 16381))
CACHET_PORT = int(os.environ.get("CACHET_PORT", 16382))
CACHET = os.environ.get("CACHET", os.path.join(ROOT, "target/release/cachet"))
CHANNEL = b"bench"


def command(*args):
    out = b"*%d\r\n" % len(args)
    for arg in args:
        out += b"$%d\r\n%s\r\n" % (len(arg), arg)
    return out


def message_size():
    return len(command(b"message", CHANNEL, PAYLOAD))


def connect(port):
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def read_exactly(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise RuntimeError("connection closed")
        data += chunk
    return data


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def wait_ready(port):
    for _ in range(200):
        try:
            sock = connect(port)
            sock.sendall(b"PING\r\n")
            if sock.recv(16) == b"+PONG\r\n":
                sock.close()
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"server on port {port} did not start")


def run_round(port, pid):
    subscribers = [connect(port) for _ in range(SUBSCRIBERS)]
    confirmation = b"*3\r\n$9\r\nsubscribe\r\n$%d\r\n%s\r\n:1\r\n" % (len(CHANNEL), CHANNEL)
    for sock in subscribers:
        sock.sendall(command(b"SUBSCRIBE", CHANNEL))
        reply = read_exactly(sock, len(confirmation))
        if reply != confirmation:
            raise RuntimeError(f"unexpected subscribe reply {reply!r}")
    publisher = connect(port)
    reply_size = len(b":%d\r\n" % SUBSCRIBERS)
    batch = command(b"PUBLISH", CHANNEL, PAYLOAD) * BATCH
    batches = MESSAGES // BATCH
    expected = batches * BATCH * message_size()

    selector = selectors.DefaultSelector()
    received = {}
    for sock in subscribers:
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ, "sub")
        received[sock] = 0
    publisher.setblocking(False)
    selector.register(publisher, selectors.EVENT_READ | selectors.EVENT_WRITE, "pub")
    sent = answered_bytes = 0
    pending_write = b""
    done = 0
    before = cpu_ticks(pid)
    started = time.perf_counter()
    while done < len(subscribers):
        for key, events in selector.select():
            sock = key.fileobj
            if key.data == "sub":
                chunk = sock.recv(1 << 20)
                if not chunk:
                    raise RuntimeError("subscriber disconnected")
                received[sock] += len(chunk)
                if received[sock] >= expected:
                    selector.unregister(sock)
                    done += 1
                continue
            if events & selectors.EVENT_READ:
                chunk = sock.recv(1 << 16)
                answered_bytes += len(chunk)
            if events & selectors.EVENT_WRITE:
                in_flight = sent - answered_bytes // (reply_size * BATCH)
                if not pending_write and sent < batches and in_flight < WINDOW:
                    pending_write = batch
                    sent += 1
                if pending_write:
                    written = sock.send(pending_write)
                    pending_write = pending_write[written:]
            wants = selectors.EVENT_READ
            if pending_write or sent < batches:
                wants |= selectors.EVENT_WRITE
            selector.modify(publisher, wants, "pub")
    elapsed = time.perf_counter() - started
    ticks = cpu_ticks(pid) - before
    selector.close()
    for sock in subscribers + [publisher]:
        sock.close()
    if any(count != expected for count in received.values()):
        raise RuntimeError("a subscriber received more than was published")
    return batches * BATCH * SUBSCRIBERS / elapsed, ticks


def main():
    if not os.path.exists(CACHET):
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    os.sched_setaffinity(0, {LOAD_CPU})
    work = tempfile.mkdtemp()
    redis = subprocess.Popen(
        ["taskset", "-c", SERVER_CPU, "redis-server", "--port", str(REDIS_PORT), "--bind",
         "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", work, "--logfile",
         os.path.join(work, "redis.log")])
    cachet = subprocess.Popen(
        # No snapshot schedule and the scratch dir: never a dump.cachet in the repository.
        ["taskset", "-c", SERVER_CPU, CACHET, "--port", str(CACHET_PORT), "--loglevel", "warning",
         "--save", "", "--dir", work],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(REDIS_PORT)
        wait_ready(CACHET_PORT)
        servers = {"redis": (REDIS_PORT, redis.pid), "cachet": (CACHET_PORT, cachet.pid)}
        results = {"redis": [], "cachet": []}
        for round_number in range(1, ROUNDS + 1):
            order = ["redis", "cachet"] if round_number % 2 else ["cachet", "redis"]
            for name in order:
                results[name].append(run_round(*servers[name]))
            r, c = results["redis"][-1], results["cachet"][-1]
            print(f"round {round_number}: redis {r[0]:,.0f}/s ({r[1]} ticks)  "
                  f"cachet {c[0]:,.0f}/s ({c[1]} ticks)", flush=True)
        ratios = [c[0] / r[0] for r, c in zip(results["redis"], results["cachet"])]
        cpu = [c[1] / max(r[1], 1) for r, c in zip(results["redis"], results["cachet"])]
        print(f"\nPUBLISH fan-out: 1 publisher, {SUBSCRIBERS} subscribers, {len(PAYLOAD)}-byte "
              f"payloads, {MESSAGES} messages, batches of {BATCH} (window {WINDOW}), {ROUNDS} rounds")
        print(f"{'server':8} {'median deliveries/s':>20} {'median CPU ticks':>17}")
        for name in ("redis", "cachet"):
            rates = [x[0] for x in results[name]]
            ticks = [x[1] for x in results[name]]
            print(f"{name:8} {statistics.median(rates):>20,.0f} {statistics.median(ticks):>17}")
        print(f"median ratio cachet/redis: throughput {statistics.median(ratios):.2f}, "
              f"CPU per run {statistics.median(cpu):.2f}")
    finally:
        for process in (redis, cachet):
            process.terminate()
            process.wait()


if __name__ == "__main__":
    main()
