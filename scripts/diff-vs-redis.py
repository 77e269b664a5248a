#!/usr/bin/env python3
# Differential check against redis-server 7.0: starts a fresh `redis-server` and a fresh release
# `cachet` on 127.0.0.1 (free ports), sends both the same deterministic pseudo-random sequences of
# commands (those both servers list in COMMAND, with arguments built from their arity and from the
# valid invocations of tests/command_safety/seeds.txt, mutated with hostile values), and compares
# the raw replies byte for byte. Each difference is printed once, with a count, an example command,
# both replies and where to find it again (`--trace N` replays that sequence printing everything).
# Only what is legitimately server-specific is normalised: NORMALISED below (INFO, CLIENT LIST,
# COMMAND DOCS, times, random picks, hash-table orders, SCAN cursors, the idle/seen/delivery
# times of stream replies), XADD's `*` IDs (the clock's),
# client-side caching pushes (their timing), COMMAND GETKEYS of commands cachet lacks, and
# ZRANK/ZREVRANK with WITHSCORE (README: Redis 7.2's form is accepted).
#
#   scripts/diff-vs-redis.py [--seed N] [--rounds N] [--length N] [--only cmd,cmd] [--trace N]
#                            [--no-build] [--emit-corpus PATH [--corpus-size N]]
#
# First every seed runs once as it is; then the random sequences (odd ones in RESP3); then CONFIG
# SET of every directive both servers have (each restored) and DEBUG SLEEP with values that pause
# for nothing. DIFF_DEBUG=1 prints each reply that did not come within 5 s.
#
# --emit-corpus writes the commands both servers answered identically (none of the normalised
# ones), for tests/diff_vs_redis.rs to replay: one request per line, arguments separated by spaces,
# bytes outside '!'..'~' and '%' written %XX, an empty argument as a lone '%'; a line starting
# with '!' is sent to both without comparing, `@prepare` stands for prepare() below (which that
# test repeats), `#` starts a comment.
#
# Both servers are killed by PID when the script ends, also on failure, Ctrl-C or SIGTERM.
import argparse
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEEDS = os.path.join(ROOT, "tests", "command_safety", "seeds.txt")
CACHET = os.path.join(ROOT, "target", "release", "cachet")
TIMEOUT = 5.0
SENTINEL = b"diff-sentinel"

# ---------------------------------------------------------------------------------------------
# Values, as in tests/command_safety/generate.rs.

KEYS = [b"safety:str", b"safety:int", b"safety:raw", b"safety:hash", b"safety:hashbig",
        b"safety:list", b"safety:listbig", b"safety:intset", b"safety:set", b"safety:zset",
        b"safety:zsetbig", b"safety:volatile", b"safety:missing", b"safety:dst", b"safety:stream"]
WORDS = [w.encode() for w in (
    "EX PX EXAT PXAT KEEPTTL NX XX GT LT CH INCR GET COUNT MATCH TYPE LIMIT WITHSCORES WITHSCORE "
    "WITHVALUES BY BYSCORE BYLEX REV STORE ASC DESC ALPHA AGGREGATE WEIGHTS SUM MIN MAX LEFT RIGHT "
    "BEFORE AFTER RANK MAXLEN IDLETIME FREQ ABSTTL REPLACE DB ID ADDR LADDR SKIPME USER ON OFF YES "
    "NO SKIP ASYNC SYNC HELP LEN IDX MINMATCHLEN WITHMATCHLEN BCAST PREFIX REDIRECT OPTIN OPTOUT "
    "NOLOOP NOW FORCE ABORT SAVE NOSAVE AUTH SETNAME normal pubsub string hash list set zset * ? ["
).split()]
HOSTILE = [s.encode() for s in (
    "", "abc", "-1", "-100", "-0", "0", "1", "3", "9223372036854775807", "9223372036854775808",
    "-9223372036854775808", "-9223372036854775809", "1e400", "-1e400", "nan", "-nan", "inf",
    "-inf", "+inf", "0.5", "1.5e3", " 1", "1 ", "0x10", "(1", "[a", "(", "[", "-", "+", "*",
    "\r\n", "é", "EX", "COUNT", "MATCH", "LIMIT", "WITHSCORES", "BY", "STORE", "GET",
    "safety:hashbig", "safety:listbig", "safety:zsetbig", "safety:missing",
)] + [b"x" * 100_000, b"\x00\r\n\x00bin\xff\xfe\r\nEND", b"9" * 400]
SMALL = [s.encode() for s in ("0", "1", "2", "-1", "10", "1.5", "a", "field", "member", "0.01")]
# Short or refused timeouts only: 0, -0, hex or large valid ones block in Redis too.
TIMEOUTS = [s.encode() for s in ("0.01", "-1", "-0.5", "nan", "inf", "-inf", "+inf", "1e400", "abc",
                                 "", "9223372036854775808", "9223372036854775807", " 1")]
