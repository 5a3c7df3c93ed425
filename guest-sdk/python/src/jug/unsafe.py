"""Jug's `jug.unsafe`: `NoHash`, an argument the task's key ignores."""

from ._wrappers import NoHash

__all__ = ["NoHash"]
