#!/usr/bin/env python3
# Loads 100k hashes of 10 small fields into a server and prints what it costs: INFO memory's
# used_memory and the process RSS, before and after. Run it once against cachet and once against
# redis-server (same workload) and compare:  scripts/hash-memory.py PORT [PID]
import os, socket, sys

KEYS, FIELDS = 100_000, 10
port = int(sys.argv[1])
pid = sys.argv[2] if len(sys.argv) > 2 else None
sock = socket.create_connection(("127.0.0.1", port))

def encode(args):
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)

def read_replies(n):
    buf, seen = b"", 0
    while seen < n:
        buf += sock.recv(1 << 20)
        seen = buf.count(b"\r\n")
    return buf

def info_memory():
    sock.sendall(encode([b"INFO", b"memory"]))
    data = b""
    while not data.endswith(b"\r\n\r\n") or data.count(b"\r\n") < 3:
        data += sock.recv(1 << 16)
    fields = dict(l.split(":", 1) for l in data.decode().split("\r\n") if ":" in l)
    return int(fields["used_memory"])

def rss():
    if not pid:
        return 0
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0

sock.sendall(encode([b"FLUSHALL"])); read_replies(1)
used0, rss0 = info_memory(), rss()
BATCH = 1000
for start in range(0, KEYS, BATCH):
    out = []
    for k in range(start, start + BATCH):
        args = [b"HSET", b"hash:%d" % k]
        for f in range(FIELDS):
            args += [b"field%d" % f, b"value%d" % (k * 10 + f)]
        out.append(encode(args))
    sock.sendall(b"".join(out))
    read_replies(BATCH)
used1, rss1 = info_memory(), rss()
print(f"used_memory: {used0} -> {used1} (+{(used1 - used0) / 1e6:.1f} MB, {(used1 - used0) / KEYS:.0f} B/key)")
if pid:
    print(f"rss: {rss0} -> {rss1} (+{(rss1 - rss0) / 1e6:.1f} MB, {(rss1 - rss0) / KEYS:.0f} B/key)")
sock.sendall(encode([b"OBJECT", b"ENCODING", b"hash:1"]))
print("encoding:", read_replies(1).decode().split("\r\n")[1])