SLEEPS = [s.encode() for s in ("0", "0.0001", "-1", "-0", "nan", "inf", "-inf", "1e400", "abc",
                               "", "9223372036854775808")]
# CONFIG SET values tried on every directive both servers have.
CONFIG_VALUES = [s.encode() for s in (
    "", "abc", "-1", "0", "1", "-0", "9223372036854775807", "9223372036854775808", "1e400", "nan",
    "inf", "yes", "no", "1gb", "-1mb", "100%", "1.5", "allkeys-lru", "KEA", "normal 1 1 1",
    "a b", "\x00")]
# Directives that open sockets or files, or that Redis refuses to change at run time anyway.
CONFIG_UNTOUCHED = {"port", "bind", "unixsocket", "unixsocketperm", "logfile", "dir", "pidfile",
                    "dbfilename", "peer", "coherence-bus", "daemonize", "supervised"}


def prepare():
    """The keys of every type and encoding, and a clean connection (no reply compared). Keep
    `prepare` in tests/diff_vs_redis.rs the same."""
    long, chunk = b"v" * 100, b"l" * 9000
    return [
        [b"RESET"], [b"FLUSHALL"],
        [b"SET", b"safety:str", b"hello"], [b"SET", b"safety:int", b"12345"],
        [b"SET", b"safety:raw", long],
        [b"HSET", b"safety:hash", b"f1", b"v1", b"f2", b"2"],
        [b"HSET", b"safety:hashbig", b"f1", long, b"f2", b"2"],
        [b"RPUSH", b"safety:list", b"a", b"b", b"1", b"2"],
        [b"RPUSH", b"safety:listbig", chunk, b"b", b"1"],
        [b"SADD", b"safety:intset", b"1", b"2", b"3"], [b"SADD", b"safety:set", b"a", b"b", b"1"],
        [b"ZADD", b"safety:zset", b"1", b"a", b"2", b"b", b"3", b"c"],
        [b"ZADD", b"safety:zsetbig", b"1", long, b"2", b"b"],
        [b"SET", b"safety:volatile", b"v", b"EX", b"1000"],
        [b"XADD", b"safety:stream", b"1-1", b"f", b"v"],
        [b"XADD", b"safety:stream", b"2-1", b"f", b"v", b"g", b"w"],
        [b"XGROUP", b"CREATE", b"safety:stream", b"g", b"0"],
    ]


# ---------------------------------------------------------------------------------------------
# What is legitimately different, by command (Redis's `name` or `container|sub`).

# Server-specific content: only the type of the reply is compared (errors stay verbatim).
TYPE_ONLY = {"info", "client|list", "client|info", "client|id", "hello", "time", "lastsave",
             "command", "command|count", "command|list", "command|info", "command|docs",
             "command|help", "config|get", "config|help", "memory|usage", "memory|help",
             "object|idletime", "object|help", "client|help", "pubsub|help", "debug"}
# Unordered in Redis too (hash table order): elements sorted.
UNORDERED = {"keys", "smembers", "sinter", "sunion", "sdiff", "hkeys", "hvals",
             "pubsub|channels", "pubsub|shardchannels"}
UNORDERED_PAIRS = {"hgetall"}
SCANS = {"scan": 1, "sscan": 1, "hscan": 2, "zscan": 2}
# Random picks: only the number of elements is compared.
RANDOM = {"srandmember", "hrandfield", "zrandmember", "spop", "randomkey"}
# Times: equal within a tolerance (the two servers ran the command moments apart).
TOLERANCE = {"ttl": 1, "pttl": 1000, "expiretime": 1, "pexpiretime": 1000}
# Stream replies carrying clock readings (idle, seen and delivery times): those integers masked.
TIMED = {"xinfo|consumers", "xinfo|stream", "xpending"}
UNSUBSCRIBE = {"unsubscribe", "punsubscribe", "sunsubscribe"}
NORMALISED = TYPE_ONLY | UNORDERED | UNORDERED_PAIRS | set(SCANS) | RANDOM | set(TOLERANCE) | TIMED | {
    "object|encoding", "client|kill", "client|unblock", "client|tracking", "client|getredir",
    "client|trackinginfo"}
