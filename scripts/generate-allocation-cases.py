#!/usr/bin/env python3
"""Writes test/fixtures/allocation-cases.json: the language-neutral allocation cases.

An independent port of switchyard's hashing and bucketing in plain Python (no packages),
so the TypeScript implementation is checked against a second implementation, the way
GrowthBook's cases.json checks every SDK. Run: python3 scripts/generate-allocation-cases.py

- murmur3: MurmurHash3 x86 32-bit over UTF-8 bytes. The first vectors are the published
  reference values (SMHasher's verification strings); the rest are computed here.
- buckets: bucket = murmur3(salt + ':' + unit) / 2**32.
- assignments: variant i owns [start_i, start_i + coverage * weight_i), start_i the sum of
  earlier weights (as fractions); -1 means outside the traffic (control, not exposed).
"""
import json
import pathlib


def murmur3(data: bytes, seed: int = 0) -> int:
    c1, c2 = 0xCC9E2D51, 0x1B873593
    h = seed & 0xFFFFFFFF
    n = len(data) // 4
    for i in range(n):
        k = int.from_bytes(data[4 * i : 4 * i + 4], "little")
        k = (k * c1) & 0xFFFFFFFF
        k = ((k << 15) | (k >> 17)) & 0xFFFFFFFF
        k = (k * c2) & 0xFFFFFFFF
        h ^= k
        h = ((h << 13) | (h >> 19)) & 0xFFFFFFFF
        h = (h * 5 + 0xE6546B64) & 0xFFFFFFFF
    tail = data[4 * n :]
    k = 0
    if len(tail) >= 3:
        k ^= tail[2] << 16
    if len(tail) >= 2:
        k ^= tail[1] << 8
    if len(tail) >= 1:
        k ^= tail[0]
        k = (k * c1) & 0xFFFFFFFF
        k = ((k << 15) | (k >> 17)) & 0xFFFFFFFF
        k = (k * c2) & 0xFFFFFFFF
        h ^= k
    h ^= len(data)
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & 0xFFFFFFFF
    h ^= h >> 16
    return h


PUBLISHED = [  # (input, seed, expected) from the MurmurHash3 reference verification set
    ("", 0, 0),
    ("", 1, 0x514E28B7),
    ("", 0xFFFFFFFF, 0x81F16F39),
    ("\0\0\0\0", 0, 0x2362F9DE),
    ("aaaa", 0x9747B28C, 0x5A97808A),
    ("aaa", 0x9747B28C, 0x283E0130),
    ("aa", 0x9747B28C, 0x5D211726),
    ("a", 0x9747B28C, 0x7FA09EA6),
    ("abcd", 0x9747B28C, 0xF0478627),
    ("abc", 0x9747B28C, 0xC84A62DD),
    ("Hello, world!", 0x9747B28C, 0x24884CBA),
    ("The quick brown fox jumps over the lazy dog", 0x9747B28C, 0x2FA826CD),
]


def assign(salt, unit, weights, coverage):
    b = murmur3(f"{salt}:{unit}".encode()) / 2**32
    start = 0.0
    found = -1
    for i, w in enumerate(weights):
        s = start / 100
        if b >= s:
            found = i if b < s + coverage * (w / 100) else -1
        start += w
    # the last range whose start is <= b decides, as in the TypeScript loop
    return found


def main():
    cases = {"murmur3": [], "buckets": [], "assignments": []}
    for text, seed, expected in PUBLISHED:
        got = murmur3(text.encode("utf-8"), seed)
        assert got == expected, (text, seed, hex(got), hex(expected))
        cases["murmur3"].append({"input": text, "seed": seed, "hash": expected, "source": "published"})
    for text in ["user-1", "user-42", "björn", "用户-7", "emoji-😀", "x" * 33]:
        cases["murmur3"].append({"input": text, "seed": 0, "hash": murmur3(text.encode("utf-8")), "source": "python port"})
    for salt, unit in [("checkout-redesign", "user-42"), ("exp", "1"), ("exp", "2"), ("ümlaut", "ü"), ("s", "")]:
        cases["buckets"].append({"salt": salt, "unit": unit, "bucket": murmur3(f"{salt}:{unit}".encode()) / 2**32})
    configs = [
        ([50, 50], 1.0), ([50, 50], 0.1), ([10, 20, 70], 1.0), ([10, 20, 70], 0.25),
        ([0, 100], 1.0), ([100, 0], 0.5), ([33.3, 33.3, 33.4], 0.05), ([50, 50], 0.0),
    ]
    for weights, coverage in configs:
        for i in range(12):
            unit = f"user-{i * 7919}"
            cases["assignments"].append({
                "salt": "exp-a", "unit": unit, "weights": weights, "coverage": coverage,
                "variant": assign("exp-a", unit, weights, coverage),
            })
    out = pathlib.Path(__file__).resolve().parent.parent / "test" / "fixtures" / "allocation-cases.json"
    out.write_text(json.dumps(cases, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {out}: {sum(len(v) for v in cases.values())} cases")


if __name__ == "__main__":
    main()
