"""Jug's `jug.hooks.exit_checks`: jug-host reads Jug's early-exit settings from the
environment of `jug-host execute`, always (Jug's `exit_env_vars`), so each hook names its
variable instead of registering a Python check."""

from .._unsupported import stand_in

__all__ = ["exit_after_n_tasks", "exit_after_time", "exit_env_vars", "exit_if_file_exists", "exit_when_true"]

_PROBLEM = "registers a Python check in Jug's execute loop, which jug-host does not run in Python"


def exit_env_vars(environ=None):
    """Jug's `exit_env_vars()`: jug-host always reads `JUG_MAX_TASKS`, `JUG_MAX_HOURS`,
    `JUG_MAX_MINUTES`, `JUG_MAX_SECONDS` and `JUG_EXIT_IF_FILE_EXISTS` (unless
    `--no-check-environment`), so this does nothing."""


exit_after_n_tasks = stand_in(
    "jug.hooks.exit_checks.exit_after_n_tasks", _PROBLEM, "run `JUG_MAX_TASKS=N jug-host execute ...`"
)
exit_after_time = stand_in(
    "jug.hooks.exit_checks.exit_after_time",
    _PROBLEM,
    "set JUG_MAX_HOURS, JUG_MAX_MINUTES and/or JUG_MAX_SECONDS for jug-host execute",
)
exit_if_file_exists = stand_in(
    "jug.hooks.exit_checks.exit_if_file_exists", _PROBLEM, "run `JUG_EXIT_IF_FILE_EXISTS=FILE jug-host execute ...`"
)
exit_when_true = stand_in(
    "jug.hooks.exit_checks.exit_when_true",
    _PROBLEM,
    "stop with JUG_MAX_TASKS, JUG_MAX_HOURS/MINUTES/SECONDS or JUG_EXIT_IF_FILE_EXISTS, or SIGTERM",
)