# Never sent by the random sequences: SHUTDOWN stops a server; DEBUG, CONFIG SET and CLIENT
# PAUSE-like commands have sections of their own or are left out.
EXCLUDED = {"shutdown", "debug", "config|set", "monitor", "sync", "psync", "replicaof", "slaveof",
            "client|pause", "client|unpause", "failover", "save", "bgsave", "bgrewriteaof"}


# ---------------------------------------------------------------------------------------------
# RESP.

class Malformed(Exception):
    pass


def encode(args):
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


def parse(buf, pos):
    """(value, end) of the reply at pos, None while incomplete. Values: (type, payload)."""
    if pos >= len(buf):
        return None
    end = buf.find(b"\r\n", pos)
    if end < 0:
        return None
    kind, line, nxt = buf[pos:pos + 1], buf[pos + 1:end], end + 2
    if kind in (b"+", b"-", b",", b"#", b"_", b"("):
        return (kind, line), nxt
    if kind == b":":
        try:
            return (kind, int(line)), nxt
        except ValueError:
            raise Malformed("bad integer %r" % line)
    if kind in (b"$", b"=", b"!"):
        n = int(line)
        if n < 0:
            return (kind, None), nxt
        if len(buf) < nxt + n + 2:
            return None
        if buf[nxt + n:nxt + n + 2] != b"\r\n":
            raise Malformed("bulk not followed by CRLF")
        return (kind, buf[nxt:nxt + n]), nxt + n + 2
    if kind in (b"*", b"~", b">", b"%", b"|"):
        n = int(line)
        if n < 0:
            return (kind, None), nxt
        items = []
        for _ in range(n * 2 if kind in (b"%", b"|") else n):
            got = parse(buf, nxt)
            if got is None:
                return None
            value, nxt = got
            items.append(value)
        if kind == b"|":
            got = parse(buf, nxt)
            if got is None:
                return None
            return got
        return (kind, items), nxt
    raise Malformed("unknown type byte %r" % kind)


class Closed(Exception):
    pass


class Conn:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def send(self, requests):
        try:
            self.sock.sendall(b"".join(encode(r) for r in requests))
        except OSError:
            raise Closed()

    def read(self):
        """(raw bytes, value) of the next reply; raises Closed, socket.timeout or Malformed."""
        while True:
            got = parse(self.buf, 0)
            if got is not None:
                value, end = got
                raw, self.buf = self.buf[:end], self.buf[end:]
                return raw, value
            try:
                chunk = self.sock.recv(1 << 16)
            except ConnectionError:
                raise Closed()
            if not chunk:
                raise Closed()
            self.buf += chunk

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def is_sentinel(value):
    kind, payload = value
    if kind == b"$" and payload == SENTINEL:
        return True
    return kind == b"*" and payload is not None and len(payload) == 2 and \
        payload[0] == (b"$", b"pong") and payload[1] == (b"$", SENTINEL)


class Side:
    """One server and its connection, with whether that connection is inside MULTI."""

    def __init__(self, name, port):
        self.name, self.port = name, port
        self.conn = Conn(port)
        self.in_multi = False
        self.history = []
        # The commands queued in the open transaction, for comparing EXEC's replies one by one.
        self.queued = []
        self.last_queued = []

    def reconnect(self):
        self.conn.close()
        self.conn = Conn(self.port)
        self.in_multi = False

    def call(self, args):
        """The replies to one request, as a list of (raw, value); a closed connection or a
        timeout ends the list with a marker (and the connection is made again)."""
        command = args[0].lower() if args else b""
        self.history.append([a[:40] for a in args])
        # Inside MULTI a PING would be queued too: one reply per request there, and for MULTI.
        counted = self.in_multi or command == b"multi"
        requests = [args]
        if not counted:
            if command == b"client" and len(args) > 1 and args[1].lower() == b"reply":
                requests.append([b"CLIENT", b"REPLY", b"ON"])
            requests.append([b"PING", SENTINEL])
        replies = []
        try:
            self.conn.send(requests)
            if counted:
                replies.append(self.conn.read())
                raw = replies[0][0]
                if self.in_multi and raw == b"+QUEUED\r\n":
                    self.queued.append(args)
                if command == b"exec":
                    self.last_queued, self.queued = self.queued, []
                if command == b"multi":
                    # A nested MULTI is refused and leaves the transaction open.
                    if not self.in_multi:
                        self.queued = []
                    self.in_multi = self.in_multi or raw == b"+OK\r\n"
                elif command == b"discard":
                    self.in_multi = self.in_multi and raw != b"+OK\r\n"
                elif command == b"exec":
                    # Run or aborted (EXECABORT), it ends; refused as `-ERR ...`, it goes on.
                    self.in_multi = self.in_multi and raw.startswith(b"-ERR")
                elif command == b"reset":
                    self.in_multi = self.in_multi and raw != b"+RESET\r\n"
            else:
                while True:
                    raw, value = self.conn.read()
                    if is_sentinel(value):
                        break
                    replies.append((raw, value))
        except Closed:
            replies.append((b"<closed>", (b"<", b"closed")))
            self.reconnect()
        except socket.timeout:
            if os.environ.get("DIFF_DEBUG"):
                print("timeout on %s: %r (got %r) after %r" % (self.name, [a[:40] for a in args], replies, self.history[-3:]), file=sys.stderr)
            replies.append((b"<no reply>", (b"<", b"timeout")))
            self.reconnect()
        except Malformed as e:
            replies.append((b"<malformed: %s>" % str(e).encode(), (b"<", b"malformed")))
            self.reconnect()
        return replies

    def quiet(self, requests):
        """Sends requests whose replies are not compared (the preparation)."""
        for request in requests:
            self.call(request)


