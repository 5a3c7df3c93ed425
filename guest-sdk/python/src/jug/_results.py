"""Results while the graph is built: Jug's `value`, `bvalue` and `barrier`, for graphs that
depend on results.

Where a result the graph needs is not stored yet, these raise `BarrierError`: the build stops
there, `jug-host execute` runs what was declared and builds again, further each time. While
the component is pre-initialised (define mode) there is no host to ask, so they stop at once.
"""

from . import _cbor, _state
from ._errors import BarrierError, JugError
from ._host import graph
from ._wrappers import CustomHash, NoHash
from .task import Task, Tasklet, _placeholder_message


def _stored(task):
    mode = _state.mode
    if mode == "define":
        raise BarrierError()
    if mode != "build":
        raise JugError(f"the result of {task.name} can only be read while the graph is built")
    if task.key is None:
        raise JugError(_placeholder_message(task.name))
    data = graph.value(task.key)
    if data is None:
        raise BarrierError()
    return _cbor.decode(bytes(data))


def value(obj):
    """Jug's `value`: `obj` with every task (also inside lists, tuples and dicts) replaced by
    its stored result. While the graph is built and a result is not stored yet, raises
    `BarrierError`, which stops the build there (as `barrier()` does)."""
    if isinstance(obj, Task):
        return _stored(obj)
    if isinstance(obj, Tasklet):
        result = _stored(obj.task)
        for step in obj.path:
            result = result[step]
        return result
    if isinstance(obj, list):
        return [value(item) for item in obj]
    if isinstance(obj, tuple):
        return tuple(value(item) for item in obj)
    if isinstance(obj, dict):
        return {key: value(item) for key, item in obj.items()}
    if isinstance(obj, (NoHash, CustomHash)):
        return value(obj.value)
    return obj


def bvalue(obj):
    """Jug's `bvalue`: the stored result of `obj` (see `value`); the build stops here until
    it is stored."""
    return value(obj)


def barrier():
    """Jug's `barrier`: stops the build here unless every task declared so far has a result."""
    mode = _state.mode
    if mode == "define":
        raise BarrierError()
    if mode == "build" and not graph.barrier():
        raise BarrierError()


def CachedFunction(f, *args, **kwargs):
    """Jug's `CachedFunction(f, *args, **kwargs)`: the result of `f(*args, **kwargs)` as a
    value in the graph code, computed once as the task `Task(f, *args, **kwargs)` and stored.

    Jug runs that task right there, in the builder; here the graph is built inside the
    sandbox, which cannot run tasks, so this is `value(Task(f, ...))`: until the result is
    stored the build stops here (a barrier), `jug-host execute` runs the task with the others
    declared before it and builds again, and from then on the stored result is returned. So
    `status` and `count` see the graph up to this call until it has run once."""
    return value(Task(f, *args, **kwargs))
