"""Jug's `jug.hooks`: Python callbacks that Jug's execute loop runs. jug-host's loop is not
Python and does not run in the component, so registering one says so; `exit_checks` has
Jug's early-exit hooks and `execution` its timing report."""

from .._unsupported import stand_in

__all__ = ["jug_hook", "register_hook", "register_hook_once", "reset_all_hooks"]

_PROBLEM = "registers Python code to run in Jug's execute loop, which jug-host's (not Python) cannot run"
_INSTEAD = (
    "for early exit set JUG_MAX_TASKS, JUG_MAX_HOURS/MINUTES/SECONDS or JUG_EXIT_IF_FILE_EXISTS "
    "in jug-host execute's environment; do other work in tasks"
)

jug_hook = stand_in("jug.hooks.jug_hook", _PROBLEM, _INSTEAD)
register_hook = stand_in("jug.hooks.register_hook", _PROBLEM, _INSTEAD)
register_hook_once = stand_in("jug.hooks.register_hook_once", _PROBLEM, _INSTEAD)
reset_all_hooks = stand_in("jug.hooks.reset_all_hooks", _PROBLEM, _INSTEAD)