# ---------------------------------------------------------------------------------------------
# Servers.

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(argv, port, log, cwd):
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=cwd)
    deadline = time.time() + 30
    while True:
        if proc.poll() is not None:
            raise RuntimeError("%s exited with %s" % (argv[0], proc.returncode))
        try:
            c = Conn(port)
            c.send([[b"PING"]])
            if c.read()[0] == b"+PONG\r\n":
                c.close()
                return proc
        except (OSError, Closed):
            pass
        if time.time() > deadline:
            raise RuntimeError("%s did not answer PING" % argv[0])
        time.sleep(0.05)


def command_table(side):
    """{name: (arity, flags)} from COMMAND, subcommands as `container|sub`."""
    replies = side.call([b"COMMAND"])
    table = {}

    def walk(entries):
        for entry in entries:
            fields = entry[1]
            name = fields[0][1].decode().lower()
            arity = fields[1][1]
            flags = {f[1].decode() for f in fields[2][1]}
            table[name] = (arity, flags)
            if len(fields) > 9 and fields[9][1]:
                walk(fields[9][1])
    walk(replies[0][1][1])
    return table


# ---------------------------------------------------------------------------------------------
# Generation.

def load_seeds():
    seeds = defaultdict(list)
    with open(SEEDS, "rb") as f:
        for line in f:
            words = line.split()
            if not words:
                continue
            name = words[0].decode().lower()
            if len(words) > 1:
                seeds[name + "|" + words[1].decode().lower()].append(words)
            seeds[name].append(words)
    return seeds


def fix_up(name, args, rng):
    """Blocking commands get a short or refused timeout."""
    if name in ("blpop", "brpop", "brpoplpush", "blmove", "bzpopmin", "bzpopmax") and len(args) > 1:
        args[-1] = rng.choice(TIMEOUTS)
    elif name in ("blmpop", "bzmpop") and len(args) > 1:
        args[1] = rng.choice(TIMEOUTS)
    return args


def generate(rng, name, arity, seeds):
    words = [w.encode() for w in name.split("|")]
    own = seeds.get(name, [])
    if own and rng.random() < 0.6:
        args = list(rng.choice(own))
        fixed = len(words)
        roll = rng.random()
        if len(args) > fixed and roll < 0.8:
            for _ in range(1 if rng.random() < 0.7 else 2):
                args[rng.randrange(fixed, len(args))] = rng.choice(HOSTILE)
        elif len(args) > fixed and roll < 0.9:
            args = args[:rng.randrange(fixed, len(args))]
        elif roll < 0.95:
            args.append(rng.choice(HOSTILE))
        return fix_up(name, args, rng)
    minimum = abs(arity)
    counts = [minimum + k for k in range(4)] if arity < 0 else [arity - 1, arity, arity + 1]
    argc = max(rng.choice(counts), len(words))
    args = list(words)
    while len(args) < argc:
        roll = rng.random()
        args.append(rng.choice(KEYS) if roll < 0.3 else rng.choice(WORDS) if roll < 0.45
                    else rng.choice(SMALL) if roll < 0.75 else rng.choice(HOSTILE))
    return fix_up(name, args, rng)


# ---------------------------------------------------------------------------------------------
# Comparison.

def type_of(value):
    kind, payload = value
    if kind in (b"-", b"!"):
        return value
    if payload is None:
        return (b"null",)
    return (kind,)


