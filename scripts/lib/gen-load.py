"""The RESP load of one of bench-memory.sh's data sets, for one server, written to a file.

Usage: gen-load.py SET SERVER FILE KEYS JSON_KEYS JSON_MIN JSON_MAX
SET is plain, tagged or json; SERVER is redis or cachet (tagged keys differ); with json, FILE.bytes
gets the documents' total size. The same seed every run, so every server gets the same documents.
"""
import json, random, sys
which, server, path, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
value = b"x" * 100
def cmd(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)
WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
         "juliet", "kilo", "lima", "mike", "november", "oscar", "papa"]
def doc(rng, size):
    """A product page's JSON: nested objects, the same field names in every item."""
    d = {"id": rng.randrange(1 << 32), "category": rng.choice(WORDS), "items": []}
    # len(json.dumps(d)) kept up to date item by item (each adds its own length and ", "):
    # the same documents as measuring the whole each time, without the quadratic cost.
    length = len(json.dumps(d))
    while length < size:
        d["items"].append({
            "sku": "%s-%05d" % (rng.choice(WORDS), rng.randrange(100000)),
            "name": "%s %s %s" % (rng.choice(WORDS), rng.choice(WORDS), rng.choice(WORDS)),
            "price": round(rng.uniform(1, 1000), 2),
            "stock": {"warehouse": rng.choice(WORDS[:4]), "count": rng.randrange(500),
                      "updated": 1700000000 + rng.randrange(10**7)},
            "tags": rng.sample(WORDS, 3),
            "active": rng.random() < 0.8,
        })
        length += len(json.dumps(d["items"][-1])) + (2 if len(d["items"]) > 1 else 0)
    return json.dumps(d, separators=(",", ":")).encode()
if which == "json":
    rng = random.Random(19)  # the same documents in every run and for every server
    count = int(sys.argv[5])
    with open(path, "wb") as f:
        total = 0
        for i in range(count):
            value = doc(rng, rng.randrange(int(sys.argv[6]), int(sys.argv[7])))
            total += len(value)
            f.write(cmd(b"SET", b"doc:%012d" % i, value))
        open(path + ".bytes", "w").write(str(total))
    sys.exit(0)
with open(path, "wb") as f:
    for i in range(n):
        key = b"key:%012d" % i
        if which == "plain":
            f.write(cmd(b"SET", key, value))
            continue
        tags = (b"ta:%d" % (i % 100), b"tb:%d" % (i % 10000), b"tc:%d" % (i // 10))
        if server == "cachet":
            f.write(cmd(b"CACHE.SET", key, value, b"TAGS", b"3", *tags))
        else:
            f.write(cmd(b"SET", key, value) + b"".join(cmd(b"SADD", t, key) for t in tags))
