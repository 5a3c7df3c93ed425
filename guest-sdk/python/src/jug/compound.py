"""Jug's `jug.compound`: `CompoundTask(f, *args, **kwargs)` and `@CompoundTaskGenerator`.

`f` builds a sub-graph and returns the task (or a structure of tasks) whose result is the
compound task's. The host keys the compound task by `f`'s name and arguments, as Jug keys the
task `f(*args)`, and says whether its result is stored (`graph.compound`): if it is, `f` is not
called at all, so its sub-graph leaves the graph (`status` shows the compound task alone) and
tasks that take the compound task keep their keys. Else `f` runs now, in the graph code, and
the compound task's result is that of what it returned (`graph.declare-compound`).

As in Jug, the sub-graph must follow from the arguments alone. The arguments may be anything
a task takes, tasks too (`f` gets the `Task`, as in Jug, and may pass it on or read it with
`value`); a task argument enters the key by its key. The key also covers the component's code
as a whole: after any edit of the script the sub-graph is declared again, once, and its tasks
(keyed by their own functions) are loaded rather than run.
"""

import functools

from . import _state
from ._errors import JugError
from ._functions import TaskFunction
from ._host import Err, error_text, graph
from .task import Task, encode_arguments, identity


def CompoundTask(f, *args, **kwargs):
    """Jug's `CompoundTask(f, *args, **kwargs)`: a task whose result is that of the task `f`
    returns (or of the list, tuple or dict of tasks it returns); `f` is only called while that
    result is not stored. The task is named after `f` (`__name__`)."""
    function = _compound_function(f)
    mode = _state.mode
    if mode == "run":
        raise JugError(
            f"cannot declare compound task {function.name} inside a task: tasks are declared while the graph is built"
        )
    declared = function.declared_args(args, kwargs)
    if mode != "build":
        # Placeholders (define mode, plain CPython): `f` still runs, so that everything its
        # sub-graph uses is defined and imported when the component is built.
        f(*args, **kwargs)
        return Task._declared(function.name, None)
    data = encode_arguments(declared, f"an argument of compound task {function.name}")
    key, stored = _host_call(function.name, graph.compound, function.name, data)
    inner = None if stored else _final_key(function.name, f(*args, **kwargs))
    # The key declared may differ from the one asked about: it covers the libraries the
    # sub-graph used (`jug.component`).
    key = _host_call(function.name, graph.declare_compound, bytes(key), inner)
    return Task._declared(function.name, bytes(key))


def _compound_function(f):
    if isinstance(f, CompoundTaskGenerator):
        f = f.f
    name = getattr(f, "__name__", None)
    if not callable(f) or not isinstance(name, str) or name == "<lambda>":
        raise JugError(f"CompoundTask: {f!r} cannot name a compound task: pass a function defined with `def`")
    # Never registered: `f` runs in the graph code, never as a task. This only lays out its
    # arguments as a task's would be.
    return TaskFunction(name, f, None)


def _final_key(name, result):
    """The key of the task whose result the compound task's is: `result` itself if it is a
    task, else (a tasklet, a structure holding tasks, Jug allows both) a `jug.identity` task
    of it."""
    if not isinstance(result, Task):
        result = identity(result)
    if result.key is None:
        raise JugError(f"compound task {name}: its function returned a task that was not declared in this build")
    return result.key


def _host_call(name, call, *args):
    try:
        return call(*args)
    except Err as e:
        raise JugError(f"cannot declare compound task {name}: {error_text(e)}") from None


class CompoundTaskGenerator:
    """Jug's `@CompoundTaskGenerator`: calling the decorated function declares
    `CompoundTask(f, *args, **kwargs)` instead of running it."""

    def __init__(self, f):
        functools.update_wrapper(self, f)
        self.f = f

    def __call__(self, *args, **kwargs):
        return CompoundTask(self.f, *args, **kwargs)

    def __repr__(self):
        return f"CompoundTaskGenerator({self.__name__})"


__all__ = ["CompoundTask", "CompoundTaskGenerator"]
