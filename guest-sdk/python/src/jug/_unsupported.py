"""Stand-ins for the parts of Jug's API that cannot work in a jug-host component.

A Jug script that imports `jug_execute`, `jug.io.write_task_out` or an exit hook should build
(importing works), and fail where it calls one, with one line saying what cannot work and what
to do instead rather than an AttributeError or an ImportError. `_runtime.build` reports a
`SandboxError` with its script line and without a traceback: the message is the whole story.
"""

from ._errors import JugError


class SandboxError(JugError):
    """A part of Jug's API that a jug-host component cannot have was called."""


SandboxError.__module__ = "jug"


def stand_in(name, problem, instead):
    """A function in place of Jug's `name` (its last component is the function's name):
    calling it raises `SandboxError("<name> <problem>; <instead>")`, in any mode."""
    message = f"{name} {problem}; {instead}"

    def unavailable(*args, **kwargs):
        raise SandboxError(message)

    unavailable.__name__ = unavailable.__qualname__ = name.rpartition(".")[2]
    unavailable.__doc__ = f"Not available in a jug-host component: {message}."
    return unavailable
