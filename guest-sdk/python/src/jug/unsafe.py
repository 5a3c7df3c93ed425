"""Jug's `jug.unsafe`: `NoHash`, an argument the task's key ignores."""

from .task import NoHash

__all__ = ["NoHash"]
