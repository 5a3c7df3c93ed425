"""The SDK's CBOR codec writes what cbor2's canonical mode writes, byte for byte, and reads it."""

import math
import random
import struct
import unittest

import cbor2  # the reference: scripts/sdk/python installs it next to jug-py, for this test only

from jug import _codec


def as_cbor2(value):
    if isinstance(value, _codec.Tag):
        return cbor2.CBORTag(value.tag, as_cbor2(value.value))
    if isinstance(value, (list, tuple)):
        return [as_cbor2(v) for v in value]
    if isinstance(value, dict):
        return {k: as_cbor2(v) for k, v in value.items()}
    return value


def floats():
    rng = random.Random(7)
    out = [0.0, -0.0, 1.0, -1.0, 1.5, 0.1, 1 / 3, 65504.0, 65505.0, 65520.0, 6.1e-5, 5.960464477539063e-08,
           1e-8, 5e-324, 2.2250738585072014e-308, 1e300, 3.4028234663852886e38, 3.4028235677973366e38,
           1.401298464324817e-45, float("inf"), float("-inf")]  # fmt: skip
    out += [struct.unpack(">d", rng.getrandbits(64).to_bytes(8, "big"))[0] for _ in range(2000)]
    out += [struct.unpack(">f", rng.getrandbits(32).to_bytes(4, "big"))[0] for _ in range(2000)]
    out += [struct.unpack(">e", rng.getrandbits(16).to_bytes(2, "big"))[0] for _ in range(2000)]
    return [x for x in out if not math.isnan(x)]


def ints():
    out = []
    for bits in (0, 5, 8, 16, 32, 64, 65, 100, 300):
        for base in (1 << bits, -(1 << bits)):
            out += [base - 1, base, base + 1]
    return out + [23, 24, -24, -25, 255, 256, -256, -257]


class Codec(unittest.TestCase):
    def check(self, value, expected=None):
        encoded = _codec.dumps(value)
        self.assertEqual(encoded, cbor2.dumps(as_cbor2(value), canonical=True), repr(value))
        decoded = _codec.loads(encoded)
        expected = value if expected is None else expected
        if isinstance(expected, dict):  # key order aside
            self.assertEqual(decoded, expected)
            self.assertEqual(_codec.dumps(decoded), encoded)
        else:  # repr: tells -0.0 from 0.0, 1 from True
            self.assertEqual(repr(decoded), repr(expected))

    def test_scalars(self):
        for value in [None, True, False, "", "a", "héllo ✓", "x" * 23, "x" * 24, "x" * 300, "y" * 70000,
                      b"", b"\x00\xff", b"z" * 256]:  # fmt: skip
            self.check(value)
        for value in ints():
            self.check(value)
        for value in floats():
            self.check(value)

    def test_nan(self):
        self.assertEqual(_codec.dumps(float("nan")), cbor2.dumps(float("nan"), canonical=True))
        self.assertTrue(math.isnan(_codec.loads(b"\xf9\x7e\x00")))

    def test_containers_and_key_order(self):
        self.check([1, [2, [3, []]], (4, "a")], [1, [2, [3, []]], [4, "a"]])
        keys = ["b", "a", "aa", "z", "é", "", "zzzzzzzzzzzzzzzzzzzzzzzz", "ab", "B", "x" * 300]
        self.check({k: i for i, k in enumerate(keys)})
        self.check({"outer": {"b": [None], "a": {"y": b"", "x": 1.5}}})
        self.check(list(range(30)))

    def test_tags(self):
        self.check(_codec.Tag(27253, b"k" * 32))
        self.check(_codec.Tag(27253, [b"k" * 32, 0, "mean"]))
        self.check([_codec.Tag(27254, {"threads": 8}), _codec.Tag(1, 1700000000)])

    def test_random_structures(self):
        rng = random.Random(3)
        pool = ints() + floats()[:50] + ["", "k", "ключ", b"\x01", None, True]

        def make(depth):
            kind = rng.randrange(4 if depth < 4 else 1)
            if kind == 0:
                return rng.choice(pool)
            if kind == 1:
                return [make(depth + 1) for _ in range(rng.randrange(5))]
            if kind == 2:
                return {rng.choice(["a", "b", "ab", "é", "long key " * 4, str(rng.randrange(100))]): make(depth + 1)
                        for _ in range(rng.randrange(5))}  # fmt: skip
            return _codec.Tag(rng.randrange(1000, 70000), make(depth + 1))

        for _ in range(300):
            value = make(0)
            encoded = _codec.dumps(value)
            self.assertEqual(encoded, cbor2.dumps(as_cbor2(value), canonical=True))
            self.assertEqual(_codec.dumps(_codec.loads(encoded)), encoded)

    def test_reads_bignums_and_refuses_what_is_not_one_value(self):
        self.assertEqual(_codec.loads(cbor2.dumps(2**100)), 2**100)
        self.assertEqual(_codec.loads(cbor2.dumps(-(2**100))), -(2**100))
        for bad in [b"", b"\x81", b"\x62a", b"\x01\x02", b"\x9f\x01\xff", b"\xf8\x20"]:
            with self.assertRaises(_codec.DecodeError, msg=repr(bad)):
                _codec.loads(bad)

    def test_refuses_other_types(self):
        for bad in [{1, 2}, {1: "a"}, object(), 1j]:
            with self.assertRaises(TypeError):
                _codec.dumps(bad)


if __name__ == "__main__":
    unittest.main()
