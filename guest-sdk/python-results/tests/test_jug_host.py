"""jug_host: the command lines it runs and the exceptions it raises (against a fake jug-host),
and the values it brings back (against the real one, when the integration test sets
JUG_HOST and JUG_TEST_ODDITIES to the binary and tests/fixtures/python/oddities.py built).

    python -m unittest discover -s guest-sdk/python-results/tests
"""

import math
import os
import shutil
import stat
import struct
import subprocess
import tempfile
import unittest
import unittest.mock

import jug_host

# A stand-in for jug-host: records its arguments, then prints and exits as told.
FAKE = """#!/bin/sh
printf '%s\\n' "$@" > "$FAKE_ARGV"
cat "$FAKE_STDOUT"
printf '%s' "$FAKE_STDERR" >&2
exit "$FAKE_CODE"
"""


class FakeBinary(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)
        self.binary = os.path.join(self.dir, "jug-host")
        with open(self.binary, "w") as f:
            f.write(FAKE)
        os.chmod(self.binary, os.stat(self.binary).st_mode | stat.S_IXUSR)
        self.argv = os.path.join(self.dir, "argv")
        self.graph = jug_host.open("g.wasm", store="s3://b/p", args=[10], jug_host=self.binary,
                                   options=["--dir", "data"])  # fmt: skip

    def answer(self, stdout=b"", stderr="", code=0):
        out = os.path.join(self.dir, "stdout")
        with open(out, "wb") as f:
            f.write(stdout)
        env = {"FAKE_ARGV": self.argv, "FAKE_STDOUT": out, "FAKE_STDERR": stderr, "FAKE_CODE": str(code)}
        self.patch = unittest.mock.patch.dict(os.environ, env)
        self.patch.start()
        self.addCleanup(self.patch.stop)

    def argv_seen(self):
        with open(self.argv) as f:
            return f.read().splitlines()

    def test_values_decode_the_cbor_envelope(self):
        # [{"key": "ab…", "name": "g.f", "value": h'00ff'}, {…, "value": 2**64}]
        entry = lambda value: b"\xa3\x63key\x62ab\x64name\x63g.f\x65value" + value  # noqa: E731
        self.answer(stdout=b"\x82" + entry(b"\x42\x00\xff") + entry(b"\xc2\x49\x01" + bytes(8)))
        self.assertEqual(self.graph.values("f"), [b"\x00\xff", 2**64])
        self.assertEqual(
            self.argv_seen(), ["value", "g.wasm", "f", "--cbor", "--dir", "data", "--store", "s3://b/p", "--", "10"]
        )
        self.assertEqual(self.graph.results("f"), {"ab": 2**64})  # the same key twice: the last

    def test_one_value_of_several_is_ambiguous(self):
        entry = b"\xa3\x63key\x62ab\x64name\x63g.f\x65value\xf6"
        self.answer(stdout=b"\x82" + entry + entry)
        with self.assertRaises(jug_host.AmbiguousTask):
            self.graph.value("f")

    def test_a_key_is_passed_as_one(self):
        self.answer(stdout=b"\x81\xa3\x63key\x62ab\x64name\x63g.f\x65value\xf9\x7e\x00")
        self.assertTrue(math.isnan(self.graph.value("0123abcdEF")))
        self.assertEqual(self.argv_seen()[:5], ["value", "g.wasm", "--key", "0123abcdEF", "--cbor"])

    def test_exit_codes_become_exceptions_with_the_message(self):
        missing = "jug-host: g.f (key 0123456789ab) has no result yet; run `jug-host execute g.wasm` first\n"
        cases = [
            (1, missing, jug_host.MissingResult),
            (7, "jug-host: g.f: removed the damaged result: damaged (checksum mismatch)\n", jug_host.DamagedResult),
            (6, "jug-host: no task matches --name 'x' (task names in this graph: g.f)\n", jug_host.NoSuchTask),
            (5, "jug-host: cannot reach the store\n", jug_host.JugHostError),
            (1, "jug-host: something else\n", jug_host.JugHostError),
        ]
        for code, stderr, kind in cases:
            with self.subTest(kind=kind.__name__, code=code):
                self.answer(stderr=stderr, code=code)
                with self.assertRaises(kind) as raised:
                    self.graph.value("f")
                self.assertIs(type(raised.exception), kind)
                self.assertEqual(raised.exception.message, stderr.strip().removeprefix("jug-host: "))
                self.assertEqual(raised.exception.code, code)
                self.assertIsInstance(raised.exception, jug_host.JugHostError)

    def test_status_accepts_not_done(self):
        self.answer(stdout=b'{"complete": false, "tasks": {"g.f": {"ready": 1}}}', code=1)
        self.assertEqual(self.graph.status(), {"g.f": {"ready": 1}})

    def test_no_binary_is_a_clear_error(self):
        with unittest.mock.patch.dict(os.environ, {"PATH": self.dir + "/nowhere"}):
            os.environ.pop("JUG_HOST", None)
            with self.assertRaisesRegex(jug_host.JugHostError, "cannot find jug-host"):
                jug_host.open("g.wasm")


