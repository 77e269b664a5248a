#!/usr/bin/env python3
"""Converts a recorded cache trace into the text form `benches/hit_ratio --trace-file` reads: one key
(an unsigned integer) per line. Formats, as the Caffeine simulator's readers define them:
  lirs      text, one block number per line ('*' lines skipped)    (LIRS paper traces: cs, gli, ps...)
  cache2k   binary, big-endian 32-bit keys                          (cache2k: orm-busy, web07...)
  cphys     binary, big-endian unsigned 32-bit keys                 (CloudPhysics w106)
  long      binary, big-endian 64-bit keys                          (scarab, corda)
  csv-lbn   libCacheSim's cloudPhysicsIO.csv: the lbn column
Compression (.gz, .xz, .bz2) is undone from the file name.
Usage: scripts/trace-keys.py FORMAT IN OUT"""
import bz2, gzip, lzma, struct, sys


def opener(path):
    for ext, fn in ((".gz", gzip.open), (".xz", lzma.open), (".bz2", bz2.open)):
        if path.endswith(ext):
            return fn(path, "rb")
    return open(path, "rb")


def keys(fmt, f):
    if fmt == "lirs":
        for line in f:
            line = line.strip()
            if line and line != b"*":
                yield int(line)
    elif fmt == "csv-lbn":
        header = f.readline().decode().strip().split(",")
        col = header.index("lbn")
        for line in f:
            yield int(line.decode().split(",")[col])
    else:
        width, code = {"cache2k": (4, ">i"), "cphys": (4, ">I"), "long": (8, ">q")}[fmt]
        while chunk := f.read(width * 65536):
            for (k,) in struct.iter_unpack(code, chunk[: len(chunk) // width * width]):
                yield k & 0xFFFF_FFFF_FFFF_FFFF


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    fmt, src, dst = sys.argv[1:]
    n = 0
    with opener(src) as f, open(dst, "w") as out:
        for k in keys(fmt, f):
            out.write(f"{k}\n")
            n += 1
    print(f"{dst}: {n} requests", file=sys.stderr)


if __name__ == "__main__":
    main()
