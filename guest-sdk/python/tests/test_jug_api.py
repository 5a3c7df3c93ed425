"""Jug's API beyond tasks, in plain CPython against a fake host: compound tasks,
`CachedFunction`, `return_tuple`, `timed_path`, and the stand-ins for what a sandbox cannot do."""

import contextlib
import io
import os
import unittest
import unittest.mock

import jug
import jug.compound
import jug.hooks
import jug.hooks.exit_checks
import jug.hooks.execution
import jug.io
import jug.task
import jug.utils
from jug import _codec, _runtime, _state
from jug._host import Err
from jug.hash import hash_one
from test_runtime import define

# The integration tests' script (tests/integration/python_jug_api.rs), pre-initialised here
# with its default graph: its functions are what these tests call.
FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), *[".."] * 3, "tests/fixtures/python/jug_api.py")
with open(FIXTURE, encoding="utf-8") as _f:
    FIXTURE_SOURCE = _f.read()


class _Host:
    """Stands in for the host's `graph` while a test builds: records what is declared, keys
    tasks by a counter, and stores results by key."""

    def __init__(self, stored=()):
        self.declared = []
        self.compounds = []
        self.results = dict(stored)

    def _key(self):
        return bytes([len(self.declared) + len(self.compounds) + 1]) * 32

    def declare(self, function, args):
        key = self._key()
        self.declared.append((function, _codec.loads(bytes(args)), key))
        return key

    def compound(self, name, args):
        key = b"C" * 31 + bytes([len(self.compounds)])
        self.compounds.append((name, _codec.loads(bytes(args))))
        return key, key in self.results

    def declare_compound(self, key, inner):
        self.compounds.append(("declare", inner))
        return key

    def value(self, key):
        return self.results.get(bytes(key))

    def barrier(self):
        return True


@contextlib.contextmanager
def building(host):
    import jug._results
    import jug.compound

    with contextlib.ExitStack() as patches:
        for module in (jug.task, jug.compound, jug._results):
            patches.enter_context(unittest.mock.patch.object(module, "graph", host))
        patches.enter_context(unittest.mock.patch.object(_state, "mode", "build"))
        yield


class _WithFixture(unittest.TestCase):
    def setUp(self):
        self.ns = define(FIXTURE_SOURCE)


class Compound(_WithFixture):
    def test_not_stored_declares_the_sub_graph_and_keys_by_name_and_arguments(self):
        host = _Host()
        with building(host):
            four = self.ns["double"](2)
            task = self.ns["twice"](four)
        # Asked about by name and arguments (a task argument as a reference to its key)...
        name, args = host.compounds[0]
        self.assertEqual(name, "twice")
        self.assertEqual(args[0].tag, 27253)
        self.assertEqual(args[0].value, four.key)
        # ...then the sub-graph: two doubles, and a tuple of them is an identity task.
        self.assertEqual([d[0] for d in host.declared], ["double", "double", "double", "jug.identity"])
        self.assertEqual(host.compounds[1], ("declare", host.declared[-1][2]))
        self.assertEqual((task.name, task.key), ("twice", b"C" * 31 + b"\x00"))

    def test_a_returned_task_is_the_final_task_itself(self):
        host = _Host()
        host.value = lambda key: _codec.dumps(6)  # double(3), read past the barrier
        with building(host):
            self.ns["double_after_barrier"](3)
        self.assertEqual([d[:2] for d in host.declared], [("double", [3]), ("double", [6])])
        self.assertEqual(host.compounds[1], ("declare", host.declared[1][2]))

    def test_stored_skips_the_function(self):
        host = _Host(stored={b"C" * 31 + b"\x00": _codec.dumps([6, 6])})
        with building(host):
            task = self.ns["twice"](3)
        self.assertEqual(host.declared, [])
        self.assertEqual(host.compounds, [("twice", [3]), ("declare", None)])
        self.assertEqual(task.key, b"C" * 31 + b"\x00")

    def test_placeholders_outside_a_build_still_run_the_function(self):
        calls = []

        def build(x):
            calls.append(x)
            return x

        task = jug.compound.CompoundTask(build, 5)
        self.assertEqual(calls, [5])
        self.assertIsNone(task.key)

    def test_misuse(self):
        with self.assertRaisesRegex(jug.JugError, "cannot name a compound task"):
            jug.CompoundTask(lambda x: x, 1)
        with unittest.mock.patch.object(_state, "mode", "run"), self.assertRaisesRegex(jug.JugError, "inside a task"):
            self.ns["twice"](1)
        with self.assertRaisesRegex(TypeError, "twice"):
            self.ns["twice"](1, 2)