@unittest.skipUnless(os.environ.get("JUG_HOST") and os.environ.get("JUG_TEST_ODDITIES"), "needs jug-host")
class RealBinary(unittest.TestCase):
    """tests/fixtures/python/oddities.py, executed into a fresh store."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp()
        cls.wasm = os.path.join(cls.dir, "oddities.wasm")
        shutil.copy(os.environ["JUG_TEST_ODDITIES"], cls.wasm)
        cls.store = os.path.join(cls.dir, "store")
        cls.graph = jug_host.open(cls.wasm, store=cls.store)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir)

    def execute(self):
        jug = os.environ["JUG_HOST"]
        subprocess.run([jug, "execute", self.wasm, "--store", self.store], check=True, capture_output=True)

    def test_values_come_back_exactly(self):
        self.execute()
        self.assertEqual(self.graph.values("blob"), [b"\x00\x01\x02", b"\x00\x01"])
        big = self.graph.values("big")
        self.assertEqual(big, [2**100, -(2**64), 2**70])
        self.assertTrue(all(type(b) is int for b in big))
        nan, minus_zero, inf, minus_inf, tiny = self.graph.values("special")
        self.assertTrue(math.isnan(nan))
        self.assertEqual(struct.pack(">d", minus_zero), struct.pack(">d", -0.0))
        self.assertEqual((inf, minus_inf, tiny), (math.inf, -math.inf, 5e-324))
        mixed = self.graph.value("mixed")
        self.assertEqual(mixed["parts"][:2], [b"\x00\x01", 2**70])
        self.assertTrue(math.isnan(mixed["parts"][2]))
        self.assertEqual(mixed["text"], "héllo ✓")
        self.assertEqual(mixed["pair"], [1, 0.1])
        self.assertIsNone(mixed["none"])

        counts = self.graph.status()
        self.assertEqual(counts["oddities.special"]["complete"], 5)
        tasks = self.graph.tasks()
        self.assertEqual(len(tasks), 11)
        self.assertTrue(all(t.state == "complete" and len(t.key) == 64 for t in tasks))
        with self.assertRaises(jug_host.AmbiguousTask):
            self.graph.value("special")
        # One of several tasks of a name, by its key.
        key = self.graph.tasks("big")[1].key
        self.assertEqual(self.graph.value(key), -(2**64))
        self.assertEqual(self.graph.value(key[:12]), -(2**64))

        # Invalidating removes the task and what depends on it; the rest stays readable.
        self.graph.invalidate("special")
        with self.assertRaises(jug_host.MissingResult) as raised:
            self.graph.value("mixed")
        self.assertIn("oddities.mixed", raised.exception.message)
        self.assertEqual(self.graph.status()["oddities.mixed"]["complete"], 0)
        self.assertEqual(self.graph.values("blob"), [b"\x00\x01\x02", b"\x00\x01"])
        self.execute()
        self.assertEqual(self.graph.value("mixed")["text"], "héllo ✓")

    def test_errors_of_the_real_binary(self):
        with self.assertRaises(jug_host.NoSuchTask):
            self.graph.value("no_such_function")
        empty = jug_host.open(self.wasm, store=os.path.join(self.dir, "empty"))
        with self.assertRaises(jug_host.MissingResult):
            empty.value("mixed")
        with self.assertRaises(jug_host.JugHostError) as raised:
            jug_host.open(os.path.join(self.dir, "missing.wasm")).status()
        self.assertEqual(raised.exception.code, 3)


if __name__ == "__main__":
    unittest.main()
