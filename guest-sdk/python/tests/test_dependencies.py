"""Declared dependencies (jug_py/deps.py): requirements, the lock, which functions an installed
distribution counts for; and the runtime's import machinery (jug/_imports.py) in plain CPython.
No network: resolving and installing are covered by tests/integration/python_libraries.rs."""

import importlib
import importlib.machinery
import importlib.util
import os
import shutil
import sys
import tempfile
import textwrap
import unittest

from jug import _imports, _state
from jug_py import deps, digest, entry

HERE = os.path.dirname(os.path.abspath(__file__))
RUNTIME = os.path.join(HERE, "..", "src", "jug")
WIT = os.path.join(HERE, "..", "..", "..", "wit")

SCRIPT = """\
import alpha
from jug import TaskGenerator


@TaskGenerator
def uses_alpha(x):
    return alpha.f(x)


@TaskGenerator
def imports_gamma_inside(x):
    import gamma
    return gamma.g(x)


@TaskGenerator
def plain(x):
    return x
"""


class Scratch(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="jug-py-deps-test-")

    def tearDown(self):
        shutil.rmtree(self.dir)

    def write(self, relative, text):
        path = os.path.join(self.dir, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(textwrap.dedent(text))
        return path


class Coverage(Scratch):
    """A function's identity covers the distributions it can import, transitively."""

    def setUp(self):
        super().setUp()
        self.write("graph.py", SCRIPT)
        # alpha requires beta; gamma stands alone; delta is installed and imported by no one.
        for name, requires in [("alpha", ["beta (>=1)"]), ("beta", []), ("gamma", []), ("delta", [])]:
            self.install(name, "1.0", requires)

    def install(self, name, version, requires):
        info = f"site/{name}-{version}.dist-info"
        for old in os.listdir(os.path.join(self.dir, "site")) if os.path.isdir(os.path.join(self.dir, "site")) else []:
            if old.startswith(f"{name}-"):
                shutil.rmtree(os.path.join(self.dir, "site", old))
        self.write(f"site/{name}/__init__.py", f"VERSION = {version!r}\n")
        metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        metadata += "".join(f"Requires-Dist: {r}\n" for r in requires)
        self.write(f"{info}/METADATA", metadata)
        self.write(f"{info}/RECORD", f"{name}/__init__.py,,\n{info}/METADATA,,\n{info}/RECORD,,\n")

    def digests(self):
        site = os.path.join(self.dir, "site")
        script = os.path.join(self.dir, "graph.py")
        trees = digest.bundle(script_path=script, sdk_runtime_dir=RUNTIME, python_path=[], site=site)
        return digest.function_digests(
            script_path=script, versions={"jug-py": "0"}, wit_dir=WIT, entry_template=entry.TEMPLATE,
            trees=trees, distributions=deps.distributions(site),
        )  # fmt: skip

    def changed_by(self, name, requires=()):
        before = self.digests()
        self.install(name, "2.0", list(requires))
        after = self.digests()
        return sorted(f for f in before if before[f] != after[f])

    def test_distributions_are_read_from_their_metadata(self):
        found = deps.distributions(os.path.join(self.dir, "site"))
        self.assertEqual(sorted(found), ["alpha", "beta", "delta", "gamma"])
        self.assertEqual(found["alpha"].modules, {"alpha"})
        self.assertEqual(found["alpha"].requires, {"beta"})

    def test_a_new_version_changes_the_functions_that_can_import_it_and_only_those(self):
        self.assertEqual(self.changed_by("alpha", ["beta"]), ["uses_alpha"])
        self.assertEqual(self.changed_by("beta"), ["uses_alpha"], "required by alpha: transitively")
        self.assertEqual(self.changed_by("gamma"), ["imports_gamma_inside"], "an import inside the function")
        self.assertEqual(self.changed_by("delta"), [], "imported by no function")

    def test_a_dynamic_lookup_counts_every_distribution(self):
        self.write("graph.py", SCRIPT + "\n\n@TaskGenerator\ndef dynamic(name):\n    return __import__(name)\n")
        self.assertEqual(self.changed_by("delta"), ["dynamic"])


class Requirements(Scratch):
    def test_requirements_txt_then_pyproject(self):
        script = self.write("graph.py", "x = 1\n")
        self.assertEqual(deps.find_requirements(script), (None, []))
        pyproject = self.write("pyproject.toml", '[project]\nname = "g"\ndependencies = ["sympy==1.14.0"]\n')
        self.assertEqual(deps.find_requirements(script), (pyproject, ["sympy==1.14.0"]))
        txt = self.write("requirements.txt", "# pinned\nnetworkx==3.6.1  # graphs\n\n")
        self.assertEqual(deps.find_requirements(script), (txt, ["networkx==3.6.1"]))
        other = self.write("other.txt", "mpmath\n")
        self.assertEqual(deps.find_requirements(script, other), (other, ["mpmath"]))

    def test_the_lock_is_honoured_and_locked_refuses_drift(self):
        script = self.write("graph.py", "x = 1\n")
        source = self.write("requirements.txt", "alpha\n")
        pins = ["alpha==1.0 --hash=sha256:" + "0" * 64]
        with self.assertRaisesRegex(deps.DependencyError, r"^--locked: there is no graph\.lock; build once"):
            deps.locked_pins(script, ["alpha"], source, locked=True)
        deps.write_lock(deps.lock_path(script), ["alpha"], pins)
        # Recorded requirements match: the pins as they are, without resolving (no network).
        self.assertEqual(deps.locked_pins(script, ["alpha"], source, locked=True), pins)
        self.assertEqual(deps.locked_pins(script, ["alpha"], source, locked=False), pins)
        with self.assertRaisesRegex(deps.DependencyError, r"^--locked: requirements\.txt changed since graph\.lock"):
            deps.locked_pins(script, ["alpha==2"], source, locked=True)


class Stubs(unittest.TestCase):
    def stub(self, name):
        spec = importlib.machinery.ModuleSpec(name, _imports._StubLoader(), is_package=True)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    def test_a_stub_imports_and_fails_on_first_use(self):
        ssl = self.stub("ssl")

        class Context(ssl.SSLContext):  # ssl.py-like code subclasses what it imports
            pass

        self.assertIs(ssl.SSLContext, ssl.SSLContext)
        for use in (lambda: Context(), lambda: ssl.create_default_context(), lambda: ssl.SSLContext.options):
            with self.assertRaisesRegex(_imports.UnavailableModuleError, "^ssl is not available in a jug-host"):
                use()
        self.assertIsInstance(_imports.UnavailableModuleError("x"), ImportError)
        with self.assertRaises(AttributeError):
            ssl.__path_hooks__

    def test_the_ctypes_stub_knows_sizes(self):
        import struct

        ctypes = self.stub("ctypes")
        self.assertEqual(ctypes.sizeof(ctypes.c_long), struct.calcsize("l"))
        with self.assertRaises(_imports.UnavailableModuleError):
            ctypes.CDLL("libc.so")


class Imports(Scratch):
    def setUp(self):
        super().setUp()
        sys.path.insert(0, self.dir)
        self.saved_mode = _state.mode

    def tearDown(self):
        sys.path.remove(self.dir)
        _state.mode = self.saved_mode
        for name in [n for n in sys.modules if n.startswith("lazy_pkg")]:
            del sys.modules[name]
        super().tearDown()

    def test_modules_imported_inside_functions_are_imported_now(self):
        self.write("lazy_pkg/__init__.py", "def f():\n    from .inner import g\n    return g()\n")
        self.write("lazy_pkg/inner.py", "def g():\n    import lazy_pkg.deeper\n    return 1\n")
        self.write("lazy_pkg/deeper.py", "")
        self.write("lazy_pkg/unused.py", "")
        import lazy_pkg  # noqa: F401

        _imports.import_lazy_imports()
        self.assertIn("lazy_pkg.inner", sys.modules)
        self.assertIn("lazy_pkg.deeper", sys.modules, "transitively")
        self.assertNotIn("lazy_pkg.unused", sys.modules)
        _imports.include(["lazy_pkg"])
        self.assertIn("lazy_pkg.unused", sys.modules, "--include: every module")

    def test_a_module_missing_at_run_time_says_how_to_include_it(self):
        finder = _imports.MissingFinder()
        sys.meta_path.append(finder)
        try:
            _state.mode = "run"
            with self.assertRaisesRegex(ModuleNotFoundError, r"--include lazy_pkg`$"):
                importlib.import_module("lazy_pkg.nowhere")
        finally:
            sys.meta_path.remove(finder)


if __name__ == "__main__":
    unittest.main()
