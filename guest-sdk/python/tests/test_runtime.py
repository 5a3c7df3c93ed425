"""The guest runtime in plain CPython (no host): define mode, argument layout, `run`."""

import contextlib
import io
import textwrap
import unittest
import unittest.mock

import jug
from jug import _codec, _runtime, _state
from jug._host import Err
from jug.task import register

_counter = [0]


def define(source):
    """Pre-initialises a script (as componentize-py would) and returns its namespace."""
    _state.registry.clear()
    _state.script = None
    _state.mode = "native"
    _counter[0] += 1
    name = f"script{_counter[0]}"
    _runtime.define(f"/scripts/{name}.py", name, textwrap.dedent(source))
    return _state.script.namespace


def run(function, *args):
    return _codec.loads(_runtime.run(function, _codec.dumps(list(args))))


def run_error(function, *args):
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.suppress(Err):
        _runtime.run(function, _codec.dumps(list(args)))
        raise AssertionError(f"{function} did not fail")
    return stderr.getvalue()


def failure(function, *args):
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            _runtime.run(function, _codec.dumps(list(args)))
    except Err as e:
        return e.value
    raise AssertionError(f"{function} did not fail")


class DefineMode(unittest.TestCase):
    def test_definitions_run_after_the_graph_code_stops(self):
        ns = define("""
            import sys
            from jug import TaskGenerator, bvalue

            @TaskGenerator
            def first(x):
                return x

            n = int(sys.argv[1])  # no argument while pre-initialising: the graph code stops here
            seen = str(n)  # graph code after the stop: skipped

            @TaskGenerator
            def later(x):
                return x + OFFSET

            OFFSET = 100
            import json
            late = first(3)
            bvalue(late)
            """)
        self.assertEqual(sorted(_state.registry), ["first", "later"])
        self.assertNotIn("seen", ns)
        self.assertNotIn("late", ns)
        self.assertIn("json", ns)
        self.assertEqual(run("later", 1), 101)

    def test_imports_inside_functions_are_loaded_now(self):
        define("""
            from jug import TaskGenerator

            @TaskGenerator
            def f(x):
                import fractions
                return str(fractions.Fraction(x, 4))
            """)
        import sys

        self.assertIn("fractions", sys.modules)
        self.assertEqual(run("f", 2), "1/2")

    def test_two_functions_with_one_name_are_refused(self):
        with self.assertRaises(jug.JugError) as caught, contextlib.redirect_stderr(io.StringIO()):
            define("""
                from jug import TaskGenerator

                @TaskGenerator
                def work(x):
                    return x

                @TaskGenerator
                def work(x):
                    return -x
                """)
        self.assertIn("two different task functions are named `work`", str(caught.exception))

    def test_lambdas_and_partials_cannot_be_task_functions(self):
        import functools

        for f in (lambda x: x, functools.partial(max, 1)):
            with self.assertRaises(jug.JugError):
                register(f)


class Arguments(unittest.TestCase):
    def setUp(self):
        define("""
            from jug import TaskGenerator

            @TaskGenerator
            def full(a, b=2, *rest, c, d=4, **more):
                return [a, b, list(rest), c, d, more]

            @TaskGenerator
            def pair(a, b=10):
                return [a, b]

            @TaskGenerator
            def one(x):
                return x * 2

            @TaskGenerator
            def add(a, b):
                return a + b

            @TaskGenerator
            def boom(n):
                raise ValueError(f"boom at {n}")

            @TaskGenerator
            def bad():
                return {1, 2}

            def plain(x):
                return -x
            """)

    def test_declared_layout(self):
        full = _state.registry["full"]
        self.assertEqual(full.declared_args((1,), {"c": 3}), [1, 2, {"c": 3, "d": 4}])
        self.assertEqual(full.declared_args((1, 2, 5, 6), {"c": 3, "e": 7}), [1, 2, 5, 6, {"c": 3, "d": 4, "e": 7}])
        self.assertEqual(_state.registry["pair"].declared_args((1,), {}), [1, 10])
        self.assertEqual(_state.registry["pair"].declared_args((), {"b": 3, "a": 1}), [1, 3])
        with self.assertRaises(TypeError):
            _state.registry["pair"].declared_args((1, 2, 3), {})

    def test_run_splits_keywords_and_runs_batches(self):
        self.assertEqual(run("full", 1, 2, 5, 6, {"c": 3, "d": 4, "e": 7}), [1, 2, [5, 6], 3, 4, {"e": 7}])
        self.assertEqual(run("pair", 1, 3), [1, 3])
        self.assertEqual(run("one.map", [1, 2, 3]), [2, 4, 6])
        self.assertEqual(run("pair.map", [[1, 2], [3, 4]]), [[1, 2], [3, 4]])
        self.assertEqual(run("add.reduce", [1, 2, 3, 4]), 10)
        self.assertEqual(run("jug.identity", {"x": [1]}), {"x": [1]})
        self.assertEqual(run("plain", 5), -5)  # a top-level function, for Task(plain, x)

    def test_failures(self):
        self.assertEqual(failure("boom", 1), "ValueError: boom at 1")
        log = run_error("boom", 1)
        self.assertIn("Traceback (most recent call last):", log)
        self.assertIn('raise ValueError(f"boom at {n}")', log)  # source lines from linecache
        self.assertNotIn("_runtime.py", log)
        self.assertIn("the result of task bad contains a set", failure("bad"))
        self.assertIn("no task function `nope`", failure("nope"))
        self.assertIn("no task function `one.other`", failure("one.other", 1))

    def test_placeholders_and_parts(self):
        t = _state.registry["one"].f  # the function itself
        self.assertEqual(t(4), 8)
        task = jug.Task(_state.script.namespace["one"], 3)
        self.assertIsNone(task.key)  # outside a build: a placeholder
        part = task["mean"][2]
        self.assertEqual(part.path, ("mean", 2))
        with self.assertRaises(TypeError):
            iter(task)
        with self.assertRaises(jug.JugError):
            task[-1]
        self.assertEqual(len(jug.iteratetask(task, 3)), 3)


