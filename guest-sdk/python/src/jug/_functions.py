"""Task functions: the functions a component's tasks can run, registered by name.

A task is named after its function, and runs in a fresh copy of the pre-initialised instance,
so a function can only be a task function if it exists, under a name no other one has, when
the component is built. This module keeps that registry (`_state.registry`), refuses what
would break it, and knows how a call's arguments are laid out in the declared argument array
and how `run` calls the function on them again.
"""

import functools
import inspect
import os

from . import _state
from ._errors import JugError

_P = inspect.Parameter
_POSITIONAL = (_P.POSITIONAL_ONLY, _P.POSITIONAL_OR_KEYWORD)
_KEYWORD = (_P.KEYWORD_ONLY, _P.VAR_KEYWORD)


class TaskFunction:
    """A function tasks can run, registered under its `__name__` (the task name without the
    component's stem): how its arguments are laid out in the declared argument array."""

    __slots__ = ("name", "f", "origin", "signature", "has_keywords", "unary", "outputs")

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
        # `return_tuple(n)`: the size of the tuple every call must return, checked as it runs.
        self.outputs = None

    def expect_outputs(self, n):
        """Marks `f` as returning a tuple of `n` results (`return_tuple(n)`)."""
        if self.outputs not in (None, n):
            raise JugError(
                f"return_tuple({n}) on task function {self.name}, which has return_tuple({self.outputs}) "
                "already: a function returns one size of tuple"
            )
        self.outputs = n

    def _checked(self, result):
        n = self.outputs
        if n is not None and (not isinstance(result, (list, tuple)) or len(result) != n):
            got = len(result) if isinstance(result, (list, tuple)) else f"a single {type(result).__name__}"
            raise ValueError(
                f"{self.name} is declared with return_tuple({n}), so it must return {n} values; it returned {got}"
            )
        return result

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
            return self._checked(self.f(*args[:-1], **args[-1]))
        return self._checked(self.f(*args))

    def call_item(self, item):
        """Calls `f` on one item of a `<name>.map` batch."""
        return self._checked(self.f(item)) if self.unary else self.call(item)

    def where(self):
        return _where(self.origin)


def _where(origin):
    return f"{os.path.basename(origin[0])}:{origin[1]}"


def _origin(f):
    code = getattr(f, "__code__", None)
    if code is None or not callable(f):
        raise JugError(f"{f!r} cannot be a task function: task functions are functions defined with `def`")
    return (code.co_filename, code.co_firstlineno)


def register_function(f):
    """The `TaskFunction` of the plain function `f`, registering it if this is its first
    definition (`task.register` also takes a task generator)."""
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
