"""Task functions of another component, `jug.component("stats.wasm").mean(xs)`: tasks that
this script declares but another component (a library, possibly in another language) runs.

There is no Python function to register or inspect, so these declare by name
(`graph.declare_in`), with positional arguments only.
"""

import os

from ._errors import JugError
from .task import Task, _declare


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