class _FakeGraph:
    """Stands in for componentize-py's `wit_world.imports.graph` while a test builds."""

    class TaskLimits:
        def __init__(self, *, timeout_ms, fuel, max_memory):
            self.timeout_ms, self.fuel, self.max_memory = timeout_ms, fuel, max_memory

    def __init__(self):
        self.calls = []

    def declare(self, function, args):
        return bytes([len(self.calls)]) * 32

    def set_limits(self, key, limits):
        if key == b"\xee" * 32:
            raise Err("no task has the key ee…")
        self.calls.append((bytes(key), limits.timeout_ms, limits.fuel, limits.max_memory))


class Limits(unittest.TestCase):
    def setUp(self):
        define("""
            from jug import TaskGenerator

            @TaskGenerator
            def heavy(x):
                return x
            """)
        self.heavy = _state.script.namespace["heavy"]

    def building(self):
        """Build mode against a fake host, for the duration of a `with`."""
        import jug._limits
        import jug.task

        fake = _FakeGraph()
        patches = contextlib.ExitStack()
        for module in (jug.task, jug._limits):
            patches.enter_context(unittest.mock.patch.object(module, "graph", fake))
        patches.enter_context(unittest.mock.patch.object(_state, "mode", "build"))
        return fake, patches

    def test_placeholders_keep_the_task_and_check_the_values(self):
        task = self.heavy(1)
        self.assertIs(task.with_limits(timeout=3600, fuel=None, max_memory=2 << 30), task)
        self.assertIs(jug.limits(task, timeout=0.2), task)
        for bad in (
            {"timeout": 0},
            {"timeout": -1},
            {"timeout": float("inf")},
            {"timeout": "1h"},
            {"timeout": True},
            {"fuel": 1.5},
            {"fuel": -1},
            {"fuel": 2**64},
            {"max_memory": 0},
            {"max_memory": "2GiB"},
        ):
            with self.subTest(bad), self.assertRaises(jug.JugError):
                task.with_limits(**bad)
        with self.assertRaises(jug.JugError) as caught:
            jug.limits(task[0], timeout=1)
        self.assertIn("not on a part of its result", str(caught.exception))
        with self.assertRaises(TypeError):
            task.with_limits(1)  # keywords only

    def test_build_mode_sends_milliseconds_and_counts(self):
        import datetime

        fake, patches = self.building()
        with patches:
            a = self.heavy(1)
            self.assertIs(a.with_limits(timeout=0.2), a)
            self.assertIs(jug.limits(a, timeout=datetime.timedelta(minutes=2), fuel=10**9, max_memory=2 << 30), a)
            a.with_limits()
            a.with_limits(timeout=1.0005, fuel=0)
        self.assertEqual(
            fake.calls,
            [
                (a.key, 200, None, None),
                (a.key, 120_000, 10**9, 2 << 30),
                (a.key, None, None, None),
                (a.key, 1000, 0, None),
            ],
        )

    def test_host_errors_and_misuse_are_jug_errors(self):
        fake, patches = self.building()
        with patches:
            unknown = jug.Task._declared("heavy", b"\xee" * 32)
            with self.assertRaises(jug.JugError) as caught:
                unknown.with_limits(timeout=1)
            self.assertEqual(str(caught.exception), "cannot set the limits of task heavy: no task has the key ee…")
            placeholder = jug.Task._declared("heavy", None)
            with self.assertRaises(jug.JugError):
                placeholder.with_limits(timeout=1)
        with unittest.mock.patch.object(_state, "mode", "run"), self.assertRaises(jug.JugError) as caught:
            jug.Task._declared("heavy", b"\x01" * 32).with_limits(timeout=1)
        self.assertIn("inside a task", str(caught.exception))