def count_of(value):
    kind, payload = value
    if kind in (b"-", b"!") or payload is None or not isinstance(payload, list):
        return type_of(value)
    return (kind, len(payload))


def freeze(value):
    kind, payload = value
    if isinstance(payload, list):
        return (kind, tuple(freeze(v) for v in payload))
    return (kind, payload)


def mask_times(value):
    """A stream reply with its times masked: the integer after `idle` or `seen-time`, and the
    time of a pending-entry row ([id, consumer, time, count] or a consumer's [id, time, count])."""
    kind, payload = value
    if not isinstance(payload, list):
        return freeze(value)
    kinds = [item[0] for item in payload]
    at = None
    if kinds == [b"$", b"$", b":", b":"]:
        at = 2
    elif kinds == [b"$", b":", b":"]:
        at = 1
    out = []
    for i, item in enumerate(payload):
        after_name = i > 0 and payload[i - 1][1] in (b"idle", b"seen-time")
        if item[0] == b":" and (i == at or after_name):
            out.append((b":", "<time>"))
        else:
            out.append(mask_times(item))
    return (kind, tuple(out))


def canonical(name, args, value):
    """A comparable form of a reply whose exact bytes legitimately differ."""
    kind, payload = value
    if kind in (b"-", b"!", b"<"):
        return freeze(value)
    if name in TYPE_ONLY:
        return type_of(value)
    if name in TIMED:
        return mask_times(value)
    if name in RANDOM:
        return count_of(value)
    if name in UNORDERED and isinstance(payload, list):
        return (b"*", tuple(sorted(freeze(v) for v in payload)))
    if name in UNORDERED_PAIRS and isinstance(payload, list):
        pairs = [(freeze(payload[i]), freeze(payload[i + 1])) for i in range(0, len(payload) - 1, 2)]
        return (b"*", tuple(sorted(pairs)))
    if name in SCANS and isinstance(payload, list) and len(payload) == 2:
        cursor, items = payload
        start = args[1] if name == "scan" else args[2] if len(args) > 2 else b"0"
        # A cursor means a place in a hash table: only a whole scan from 0 can be compared.
        if start != b"0" or cursor[1] != b"0" or not isinstance(items[1], list):
            return (b"partial scan", count_of(items)[0])
        step = SCANS[name]
        groups = [tuple(freeze(v) for v in items[1][i:i + step])
                  for i in range(0, len(items[1]), step)]
        return (b"scan", tuple(sorted(groups)))
    if name in ("client|kill", "client|unblock", "client|tracking", "client|getredir",
                "client|trackinginfo") and kind == b":":
        # Client ids differ between the servers.
        return (kind, "<n>")
    return freeze(value)


def same(name, args, a, b):
    if name == "xadd" and b"*" in args:
        # `*` takes the clock's milliseconds, which the two servers read apart.
        return type_of(a) == type_of(b)
    if name in TOLERANCE and a[0] == b[0] == b":":
        x, y = a[1], b[1]
        if x >= 0 and y >= 0:
            return abs(x - y) <= TOLERANCE[name]
        return x == y
    if name in NORMALISED:
        x, y = canonical(name, args, a), canonical(name, args, b)
        if name in SCANS and b"partial scan" in (x[0], y[0]):
            # One server ended the iteration, the other needs more calls: both are valid SCANs.
            return x[0] in (b"partial scan", b"scan") and y[0] in (b"partial scan", b"scan")
        return x == y
    return False


def is_invalidation(value):
    kind, payload = value
    return kind == b">" and bool(payload) and payload[0] == (b"$", b"invalidate")


def without_invalidations(replies):
    """Client-side caching pushes left out: Redis sends BCAST ones before it sleeps, after the
    whole pipeline, cachet right after the reply (tests/tracking.rs checks them)."""
    return [(raw, value) for raw, value in replies if not is_invalidation(value)]


def same_replies(name, args, redis, cachet, queued=None, common=None):
    redis, cachet = without_invalidations(redis), without_invalidations(cachet)
    if [raw for raw, _ in redis] == [raw for raw, _ in cachet]:
        return True
    if len(redis) != len(cachet):
        return False
    if name == "exec" and queued and len(redis) == 1:
        # Each reply in EXEC's array as the queued command's own.
        (_, (rk, r_items)), (_, (ck, c_items)) = redis[0], cachet[0]
        if rk == ck == b"*" and r_items is not None and c_items is not None and \
                len(r_items) == len(c_items) == len(queued):
            return all(freeze(a) == freeze(b) or same(effective_name(q, common), q, a, b)
                       for q, a, b in zip(queued, r_items, c_items))
        return False
    if name in UNSUBSCRIBE and len(args) == 1:
        # Unsubscribing from everything goes in hash table order: the same channels, and the
        # same counts left, in any order.
        def parts(replies):
            if any(v[0] not in (b"*", b">") or v[1] is None or len(v[1]) != 3 for _, v in replies):
                return None
            return (sorted(v[1][1] for _, v in replies), sorted(v[1][2] for _, v in replies))
        return parts(redis) is not None and parts(redis) == parts(cachet)
    return all(same(name, args, a[1], b[1]) for a, b in zip(redis, cachet))


