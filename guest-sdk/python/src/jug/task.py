"""Tasks, tasklets and task functions: Jug's `Task`, `TaskGenerator`, `t[i]`, `iteratetask`,
`value`/`bvalue`/`barrier`, and the argument wrappers `NoHash`, `CustomHash` and `file`.

Calling a task generator while jug-host builds the graph declares a task (`graph.declare`)
and returns a `Task` holding its key; the task's arguments are sent as deterministic CBOR in
which every `Task` (or part of one) is a reference, tag 27253 around its key.
"""

import functools
import inspect
import os

from . import _cbor, _state
from ._errors import BarrierError, JugError
from ._host import Err, error_text, graph

_P = inspect.Parameter
_POSITIONAL = (_P.POSITIONAL_ONLY, _P.POSITIONAL_OR_KEYWORD)
_KEYWORD = (_P.KEYWORD_ONLY, _P.VAR_KEYWORD)


class TaskFunction:
    """A function tasks can run, registered under its `__name__` (the task name without the
    component's stem): how its arguments are laid out in the declared argument array."""

    __slots__ = ("name", "f", "origin", "signature", "has_keywords", "unary")

    def __init__(self, name, f, origin):
        self.name = name
        self.f = f
        self.origin = origin
        try:
            self.signature = inspect.signature(f)
        except (TypeError, ValueError) as e:
            raise JugError(f"task function {name}: cannot read its signature ({e})") from None
        kinds = [p.kind for p in self.signature.parameters.values()]
        # Keyword-only parameters and **kwargs travel in one trailing map.
        self.has_keywords = any(kind in _KEYWORD for kind in kinds)
        # One positional parameter: a `<name>.map` item is the argument itself, not an array.
        self.unary = len(kinds) == 1 and kinds[0] in _POSITIONAL

    def declared_args(self, args, kwargs):
        """The argument array of `f(*args, **kwargs)`: the positional arguments, defaults
        applied, then (if `f` takes keyword-only arguments or **kwargs) a map of those."""
        try:
            bound = self.signature.bind(*args, **kwargs)
        except TypeError as e:
            raise TypeError(f"{self.name}(): {e}") from None
        bound.apply_defaults()
        positional, keywords = [], {}
        for parameter in self.signature.parameters.values():
            value = bound.arguments[parameter.name]
            if parameter.kind in _POSITIONAL:
                positional.append(value)
            elif parameter.kind is _P.VAR_POSITIONAL:
                positional.extend(value)
            elif parameter.kind is _P.KEYWORD_ONLY:
                keywords[parameter.name] = value
            else:
                keywords.update(value)
        if self.has_keywords:
            positional.append(keywords)
        return positional

    def call(self, args):
        """Calls `f` on a decoded argument array."""
        if self.has_keywords:
            return self.f(*args[:-1], **args[-1])
        return self.f(*args)

    def call_item(self, item):
        """Calls `f` on one item of a `<name>.map` batch."""
        return self.f(item) if self.unary else self.call(item)

    def where(self):
        return _where(self.origin)


def _where(origin):
    return f"{os.path.basename(origin[0])}:{origin[1]}"


def _origin(f):
    code = getattr(f, "__code__", None)
    if code is None or not callable(f):
        raise JugError(f"{f!r} cannot be a task function: task functions are functions defined with `def`")
    return (code.co_filename, code.co_firstlineno)


def register(f):
    """The `TaskFunction` of `f`, registering it if this is its first definition."""
    if isinstance(f, TaskGenerator):
        return f._function
    if isinstance(f, functools.partial):
        raise JugError("a functools.partial cannot be a task function: define a function with `def`")
    origin = _origin(f)
    name = f.__name__
    if name == "<lambda>":
        raise JugError("a lambda cannot be a task function: tasks are named after their function, use `def`")
    existing = _state.registry.get(name)
    if existing is not None:
        if existing.origin == origin:
            return existing
        raise JugError(
            f"two different task functions are named `{name}` ({existing.where()} and {_where(origin)}): "
            "tasks are named after their function, so the names must be unique"
        )
    if _state.mode in ("build", "run"):
        script_function = script_function_named(name)
        if script_function is None or _origin(script_function) != origin:
            raise JugError(
                f"task function `{name}` ({_where(origin)}) did not exist when the component was built: "
                "define task functions at the top level of the script or of a module it imports at top level"
            )
        function = TaskFunction(name, script_function, origin)
    else:
        function = TaskFunction(name, f, origin)
    _state.registry[name] = function
    return function


def script_function_named(name):
    """A plain function defined at the top level of the script (as pre-initialised), which
    `Task(f, ...)` may use without `@TaskGenerator`."""
    script = _state.script
    if script is None:
        return None
    candidate = script.namespace.get(name)
    if inspect.isfunction(candidate) and candidate.__name__ == name:
        return candidate
    return None


def lookup(name):
    """The task function `run` calls for `name` (without `.map`/`.reduce`), or None."""
    function = _state.registry.get(name)
    if function is None:
        script_function = script_function_named(name)
        if script_function is not None:
            function = TaskFunction(name, script_function, _origin(script_function))
            _state.registry[name] = function
    return function