class _DeclaringGraph:
    """Stands in for the host's `graph` while a test builds: records each declaration."""

    def __init__(self):
        self.declared = []

    def declare(self, function, args):
        self.declared.append((function, bytes(args)))
        return bytes([len(self.declared)]) * 32


class Directories(unittest.TestCase):
    def setUp(self):
        define("""
            from jug import TaskGenerator

            @TaskGenerator
            def size(path):
                return path
            """)
        self.size = _state.script.namespace["size"]

    def declared(self, *args):
        """The CBOR template `size(*args)` is declared with, decoded."""
        import jug.task

        fake = _DeclaringGraph()
        with unittest.mock.patch.object(jug.task, "graph", fake), unittest.mock.patch.object(_state, "mode", "build"):
            self.size(*args)
        ((function, data),) = fake.declared
        self.assertEqual(function, "size")
        return data

    def test_defaults_and_options(self):
        d = jug.directory("data")
        self.assertEqual((d.path, d.guest, d.writable), ("data", "/data", False))
        self.assertIsInstance(d, jug.Directory)
        d = jug.directory("runs/out/", writable=True)
        self.assertEqual((d.path, d.guest, d.writable), ("runs/out/", "/out", True))
        import pathlib

        d = jug.directory(pathlib.PurePosixPath("a/b"), "/work/b")
        self.assertEqual((d.path, d.guest, d.writable), ("a/b", "/work/b", False))
        self.assertEqual(repr(d), "jug.directory('a/b', guest='/work/b', writable=False)")

    def test_the_template_is_tag_27257_around_path_guest_writable(self):
        data = self.declared(jug.directory("data"))
        # [27257(["data", "/data", false])]
        self.assertEqual(data.hex(), "81" + "d96a79" + "83" + "6464617461" + "652f64617461" + "f4")
        decoded = _codec.loads(data)
        self.assertEqual(decoded[0].tag, 27257)
        self.assertEqual(decoded[0].value, ["data", "/data", False])
        data = self.declared([jug.directory("out", guest="/results", writable=True), 1])
        self.assertEqual(_codec.loads(data)[0][0].value, ["out", "/results", True])
        self.assertTrue(data.endswith(bytes.fromhex("f501")))

    def test_bad_guest_paths_and_options_are_refused(self):
        for guest, problem in (
            ("data", "must be absolute"),
            ("/", "cannot be / itself"),
            ("/a/../b", "`..`"),
            ("/a/./b", "`.`"),
            ("/..", "`..`"),
            ("//inputs", "empty"),
            ("/data/", "empty"),
            ("/inputs", "/inputs"),
            ("/inputs/x", "/inputs"),
            ("/a\0b", "NUL"),
        ):
            with self.subTest(guest), self.assertRaises(jug.JugError) as caught:
                jug.directory("data", guest=guest)
            self.assertIn(f"jug.directory('data'): the guest path {guest!r} ", str(caught.exception))
            self.assertIn(problem, str(caught.exception))
        self.assertEqual(jug.directory("data", guest="/inputsx").guest, "/inputsx")
        for path in (".", "..", "/", "", "a/.."):
            with self.subTest(path), self.assertRaises(jug.JugError) as caught:
                jug.directory(path)
            self.assertIn("pass guest=", str(caught.exception))
        with self.assertRaisesRegex(jug.JugError, "writable must be True or False, not 1"):
            jug.directory("data", writable=1)
        with self.assertRaisesRegex(jug.JugError, "guest must be a str, not int"):
            jug.directory("data", guest=3)
        with self.assertRaisesRegex(jug.JugError, r"jug.directory\(path\): path must be a str, not bytes"):
            jug.directory(b"data")

    def test_only_a_plain_argument(self):
        grant = jug.directory("data")
        for wrapped, inside in ((jug.NoHash([grant]), "NoHash"), (jug.CustomHash({"d": grant}, b"h"), "CustomHash")):
            with self.subTest(inside), self.assertRaises(jug.JugError) as caught:
                self.declared(wrapped)
            self.assertIn(f"(inside {inside}) contains jug.directory('data'", str(caught.exception))
            self.assertIn("only a plain task argument", str(caught.exception))
        # Outside a build it is a placeholder's argument like any other.
        self.assertIsNone(self.size(grant).key)


if __name__ == "__main__":
    unittest.main()
