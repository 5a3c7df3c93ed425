"""Tasks: Jug's `Task`, `TaskGenerator`, `t[i]` (a `Tasklet`), `iteratetask` and `identity`.

Calling a task generator while jug-host builds the graph declares a task (`graph.declare`)
and returns a `Task` holding its key; the task's arguments are sent as deterministic CBOR in
which every `Task` (or part of one) is a reference, tag 27253 around its key.

A task, its parts and its generator refer to one another (and declaring a task encodes all
three), so they live here together; the task functions they name are in `_functions`, the
argument wrappers in `_wrappers`, reading results (`value`, `bvalue`, `barrier`) in
`_results`, and a task's own limits (`with_limits`) in `_limits`.
"""

import functools

from . import _cbor, _state
from ._errors import JugError
from ._functions import register_function
from ._host import Err, error_text, graph
from ._wrappers import CustomHash, Directory, InputFile, NoHash


def register(f):
    """The `TaskFunction` of `f` (a task generator or a function), registering it if this is
    its first definition."""
    if isinstance(f, TaskGenerator):
        return f._function
    return register_function(f)


def _declare(function, args, component=None):
    """Declares `function(args)` to the host and returns its key (None outside a build)."""
    mode = _state.mode
    if mode == "run":
        raise JugError(f"cannot declare task {function} inside a task: tasks are declared while the graph is built")
    if mode != "build":
        return None
    data = encode_arguments(args, f"an argument of task {function}")
    try:
        if component is None:
            key = graph.declare(function, data)
        else:
            key = graph.declare_in(component, function, data)
    except Err as e:
        raise JugError(f"cannot declare task {function}: {error_text(e)}") from None
    return bytes(key)


def encode_arguments(args, what):
    """The deterministic CBOR of an argument array in which tasks are references and the
    wrappers their tags (see `_argument`); `what` names an argument in errors."""
    return _cbor.encode(_cbor.plain(args, what, functools.partial(_argument, what)))


def _argument(what, value):
    """The CBOR template of an SDK object inside an argument (a task, a part of one, ...)."""
    if isinstance(value, (Task, Tasklet)):
        return value._reference()
    if isinstance(value, NoHash):
        inside = f"{what} (inside NoHash)"
        return _cbor.tag(_cbor.KEY_EXEMPT_TAG, _cbor.plain(value.value, inside, _grant_refused(inside)))
    if isinstance(value, CustomHash):
        inside = f"{what} (inside CustomHash)"
        inner = _cbor.plain(value.value, inside, _grant_refused(inside))
        return _cbor.tag(_cbor.CUSTOM_KEY_TAG, [value.hash_bytes(), inner])
    if isinstance(value, InputFile):
        if value.digest is None:
            raise JugError(f"{what}: jug.file({value.path!r}) was called before the graph was built")
        return _cbor.tag(_cbor.FILE_INPUT_TAG, [value.path, value.digest])
    if isinstance(value, Directory):
        # Deterministic: an array of exactly these three, in this order; all of it is keyed.
        return _cbor.tag(_cbor.DIR_GRANT_TAG, [value.path, value.guest, value.writable])
    if isinstance(value, TaskGenerator):
        raise JugError(f"{what} contains the task generator {value.__name__} itself; call it to get a task")
    return NotImplemented


def _grant_refused(what):
    """Inside NoHash and CustomHash only plain values go: a directory grant there (which the
    key would not see) is refused with a message that says so."""

    def refuse(value):
        if isinstance(value, Directory):
            raise JugError(f"{what} contains {value!r}: a directory grant is only a plain task argument")
        return NotImplemented

    return refuse


class Task:
    """A task declared in the graph: Jug's `Task(f, *args, **kwargs)`, what a
    `@TaskGenerator` function returns. Pass it (or a list, tuple or dict holding it) to
    another task and that task receives its result. `t[i]` / `t['name']` is a part of the
    result (a `Tasklet`)."""

    def __init__(self, f, *args, **kwargs):
        function = register(f)
        self.f = function.f
        self.name = function.name
        self.args = args
        self.kwargs = kwargs
        self.key = _declare(function.name, function.declared_args(args, kwargs))

    @classmethod
    def _declared(cls, name, key):
        task = object.__new__(cls)
        task.f = None
        task.name = name
        task.args = ()
        task.kwargs = {}
        task.key = key
        return task

    def _reference(self):
        if self.key is None:
            raise JugError(_placeholder_message(self.name))
        return _cbor.tag(_cbor.TASK_REF_TAG, self.key)

    def hash(self):
        """The task's key, in hex (Jug's `Task.hash()`)."""
        return self.key.hex() if self.key is not None else None

    def value(self):
        """The stored result (see `jug.value`)."""
        return _results.value(self)

    def with_limits(self, *, timeout=None, fuel=None, max_memory=None):
        """This task, with limits of its own in place of `jug-host execute`'s `--timeout`
        (seconds: int, float or timedelta), `--fuel` (instructions) and `--max-memory`
        (bytes); `None` keeps the command's. Not part of the key. See `jug.limits`."""
        return _limits.limits(self, timeout=timeout, fuel=fuel, max_memory=max_memory)

    def __getitem__(self, step):
        return Tasklet(self, step)

    def __iter__(self):
        raise TypeError(
            f"a Task ({self.name}) cannot be iterated while the graph is built: "
            "use jug.iteratetask(t, n) for its first n elements, or bvalue(t) for the result"
        )

    def __repr__(self):
        key = self.key.hex()[:16] + "…" if self.key is not None else "not declared"
        return f"Task({self.name}, key {key})"