def _declare(function, args, component=None):
    """Declares `function(args)` to the host and returns its key (None outside a build)."""
    mode = _state.mode
    if mode == "run":
        raise JugError(f"cannot declare task {function} inside a task: tasks are declared while the graph is built")
    if mode != "build":
        return None
    what = f"an argument of task {function}"
    template = _cbor.plain(args, what, functools.partial(_argument, what))
    data = _cbor.encode(template)
    try:
        if component is None:
            key = graph.declare(function, data)
        else:
            key = graph.declare_in(component, function, data)
    except Err as e:
        raise JugError(f"cannot declare task {function}: {error_text(e)}") from None
    return bytes(key)


def _argument(what, value):
    """The CBOR template of an SDK object inside an argument (a task, a part of one, ...)."""
    if isinstance(value, (Task, Tasklet)):
        return value._reference()
    if isinstance(value, NoHash):
        return _cbor.tag(_cbor.KEY_EXEMPT_TAG, _cbor.plain(value.value, f"{what} (inside NoHash)"))
    if isinstance(value, CustomHash):
        inner = _cbor.plain(value.value, f"{what} (inside CustomHash)")
        return _cbor.tag(_cbor.CUSTOM_KEY_TAG, [value.hash_bytes(), inner])
    if isinstance(value, InputFile):
        if value.digest is None:
            raise JugError(f"{what}: jug.file({value.path!r}) was called before the graph was built")
        return _cbor.tag(_cbor.FILE_INPUT_TAG, [value.path, value.digest])
    if isinstance(value, TaskGenerator):
        raise JugError(f"{what} contains the task generator {value.__name__} itself; call it to get a task")
    return NotImplemented


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
        return value(self)

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
        return value(self)

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


def iteratetask(task, n):
    """Jug's `iteratetask`: the first `n` elements of a task's (list) result, one tasklet each,
    so that `a, b = iteratetask(t, 2)` works."""
    return tuple(task[i] for i in range(n))


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


class NoHash:
    """Jug's `NoHash`: the task gets `value`, but its key ignores it (a thread count, a log
    level): changing it re-runs nothing."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


class CustomHash:
    """Jug's `CustomHash(value, hash_function)`: the task gets `value` and its key depends on
    `hash_function(value)` (bytes or str) instead. `hash` may also be the bytes or str itself."""

    __slots__ = ("value", "hash")

    def __init__(self, value, hash):
        self.value = value
        self.hash = hash

    def hash_bytes(self):
        digest = self.hash(self.value) if callable(self.hash) else self.hash
        if isinstance(digest, str):
            digest = digest.encode()
        if not isinstance(digest, (bytes, bytearray)):
            raise JugError(f"a CustomHash hash must be bytes or str, got {type(digest).__name__}")
        return bytes(digest)


class InputFile:
    """A file of the working directory as a task input (see `file`)."""

    __slots__ = ("path", "digest")

    def __init__(self, path, digest):
        self.path = path
        self.digest = digest

    def __repr__(self):
        return f"jug.file({self.path!r})"


def file(path):
    """A file of the working directory as a task input: the task receives the path at which
    it can read it (read-only), and the task's key holds the file's content digest, so
    editing the file re-runs exactly the tasks that read it."""
    path = os.fspath(path)
    if _state.mode != "build":
        return InputFile(path, None)
    try:
        digest = graph.input_file(path)
    except Err as e:
        raise JugError(error_text(e)) from None
    return InputFile(path, bytes(digest))


IDENTITY = "jug.identity"


def identity(x):
    """Jug's `jug.utils.identity`: a task whose result is `x` (hashes a big argument once)."""
    return Task._declared(IDENTITY, _declare(IDENTITY, [x]))


class _ComponentFunction:
    def __init__(self, component, name):
        self.component = component
        self.__name__ = name

    def __call__(self, *args, **kwargs):
        if kwargs:
            raise JugError(
                f"{self.component.stem}.{self.__name__}(): a function of another component takes positional arguments only"
            )
        key = _declare(self.__name__, list(args), component=self.component.path)
        return Task._declared(f"{self.component.stem}.{self.__name__}", key)

    def __repr__(self):
        return f"<task function {self.__name__} of {self.component.path}>"


class component:
    """Task functions of another component (a library, possibly in another language):
    `stats = jug.component("stats.wasm")`, then `stats.mean(xs)` declares a task named
    `stats.mean`, keyed by that component's code. The path is relative to the directory of
    the component being built. Arguments are positional, in the library's declared order."""

    def __init__(self, path):
        self.path = os.fspath(path)
        base = os.path.basename(self.path)
        self.stem = base[: -len(".wasm")] if base.endswith(".wasm") else base

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _ComponentFunction(self, name)

    def __getitem__(self, name):
        return _ComponentFunction(self, name)

    def __repr__(self):
        return f"jug.component({self.path!r})"
