"""jug-py's identity per task function: what changes it, and what does not."""

import os
import shutil
import tempfile
import textwrap
import unittest

from jug_py import digest, entry

HERE = os.path.dirname(os.path.abspath(__file__))
RUNTIME = os.path.join(HERE, "..", "src", "jug")
WIT = os.path.join(HERE, "..", "..", "..", "wit")

SCRIPT = """\
from jug import TaskGenerator
import shapes

SCALE = 10


def helper(x):
    return x * SCALE


def only_for_area(x):
    return shapes.square_area(x)


@TaskGenerator
def first(x):
    return helper(x) + 1


@TaskGenerator
def second(x):
    return helper(x) + 2


@TaskGenerator
def area(x):
    return only_for_area(x)


@TaskGenerator
def alone(x):
    return x


values = [first(i) for i in range(3)]
second(values[0])
area(2)
alone(1)
"""

SHAPES = "def square_area(x):\n    return x * x\n"


class FunctionDigests(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="jug-py-functions-")
        self.write("graph.py", SCRIPT)
        self.write("shapes.py", SHAPES)

    def tearDown(self):
        shutil.rmtree(self.dir)

    def write(self, relative, text):
        with open(os.path.join(self.dir, relative), "w", encoding="utf-8") as f:
            f.write(text)

    def digests(self, versions=None):
        script = os.path.join(self.dir, "graph.py")
        trees = digest.bundle(script_path=script, sdk_runtime_dir=RUNTIME, python_path=[])
        return digest.function_digests(
            script_path=script, versions=versions or {"jug-py": "0"}, wit_dir=WIT,
            entry_template=entry.TEMPLATE, trees=trees,
        )  # fmt: skip

    def changed(self, edit=None, module=None, versions=None):
        """The functions whose identity an edit of the script (or of shapes.py) changes."""
        before = self.digests()
        if edit:
            self.write("graph.py", edit(SCRIPT))
        if module:
            self.write("shapes.py", module)
        after = self.digests(versions)
        self.write("graph.py", SCRIPT)
        self.write("shapes.py", SHAPES)
        return sorted(name for name in before if before[name] != after[name])

    def test_every_top_level_function_has_one(self):
        names = ["alone", "area", "first", "helper", "only_for_area", "second"]
        self.assertEqual(sorted(self.digests()), names)
        self.assertTrue(all(d.startswith("sha256:") for d in self.digests().values()))

    def test_editing_a_task_changes_that_task_only(self):
        self.assertEqual(self.changed(lambda s: s.replace("return x\n", "return x + 0\n")), ["alone"])

    def test_a_shared_helper_changes_both_callers_and_one_helper_one(self):
        self.assertEqual(self.changed(lambda s: s.replace("x * SCALE", "SCALE * x")), ["first", "helper", "second"])
        self.assertEqual(self.changed(lambda s: s.replace("SCALE = 10", "SCALE = 11")), ["first", "helper", "second"])
        self.assertEqual(self.changed(lambda s: s.replace("helper(x) + 1", "helper(x) + 3")), ["first"])

    def test_a_local_module_counts_for_the_functions_that_reach_it(self):
        self.assertEqual(self.changed(module="def square_area(x):\n    return x ** 2\n"), ["area", "only_for_area"])

    def test_the_graph_builder_moving_code_and_comments_change_nothing(self):
        self.assertEqual(self.changed(lambda s: s.replace("range(3)", "range(30)")), [])
        self.assertEqual(self.changed(lambda s: s.replace("area(2)", "area(3)\nalone(5)")), [])
        self.assertEqual(self.changed(lambda s: "# a comment\n\n\n" + s.replace("@TaskGenerator", "\n@TaskGenerator")), [])

    def test_a_toolchain_change_changes_every_function(self):
        self.assertEqual(len(self.changed(versions={"jug-py": "1"})), 6)

    def test_a_module_level_change_to_what_a_function_reads_counts(self):
        # A statement that mutates what `helper` reads, without assigning it.
        mutate = lambda s: s.replace("SCALE = 10\n", "SCALE = [10]\nSCALE.append(1)\n")  # noqa: E731
        before = self.digests()
        self.write("graph.py", mutate(SCRIPT))
        base = self.digests()
        self.write("graph.py", mutate(SCRIPT).replace("SCALE.append(1)", "SCALE.append(2)"))
        after = self.digests()
        self.assertNotEqual(before["helper"], base["helper"])
        self.assertEqual(sorted(n for n in base if base[n] != after[n]), ["first", "helper", "second"])

    def test_a_global_statement_keeps_the_module_binding(self):
        script = SCRIPT.replace("def helper(x):\n", "def helper(x):\n    global SCALE\n    SCALE = SCALE + 0\n")
        self.write("graph.py", script)
        before = self.digests()
        self.write("graph.py", script.replace("SCALE = 10", "SCALE = 12"))
        after = self.digests()
        self.assertEqual(sorted(n for n in before if before[n] != after[n]), ["first", "helper", "second"])

    def test_dynamic_lookups_count_the_whole_script(self):
        dynamic = SCRIPT.replace("return x\n", "return globals()['helper'](x)\n")
        self.write("graph.py", dynamic)
        before = self.digests()
        self.write("graph.py", dynamic.replace("x * SCALE", "SCALE * x"))
        after = self.digests()
        self.assertIn("alone", [n for n in before if before[n] != after[n]])

    def test_a_script_this_python_cannot_parse_declares_no_table(self):
        self.write("graph.py", "def f(:\n")
        self.assertEqual(self.digests(), {})


if __name__ == "__main__":
    unittest.main()
