#!/usr/bin/env python3
# What 100k hashes of 10 small fields cost in cachet and in redis-server, in the same run: INFO
# memory's used_memory and used_memory_rss before and after loading the same data into each, per
# key, and the ratio cachet / Redis.
#
#   scripts/hash-memory.py CACHET_PORT REDIS_PORT [KEYS]
#
# Both servers are flushed first. Fields are `field0`..`field9`, values `value<n>` (11-12 bytes),
# keys `hash:<n>`: the listpack encoding on both sides.
import socket, sys

FIELDS = 10
BATCH = 1000


def encode(args):
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


class Conn:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.buf = b""

    def _line(self):
        while b"\r\n" not in self.buf:
            self.buf += self.sock.recv(1 << 20)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def reply(self):
        line = self._line()
        if line[:1] == b"$":
            n = int(line[1:])
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self.buf += self.sock.recv(1 << 20)
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data
        if line[:1] == b"*":
            return [self.reply() for _ in range(int(line[1:]))]
        if line[:1] == b"-":
            raise RuntimeError(line.decode())
        return line[1:]

    def call(self, *args):
        self.sock.sendall(encode(list(args)))
        return self.reply()

    def memory(self):
        text = self.call(b"INFO", b"memory").decode()
        fields = dict(l.split(":", 1) for l in text.split("\r\n") if ":" in l)
        return int(fields["used_memory"]), int(fields["used_memory_rss"])


def load(conn, keys):
    conn.call(b"FLUSHALL")
    before = conn.memory()
    for start in range(0, keys, BATCH):
        out = []
        for k in range(start, min(start + BATCH, keys)):
            args = [b"HSET", b"hash:%d" % k]
            for f in range(FIELDS):
                args += [b"field%d" % f, b"value%d" % (k * FIELDS + f)]
            out.append(encode(args))
        conn.sock.sendall(b"".join(out))
        for _ in range(len(out)):
            conn.reply()
    after = conn.memory()
    encoding = conn.call(b"OBJECT", b"ENCODING", b"hash:1").decode()
    conn.call(b"FLUSHALL")
    return [(a - b) / keys for a, b in zip(after, before)], encoding


def main():
    cachet_port, redis_port = int(sys.argv[1]), int(sys.argv[2])
    keys = int(sys.argv[3]) if len(sys.argv) > 3 else 100_000
    (c_used, c_rss), c_enc = load(Conn(cachet_port), keys)
    (r_used, r_rss), r_enc = load(Conn(redis_port), keys)
    print(f"{keys} hashes x {FIELDS} fields, bytes per key")
    print(f"{'':12}{'used_memory':>14}{'rss':>10}  encoding")
    print(f"{'cachet':12}{c_used:14.0f}{c_rss:10.0f}  {c_enc}")
    print(f"{'redis':12}{r_used:14.0f}{r_rss:10.0f}  {r_enc}")
    print(f"{'ratio':12}{c_used / r_used:14.3f}{c_rss / r_rss:10.3f}")


if __name__ == "__main__":
    main()