def shown(data, limit=160):
    text = repr(bytes(data))[2:-1]
    return text if len(text) <= limit else text[:limit] + "...(%d bytes)" % len(data)


def describe(args):
    return " ".join("'%s'" % shown(a, 60) for a in args)


def shape(replies):
    """What a difference is grouped by: error texts verbatim, other replies by type."""
    return tuple(raw if value[0] in (b"-", b"!", b"<") else type_of(value)[0]
                 for raw, value in replies)


class Report:
    def __init__(self):
        self.groups = {}
        self.order = []
        self.runs = defaultdict(int)
        self.elapsed = defaultdict(float)

    def add(self, name, args, redis, cachet, where=""):
        r_shape, c_shape = shape(redis), shape(cachet)
        kind = "content" if r_shape == c_shape else "reply"
        key = (name, kind, r_shape, c_shape) if kind == "reply" else (name, kind)
        if key not in self.groups:
            self.groups[key] = [0, args, redis, cachet, where]
            self.order.append(key)
        self.groups[key][0] += 1

    def print(self):
        total = sum(g[0] for g in self.groups.values())
        print("%d commands sent, %d differences in %d groups" %
              (sum(self.runs.values()), total, len(self.groups)))
        for key in sorted(self.order, key=lambda k: (k[0], -self.groups[k][0])):
            count, args, redis, cachet, where = self.groups[key]
            print("\n[%dx] %s (%s differs)" % (count, key[0], key[1]))
            print("   command: %s%s" % (describe(args), "   [%s]" % where if where else ""))
            print("   redis:   %s" % " | ".join(shown(raw) for raw, _ in redis))
            print("   cachet:  %s" % " | ".join(shown(raw) for raw, _ in cachet))


# ---------------------------------------------------------------------------------------------
# Runs.

def corpus_line(args):
    def one(arg):
        if not arg:
            return "%"
        return "".join(chr(b) if 0x21 <= b <= 0x7e and b != 0x25 else "%%%02X" % b for b in arg)
    return " ".join(one(a) for a in args)


def short_ttl(name, args):
    """Whether a command gives a key a TTL short enough to end between the two servers' turns in
    a replay (left out of the corpus)."""
    def number(arg):
        try:
            return int(arg)
        except ValueError:
            return None
    times = []
    if name in ("expire", "setex", "pexpire", "psetex") and len(args) > 2:
        times.append((number(args[2]), name.startswith("p")))
    if name in ("set", "getex"):
        for option, value in zip(args, args[1:]):
            if option.upper() in (b"EX", b"PX"):
                times.append((number(value), option.upper() == b"PX"))
    return any(n is not None and 0 < n < (3_600_000 if ms else 3600) for n, ms in times)


def compare(name, args, redis, cachet, report):
    r, c = redis.call(args), cachet.call(args)
    report.runs[name] += 1
    equal = [raw for raw, _ in r] == [raw for raw, _ in c] or same_replies(name, args, r, c)
    if not equal:
        report.add(name, args, r, c)
    return equal, r


def unshared(name, args, common):
    """COMMAND GETKEYS of a command only Redis has (SAVE, SORT...): cachet rightly does not know it."""
    return name in ("command|getkeys", "command|getkeysandflags") and len(args) > 2 and \
        effective_name(args[2:], common) not in common


def documented(name, args):
    """Leaves out what README documents as different."""
    if name in ("zrank", "zrevrank") and len(args) >= 4:
        # ZRANK/ZREVRANK ... WITHSCORE (Redis 7.2) is accepted; 7.0 has arity 3.
        return args[:3]
    return args


def prepare_marker(corpus):
    if corpus is not None and (not corpus or corpus[-1] != "@prepare"):
        corpus.append("@prepare")


def effective_name(args, common):
    name = args[0].decode("latin-1").lower()
    if len(args) > 1 and name + "|" + args[1].decode("latin-1").lower() in common:
        return name + "|" + args[1].decode("latin-1").lower()
    return name


