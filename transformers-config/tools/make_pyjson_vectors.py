#!/usr/bin/env python3
"""Write CPython json-module reference outputs for PyJson's tests (deterministic, seed 20260901).

usage: python3 tools/make_pyjson_vectors.py src/test/resources/pyjson
  floats.json      [[<IEEE-754 bits as 16 hex digits>, json.dumps(value)], ...] for varied doubles
  sample.json      an input document with awkward content (unicode, escapes, floats, big ints, NaN, empties)
  sample.compact   json.dumps(json.loads(sample.json))
  sample.pretty    json.dumps(json.loads(sample.json), indent=2, sort_keys=True) + "\\n"  (transformers' config.json form)
"""
import json, math, random, struct, sys
from pathlib import Path


def bits(x):
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def main(out: Path):
    rnd = random.Random(20260901)
    vals = [0.0, -0.0, 1.0, -1.0, 0.1, 0.2, 0.1 + 0.2, 1 / 3, 2.0 ** 53, 2.0 ** 53 + 2, 1e22, 1e23, 2e23,
            1e-4, 1e-5, 9.999e-5, 1e15, 1e16, 1e17, 1234567890123456.0, 12345678901234567.0,
            5e-324, 1e-323, 2.2250738585072014e-308, 1.7976931348623157e308, 1e-06, 0.02, 10000.0, 1e-12,
            448.0, 0.5, 127.5, 3.4028234663852886e38, 1.1754943508222875e-38]
    for _ in range(1500):  # random finite bit patterns
        while True:
            x = struct.unpack("<d", struct.pack("<Q", rnd.getrandbits(64)))[0]
            if math.isfinite(x):
                break
        vals.append(x)
    for _ in range(1500):  # short decimals around the positional/scientific switch
        d = rnd.randint(1, 10 ** rnd.randint(1, 17))
        e = rnd.randint(-30, 30)
        vals.append(float(f"{d}e{e}") * rnd.choice([1, -1]))
    for _ in range(200):  # subnormals
        vals.append(struct.unpack("<d", struct.pack("<Q", rnd.getrandbits(52) or 1))[0])
    out.mkdir(parents=True, exist_ok=True)
    (out / "floats.json").write_text(json.dumps([[f"{bits(v):016x}", json.dumps(v)] for v in vals]) + "\n")

    sample = ('{"z": 1, "a": {"nested": [], "empty": {}, "list": [1, 2.5, -0.0, 1e-06, 10000.0, 1e+16, '
              '123456789012345678901234567890, -7, true, false, null, NaN, Infinity, -Infinity]}, '
              '"unicode": "caf\u00e9 \u4e2d\u6587 \U0001F600 tab\\t nl\\n cr\\r bs\\b ff\\f quote\\" back\\\\ '
              'ctl\\u0001 del\u007f slash/", "\uffff": "bmp-max key", "\U0001F600": "astral key", '
              '"rms_norm_eps": 1e-05, "initializer_range": 0.02, "rope_theta": 500000.0, '
              '"mixed": [{"b": 2, "a": 1}, [[]], [{}], "x"], "B": "upper sorts first", "_x": 0}')
    (out / "sample.json").write_text(sample, encoding="utf-8")
    doc = json.loads(sample)
    (out / "sample.compact").write_text(json.dumps(doc), encoding="ascii")
    (out / "sample.pretty").write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="ascii")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