class ReturnTuple(_WithFixture):
    def test_a_call_gives_one_tasklet_per_value(self):
        host = _Host()
        with building(host):
            a, b = self.ns["split"]([1, 2, 3])
        self.assertEqual((a.path, b.path), ((0,), (1,)))
        self.assertIs(a.task, b.task)
        self.assertEqual(host.declared[0][:2], ("split", [[1, 2, 3]]))

    def test_the_size_is_checked_when_the_task_runs(self):
        run = lambda *args: _codec.loads(_runtime.run("split", _codec.dumps(list(args))))  # noqa: E731
        self.assertEqual(run([1, 2, 3]), [[1, 3], [2]])
        _state.registry["split"].f = lambda xs: (xs, xs, xs)
        with contextlib.redirect_stderr(io.StringIO()), self.assertRaises(Err) as caught:
            run([1])
        self.assertEqual(
            caught.exception.value,
            "ValueError: split is declared with return_tuple(2), so it must return 2 values; it returned 3",
        )

    def test_two_sizes_for_one_function_are_refused(self):
        with self.assertRaisesRegex(jug.JugError, r"return_tuple\(3\) on task function split, which has return_tuple\(2\)"):
            jug.task.return_tuple(3)(jug.TaskGenerator(self.ns["split"].f))
        with self.assertRaisesRegex(jug.JugError, "an int >= 0"):
            jug.task.return_tuple("2")


class CachedFunctionAndFiles(_WithFixture):
    def test_cached_function_is_a_barrier_then_the_value(self):
        with building(_Host()), self.assertRaises(jug.BarrierError):
            jug.CachedFunction(self.ns["double"].f, 4)
        host = _Host(stored={bytes([1]) * 32: _codec.dumps(8)})
        with building(host):
            self.assertEqual(jug.CachedFunction(self.ns["double"].f, 4), 8)
        self.assertEqual(host.declared[0][:2], ("double", [4]))
        self.assertIs(jug.task.CachedFunction, jug.CachedFunction)

    def test_timed_path_is_a_file_input(self):
        path = jug.utils.timed_path("data.csv")
        self.assertIsInstance(path, jug.InputFile)
        self.assertEqual(path.path, "data.csv")

    def test_hash_one_is_deterministic_bytes(self):
        self.assertEqual(hash_one({"b": 1, "a": [1, 2]}), hash_one({"a": (1, 2), "b": 1}))
        self.assertNotEqual(hash_one([1]), hash_one([2]))
        self.assertEqual(len(hash_one("x")), 40)


class Unavailable(unittest.TestCase):
    def test_every_stand_in_raises_one_line_naming_the_alternative(self):
        stand_ins = {
            jug.utils.jug_execute: ("jug.utils.jug_execute runs a program outside the sandbox", "Python task function"),
            jug.utils.cached_glob: ("jug.utils.cached_glob lists the host's files", "jug.file(name)"),
            jug.io.NoLoad: ("jug.io.NoLoad passes a Task object into a task", "t.hash()"),
            jug.io.write_task_out: ("jug.io.write_task_out writes a result to a file", "jug-host value"),
            jug.io.write_metadata: ("jug.io.write_metadata", "jug_host"),
            jug.set_jugdir: ("jug.set_jugdir", "--store"),
            jug.init: ("jug.init", "jug_host.open"),
            jug.hooks.register_hook: ("jug.hooks.register_hook", "JUG_MAX_TASKS"),
            jug.hooks.exit_checks.exit_after_n_tasks: ("jug.hooks.exit_checks.exit_after_n_tasks", "JUG_MAX_TASKS=N"),
            jug.hooks.exit_checks.exit_after_time: ("jug.hooks.exit_checks.exit_after_time", "JUG_MAX_HOURS"),
            jug.hooks.exit_checks.exit_if_file_exists: ("jug.hooks.exit_checks.exit_if_file_exists", "JUG_EXIT_IF_FILE_EXISTS"),
            jug.hooks.execution.register_time_tasks: ("jug.hooks.execution.register_time_tasks", "summary"),
        }
        for function, (start, hint) in stand_ins.items():
            with self.subTest(function.__name__), self.assertRaises(jug.SandboxError) as caught:
                function(["ls"], check_exit=False)
            message = str(caught.exception)
            self.assertTrue(message.startswith(start), message)
            self.assertIn(hint, message)
            self.assertNotIn("\n", message)
            self.assertIsInstance(caught.exception, jug.JugError)
        self.assertIsNone(jug.hooks.exit_checks.exit_env_vars())

    def test_a_build_reports_it_with_the_script_line_and_no_traceback(self):
        define("""
            from jug.utils import jug_execute

            jug_execute(['cp', 'input', 'input.tmp'])
            """)
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr), self.assertRaises(Err) as caught:
            _runtime.build([])
        self.assertRegex(caught.exception.value, r"^jug.utils.jug_execute runs a program .*\(script\d+\.py, line 4\)$")
        self.assertEqual(stderr.getvalue(), "")

    def test_is_jug_running(self):
        for mode, running in (("native", False), ("define", True), ("build", True), ("run", True)):
            with self.subTest(mode), unittest.mock.patch.object(_state, "mode", mode):
                self.assertIs(jug.is_jug_running(), running)


if __name__ == "__main__":
    unittest.main()