def run_seeds(opts, redis, cachet, common, report, corpus):
    """Each valid invocation of seeds.txt as it is, on freshly prepared keys after a write."""
    dirty = True
    with open(SEEDS, "rb") as f:
        seeds = [line.split() for line in f if line.split()]
    for args in seeds:
        name = effective_name(args, common)
        if name not in common or name in EXCLUDED or (opts.only and name not in opts.only):
            continue
        if dirty:
            redis.quiet(prepare())
            cachet.quiet(prepare())
            prepare_marker(corpus)
        args = documented(name, fix_up(name, list(args), random.Random(0)))
        equal, r = compare(name, args, redis, cachet, report)
        if equal and corpus is not None and corpus_worthy(name, args, r, redis):
            corpus.append(corpus_line(args))
        dirty = not equal or "write" in common[name][1] or name in (
            "select", "swapdb", "hello", "reset", "multi", "client|tracking", "client|reply",
            "subscribe", "psubscribe", "ssubscribe")


def corpus_worthy(name, args, replies, redis):
    """What the replay in tests/diff_vs_redis.rs can compare without timing or state it lacks."""
    # (An XADD with `*` is left out; the reads after one that succeeded see clock IDs too, so a
    # corpus emitted from sequences that contain one needs checking for them.)
    return name not in NORMALISED and not any(len(a) > 512 for a in args) and \
        not (name == "xadd" and b"*" in args) and \
        not redis.in_multi and not short_ttl(name, args) and \
        name not in ("multi", "quit", "client|reply", "hello", "subscribe", "psubscribe",
                     "ssubscribe") and all(v[0] != b"<" for _, v in replies)


def run_sequences(opts, redis, cachet, common, report, corpus):
    seeds = load_seeds()
    names = sorted(n for n in common if n not in EXCLUDED and (not opts.only or n in opts.only))
    containers = {n.split("|")[0] for n in common if "|" in n}
    sequences = [opts.trace] if opts.trace is not None else range(opts.rounds)
    for sequence in sequences:
        rng = random.Random(opts.seed * 1_000_003 + sequence)
        # Odd sequences in RESP3 (until a HELLO 2 or RESET of their own).
        start = prepare() + ([[b"HELLO", b"3"]] if sequence % 2 else [])
        redis.quiet(start)
        cachet.quiet(start)
        prepare_marker(corpus)
        if corpus is not None and sequence % 2:
            corpus.append("! HELLO 3")
        for position in range(opts.length):
            name = rng.choice(names)
            args = generate(rng, name, common[name][0], seeds)
            if name in containers and len(args) > 1:
                # A container given one of its subcommands (HELP, or a seed) is that subcommand.
                sub = name + "|" + args[1].decode("latin-1").lower()
                if sub in common:
                    name = sub
                if name in EXCLUDED:
                    continue
            report.runs[name] += 1
            args = documented(name, args)
            clock = time.time()
            r, c = redis.call(args), cachet.call(args)
            report.elapsed[name] += time.time() - clock
            equal = [raw for raw, _ in r] == [raw for raw, _ in c] or \
                same_replies(name, args, r, c, redis.last_queued, common)
            writes = "write" in common[name][1] or name in ("select", "swapdb", "hello", "reset",
                                                            "multi", "exec", "client|tracking")
            if opts.trace is not None:
                print("%d %s\n   redis:  %s\n   cachet: %s" % (
                    position, describe(args), " | ".join(shown(raw, 100) for raw, _ in r),
                    " | ".join(shown(raw, 100) for raw, _ in c)))
            equal = equal or unshared(name, args, common)
            if not equal:
                where = "--seed %d --trace %d: #%d" % (opts.seed, sequence, position)
                report.add(name, args, r, c, where)
            elif corpus is not None and corpus_worthy(name, args, r, redis):
                corpus.append(corpus_line(args))
            if name == "spop" and len(args) > 1:
                # Different members left: the same set again on both.
                for side in (redis, cachet):
                    side.quiet([[b"DEL", args[1]]])
                if corpus is not None:
                    corpus.append("! " + corpus_line([b"DEL", args[1]]))
            # A TTL of a few ms may end between the two servers' turns: start again from the
            # same keys rather than report the timing.
            if (not equal and writes) or redis.in_multi != cachet.in_multi or \
                    short_ttl(name, args):
                redis.quiet(prepare())
                cachet.quiet(prepare())
                prepare_marker(corpus)


