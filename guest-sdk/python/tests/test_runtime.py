"""The guest runtime in plain CPython (no host): define mode, argument layout, `run`."""

import contextlib
import io
import textwrap
import unittest

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


if __name__ == "__main__":
    unittest.main()
