#!/usr/bin/env python3
"""A cluster replica's hit ratio while its master is written to (issue 20, replicas kept warm).

Starts one master and one replica with scripts/cluster.sh (CACHET, default target/release/cachet),
fills KEYS keys on the master, restarts the replica so that it fills from the master (a
replica fills when its link comes up and after a data drop; what the master writes later
reaches it as invalidations), then for SECONDS: one client
overwrites random keys on the master (WRITES per second at most), another reads random keys
from the replica with READONLY. Prints the replica's keyspace hits and misses over that time.
    scripts/replica-hit-ratio.py [SECONDS] [KEYS] [WRITES]     (defaults 10, 10000, 2000)
Needs redis-py. Only the daemons scripts/cluster.sh started are stopped.
"""
import os
import random
import subprocess
import sys
import tempfile
import threading
import time

import redis

seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 10
keys = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
writes = int(sys.argv[3]) if len(sys.argv) > 3 else 2000
base = int(os.environ.get("BASE_PORT", "7700"))
here = os.path.dirname(os.path.abspath(__file__))
work = tempfile.mkdtemp(prefix="cachet-replica-hit.")
env = dict(os.environ, CLUSTER_DIR=work, CACHET_ARGS="--save=")


def cluster(*args):
    subprocess.run([os.path.join(here, "cluster.sh"), *args], env=env, check=True,
                   stdout=subprocess.DEVNULL)


def stats(conn):
    info = conn.info("stats")
    return info["keyspace_hits"], info["keyspace_misses"]


cluster("create", "1", str(base), "1")
try:
    master = redis.Redis(port=base)
    replica = redis.Redis(port=base + 1)
    pipe = master.pipeline(transaction=False)
    for i in range(keys):
        pipe.set(f"key:{i}", "v" * 100)
    pipe.execute()
    # The replica again, from its saved topology: it fills from the master once linked.
    replica_dir = os.path.join(work, str(base + 1))
    with open(os.path.join(replica_dir, "pid")) as f:
        pid = int(f.read())
    os.kill(pid, 15)
    while os.path.exists(f"/proc/{pid}") and open(f"/proc/{pid}/stat").read().split()[2] != "Z":
        time.sleep(0.05)
    cachet = os.environ.get("CACHET", "target/release/cachet")
    log = open(os.path.join(replica_dir, "log"), "a")
    started = subprocess.Popen([cachet, "--port", str(base + 1), "--bind", "127.0.0.1", "--dir", replica_dir,
                                "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--save="],
                               stdout=log, stderr=log)
    with open(os.path.join(replica_dir, "pid"), "w") as f:
        f.write(str(started.pid))
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            replica.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    deadline = time.time() + 60
    while replica.dbsize() < keys and time.time() < deadline:
        time.sleep(0.1)
    print(f"replica holds {replica.dbsize()} of {keys} keys after its fill")
    replica.execute_command("READONLY")
    stop = threading.Event()

    def writer():
        w = redis.Redis(port=base)
        written = 0
        start = time.time()
        while not stop.is_set():
            w.set(f"key:{random.randrange(keys)}", f"w{written}")
            written += 1
            # At most `writes` per second.
            ahead = written / writes - (time.time() - start)
            if ahead > 0:
                time.sleep(ahead)

    thread = threading.Thread(target=writer)
    before = stats(replica)
    thread.start()
    reads = 0
    end = time.time() + seconds
    while time.time() < end:
        replica.get(f"key:{random.randrange(keys)}")
        reads += 1
    stop.set()
    thread.join()
    hits, misses = (a - b for a, b in zip(stats(replica), before))
    print(f"replica: {reads} reads, {hits} hits, {misses} misses, hit ratio "
          f"{hits / max(1, hits + misses):.4f} ({keys} keys, master written at up to {writes}/s "
          f"for {seconds:.0f} s)")
finally:
    cluster("stop")
    if 'started' in globals():
        started.wait()
    subprocess.run(["rm", "-rf", work])
