"""jug-py's code digest (what it covers) and its custom section."""

import os
import shutil
import tempfile
import unittest

from jug_py import digest, entry, wasm

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "..", "..", "tests", "fixtures", "python")
RUNTIME = os.path.join(HERE, "..", "src", "jug")
WIT = os.path.join(HERE, "..", "..", "..", "wit")


class Digest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="jug-py-test-")
        for name in ("features.py", "helpers.py"):
            shutil.copy(os.path.join(FIXTURES, name), self.dir)
        self.extra = os.path.join(self.dir, "extra")
        os.makedirs(self.extra)
        self.write("extra/lib.py", "X = 1\n")

    def tearDown(self):
        shutil.rmtree(self.dir)

    def write(self, relative, text, mode="w"):
        with open(os.path.join(self.dir, relative), mode, encoding="utf-8") as f:
            f.write(text)

    def digest(self, versions=None):
        return digest.code_digest(
            versions=versions or {"jug-py": "0", "componentize-py": "0.25.1", "cbor2": "5.9.0"},
            sdk_runtime_dir=RUNTIME,
            wit_dir=WIT,
            template=entry.TEMPLATE,
            script_path=os.path.join(self.dir, "features.py"),
            extra_paths=[self.extra],
        )

    def test_local_modules_are_found(self):
        self.assertEqual(digest.local_modules(os.path.join(self.dir, "features.py")), ["helpers.py"])

    def test_what_changes_the_digest(self):
        first = self.digest()
        self.assertTrue(first.startswith("sha256:") and len(first) == 71)
        self.assertEqual(self.digest(), first, "same sources, same digest")
        # Not covered: files the script does not import, caches.
        self.write("unrelated.py", "print('hi')\n")
        os.makedirs(os.path.join(self.dir, "__pycache__"))
        self.write("__pycache__/helpers.cpython-311.pyc", "junk")
        self.write("data.txt", "data")
        self.assertEqual(self.digest(), first)
        # Covered: versions, a local module, the script, the extra paths.
        self.assertNotEqual(self.digest({"jug-py": "1", "componentize-py": "0.25.1", "cbor2": "5.9.0"}), first)
        self.write("helpers.py", "\n# an edit\n", mode="a")
        second = self.digest()
        self.assertNotEqual(second, first)
        self.write("features.py", "\n# an edit\n", mode="a")
        third = self.digest()
        self.assertNotEqual(third, second)
        self.write("extra/data.bin", "new file")
        self.assertNotEqual(self.digest(), third)

    def test_packages_and_nested_imports(self):
        os.makedirs(os.path.join(self.dir, "pkg", "sub"))
        self.write("pkg/__init__.py", "")
        self.write("pkg/sub/mod.py", "import helpers\n")
        self.write("other.py", "from pkg.sub import mod\n")
        self.write("features.py", "\ndef f():\n    import other\n", mode="a")
        found = digest.local_modules(os.path.join(self.dir, "features.py"))
        self.assertEqual(found, ["helpers.py", "other.py", "pkg/__init__.py", "pkg/sub/mod.py"])


class Section(unittest.TestCase):
    def test_append_and_read(self):
        path = os.path.join(tempfile.mkdtemp(prefix="jug-py-test-"), "c.wasm")
        body = wasm.COMPONENT_PREAMBLE + wasm.custom_section("producers", b"x" * 200) + b"\x01\x02\x00\x00"
        with open(path, "wb") as f:
            f.write(body)
        self.assertIsNone(wasm.declared_digest(path))
        with open(path, "ab") as f:
            f.write(wasm.custom_section(wasm.DIGEST_SECTION, b"sha256:" + b"a" * 64))
        self.assertEqual(wasm.declared_digest(path), b"sha256:" + b"a" * 64)
        self.assertIsNone(wasm.declared_digest(path + ".missing"))
        self.assertEqual(wasm.leb128(624485), bytes([0xE5, 0x8E, 0x26]))
        shutil.rmtree(os.path.dirname(path))


if __name__ == "__main__":
    unittest.main()