class Tasklet:
    """A part of a task's result, Jug's `t[0]` / `t['key']`: passed to a task, that task gets
    the part. Nothing is stored for it; steps are list indexes (int >= 0) or map keys (str)."""

    def __init__(self, base, step):
        if type(step) is not str and (type(step) is not int or step < 0):
            raise JugError(f"a part of a task's result is taken by an index (int >= 0) or a key (str), not {step!r}")
        if isinstance(base, Tasklet):
            self.task, self.path = base.task, base.path + (step,)
        else:
            self.task, self.path = base, (step,)

    @property
    def name(self):
        return self.task.name

    @property
    def key(self):
        return self.task.key

    def _reference(self):
        if self.task.key is None:
            raise JugError(_placeholder_message(self.task.name))
        return _cbor.tag(_cbor.TASK_REF_TAG, [self.task.key, *self.path])

    def value(self):
        return _results.value(self)

    def __getitem__(self, step):
        return Tasklet(self, step)

    def __iter__(self):
        raise TypeError("a Tasklet cannot be iterated while the graph is built: use jug.iteratetask(t, n)")

    def __repr__(self):
        steps = "".join(f"[{step!r}]" for step in self.path)
        return f"Tasklet({self.task!r}{steps})"


def _placeholder_message(name):
    return (
        f"a task {name} declared while the component was being built (at import time of a module?) "
        "is used in the graph: declare tasks in the script's own top-level code"
    )


class TaskGenerator:
    """Jug's `@TaskGenerator`: calling the decorated function declares a task and returns
    its `Task` instead of running it. The task is named after the function (`__name__`)."""

    def __init__(self, f):
        self._function = register(f)
        functools.update_wrapper(self, f)
        self.f = f

    def __call__(self, *args, **kwargs):
        return Task(self, *args, **kwargs)

    def __repr__(self):
        return f"TaskGenerator({self.__name__})"


class _TupleTaskGenerator(TaskGenerator):
    """A task generator under `return_tuple(n)`: a call gives the task's `n` parts."""

    def __init__(self, f, n):
        super().__init__(f)
        self._function.expect_outputs(n)
        self.n = n

    def __call__(self, *args, **kwargs):
        return iteratetask(Task(self, *args, **kwargs), self.n)

    def __repr__(self):
        return f"return_tuple({self.n})(TaskGenerator({self.__name__}))"


def return_tuple(n):
    """Jug's `jug.task.return_tuple(n)`, a decorator over a `@TaskGenerator` whose function
    returns a tuple of `n` values: calling it gives a tuple of `n` tasklets, so that
    `a, b = f(x)` works and `a` and `b` can be passed to other tasks (each gets its part).

        @return_tuple(2)
        @TaskGenerator
        def split(xs):
            return xs[::2], xs[1::2]

    The size is checked when the task runs: returning another number of values fails it."""
    if type(n) is not int or n < 0:
        raise JugError(f"return_tuple(n): n is the number of values the function returns, an int >= 0, not {n!r}")

    def wrapper(generator):
        if isinstance(generator, TaskGenerator):
            return _TupleTaskGenerator(generator.f, n)
        if not callable(generator):
            raise JugError(f"return_tuple({n}) decorates a task generator, not {generator!r}")

        # Anything else that returns a task (Jug allows it): its result is split, unchecked.
        @functools.wraps(generator)
        def split(*args, **kwargs):
            return iteratetask(generator(*args, **kwargs), n)

        return split

    return wrapper


def iteratetask(task, n):
    """Jug's `iteratetask`: the first `n` elements of a task's (list) result, one tasklet each,
    so that `a, b = iteratetask(t, 2)` works."""
    return tuple(task[i] for i in range(n))


IDENTITY = "jug.identity"


def identity(x):
    """Jug's `jug.utils.identity`: a task whose result is `x` (hashes a big argument once)."""
    return Task._declared(IDENTITY, _declare(IDENTITY, [x]))


# Imported last: `_results` and `_limits` need `Task` and `Tasklet` from this module, which
# `value()` and `with_limits()` above need back.
from . import _limits, _results  # noqa: E402
from ._results import CachedFunction  # noqa: E402, F401 (Jug's `jug.task.CachedFunction`)
