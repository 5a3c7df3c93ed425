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
        path = os.path.join(self.dir, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, mode, encoding="utf-8") as f:
            f.write(text)

    def digest(self, versions=None, script="features.py", directory=None):
        directory = directory or self.dir
        script_path = os.path.join(directory, script)
        with open(script_path, encoding="utf-8") as f:
            entry_module = entry.render(script, "features", f.read())
        trees = digest.bundle(
            script_path=script_path,
            sdk_runtime_dir=RUNTIME,
            python_path=[os.path.join(directory, "extra")],
        )
        return digest.code_digest(
            versions=versions or {"jug-py": "0", "componentize-py": "0.25.1"},
            wit_dir=WIT,
            entry_module=entry_module,
            trees=trees,
        )

    def test_local_modules_are_found(self):
        self.assertEqual(digest.local_modules(os.path.join(self.dir, "features.py")), ["helpers.py"])

    def test_what_changes_the_digest(self):
        first = self.digest()
        self.assertTrue(first.startswith("sha256:") and len(first) == 71)
        self.assertEqual(self.digest(), first, "same sources, same digest")
        # Not covered, because not bundled: files the script does not import, caches.
        self.write("unrelated.py", "print('hi')\n")
        self.write("__pycache__/helpers.cpython-311.pyc", "junk")
        self.write("extra/__pycache__/lib.cpython-314.pyc", "junk")
        self.write("data.txt", "data")
        self.assertEqual(self.digest(), first)
        # Covered: versions, a local module, the script, the extra paths.
        self.assertNotEqual(self.digest({"jug-py": "1", "componentize-py": "0.25.1"}), first)
        self.write("helpers.py", "\n# an edit\n", mode="a")
        second = self.digest()
        self.assertNotEqual(second, first)
        self.write("features.py", "\n# an edit\n", mode="a")
        third = self.digest()
        self.assertNotEqual(third, second)
        self.write("extra/data.bin", "new file")
        self.assertNotEqual(self.digest(), third)

    def test_packages_and_nested_imports(self):
        self.write("pkg/__init__.py", "")
        self.write("pkg/sub/mod.py", "import helpers\n")
        self.write("pkg/table.csv", "a,b\n")
        self.write("other.py", "from pkg.sub import mod\n")
        self.write("features.py", "\ndef f():\n    import other\n", mode="a")
        found = digest.local_modules(os.path.join(self.dir, "features.py"))
        self.assertEqual(found, ["helpers.py", "other.py", "pkg/__init__.py", "pkg/sub/mod.py", "pkg/table.csv"])

    def test_a_data_file_of_a_local_package_is_bundled_and_hashed(self):
        # A module the script loads with importlib, and a data file it reads, in a package it
        # imports: both go into the component, so both are in the digest.
        self.write("pkg/__init__.py", "")
        self.write("pkg/plugin.py", "VALUE = 1\n")
        self.write("pkg/table.csv", "a,b\n")
        self.write("features.py", "\nimport pkg\n", mode="a")
        first = self.digest()
        self.write("pkg/table.csv", "a,b,c\n")
        second = self.digest()
        self.assertNotEqual(second, first)
        self.write("pkg/plugin.py", "VALUE = 2\n")
        self.assertNotEqual(self.digest(), second)

    def test_two_checkouts_agree(self):
        self.write("pkg/__init__.py", "")
        self.write("features.py", "\nimport pkg\n", mode="a")
        other = tempfile.mkdtemp(prefix="jug-py-other-checkout-")
        try:
            shutil.rmtree(other)
            shutil.copytree(self.dir, other)
            self.assertEqual(self.digest(directory=other), self.digest())
        finally:
            shutil.rmtree(other, ignore_errors=True)

    def test_the_entry_module_names_the_script_by_its_file_name(self):
        module = entry.render("features.py", "features", "x = 1\n")
        self.assertNotIn(self.dir, module)
        self.assertIn("path='features.py'", module)


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
