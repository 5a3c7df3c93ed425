"""Jug's `jug.hooks.execution`: its timing report cannot be registered from a component."""

from .._unsupported import stand_in

__all__ = ["register_time_tasks"]

register_time_tasks = stand_in(
    "jug.hooks.execution.register_time_tasks",
    "registers a Python report in Jug's execute loop, which jug-host does not run in Python",
    "remove it: jug-host execute prints its own summary (and a progress bar with the rate on a terminal)",
)