def run_config(redis, cachet, report):
    """CONFIG SET of every directive both servers have, with hostile values; each restored."""
    def directives(side):
        replies = side.call([b"CONFIG", b"GET", b"*"])
        items = replies[0][1][1]
        return {items[i][1].decode(): items[i + 1][1] for i in range(0, len(items), 2)}
    redis.quiet([[b"RESET"]])
    cachet.quiet([[b"RESET"]])
    ours, theirs = directives(cachet), directives(redis)
    for name in sorted(set(ours) & set(theirs) - CONFIG_UNTOUCHED):
        for value in CONFIG_VALUES:
            args = [b"CONFIG", b"SET", name.encode(), value]
            report.runs["config|set"] += 1
            r, c = redis.call(args), cachet.call(args)
            if [raw for raw, _ in r] != [raw for raw, _ in c]:
                report.add("config|set", args, r, c)
            for side, original in ((redis, theirs[name]), (cachet, ours[name])):
                restore = [b"CONFIG", b"SET", name.encode(), original]
                if side.call(restore)[0][1][0] == b"<":
                    # The value closed the connection (`client-output-buffer-limit normal 1 1 1`).
                    side.call(restore)
    for seconds in SLEEPS:
        args = [b"DEBUG", b"SLEEP", seconds]
        report.runs["debug|sleep"] += 1
        r, c = redis.call(args), cachet.call(args)
        if [raw for raw, _ in r] != [raw for raw, _ in c]:
            report.add("debug|sleep", args, r, c)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=100, help="sequences")
    parser.add_argument("--length", type=int, default=500, help="commands per sequence")
    parser.add_argument("--only", default="", help="comma-separated command names")
    parser.add_argument("--trace", type=int, metavar="SEQUENCE",
                        help="run only that sequence, printing every command and both replies")
    parser.add_argument("--no-build", action="store_true")
    parser.add_argument("--emit-corpus", metavar="PATH")
    parser.add_argument("--corpus-size", type=int, default=400)
    parser.add_argument("--redis-server", default="redis-server")
    opts = parser.parse_args()
    opts.only = {n.strip().lower() for n in opts.only.split(",") if n.strip()}
    if not opts.no_build:
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    # SIGTERM unwinds like Ctrl-C, so the servers are still killed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    procs = []
    workdir = tempfile.mkdtemp(prefix="diff-vs-redis-")
    log = open(os.path.join(workdir, "servers.log"), "wb")
    try:
        redis_port, cachet_port = free_port(), free_port()
        procs.append(start([opts.redis_server, "--port", str(redis_port), "--bind", "127.0.0.1",
                            "--save", "", "--appendonly", "no", "--enable-debug-command", "yes"],
                           redis_port, log, workdir))
        # Redis's default policy, so OBJECT FREQ and eviction answer alike.
        procs.append(start([CACHET, "--port", str(cachet_port), "--bind", "127.0.0.1",
                            "--loglevel", "warning", "--maxmemory-policy", "noeviction",
                            "--enable-debug-command", "yes"],
                           cachet_port, log, workdir))
        redis, cachet = Side("redis", redis_port), Side("cachet", cachet_port)
        theirs, ours = command_table(redis), command_table(cachet)
        common = {n: theirs[n] for n in set(theirs) & set(ours)}
        print("commands: redis %d, cachet %d, both %d" % (len(theirs), len(ours), len(common)))
        report = Report()
        corpus = [] if opts.emit_corpus else None
        started = time.time()
        run_seeds(opts, redis, cachet, common, report, corpus)
        run_sequences(opts, redis, cachet, common, report, corpus)
        if not opts.only:
            run_config(redis, cachet, report)
        report.print()
        print("\n%.1f s" % (time.time() - started))
        slowest = sorted(report.elapsed.items(), key=lambda kv: -kv[1])[:5]
        print("slowest: " + ", ".join("%s %.1f s" % kv for kv in slowest))
        if corpus is not None:
            kept, compared = [], 0
            for line in corpus:
                if not line.startswith("!"):
                    compared += 1
                    if compared > opts.corpus_size:
                        break
                kept.append(line)
            with open(opts.emit_corpus, "w") as f:
                f.write("# Generated by scripts/diff-vs-redis.py --seed %d --emit-corpus: requests "
                        "cachet and redis-server 7.0\n# answer byte for byte alike "
                        "(format: see the script's header).\n" % opts.seed)
                f.write("\n".join(kept) + "\n")
            print("corpus: %d lines in %s" % (len(kept), opts.emit_corpus))
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
        log.close()


if __name__ == "__main__":
    main()
