"""Limits for one task, in place of `jug-host execute`'s `--timeout`, `--fuel` and
`--max-memory` for it: a task known to be long, or one that must never be.

```python
fit = train(data).with_limits(timeout=3600)              # an hour, whatever --timeout says
jug.limits(probe(x), fuel=10**9, max_memory=512 << 20)   # the same, as a function
```

`timeout` is wall time in seconds (int, float or `datetime.timedelta`), sent to the host in
whole milliseconds; `fuel` is instructions, counted the same on every machine; `max_memory`
is bytes. `None` keeps the command line's limit. Calling it again on the same task replaces
all three. Limits are not part of the key: they decide whether a task finishes, not what it
returns. While the component is pre-initialised (define mode) or outside a component, the
task is a placeholder and this only checks the values.
"""

import datetime
import math

from . import _state
from ._errors import JugError
from ._host import Err, error_text, graph
from .task import Task, Tasklet, _placeholder_message

_U64 = 1 << 64


def _timeout_ms(timeout, where):
    if timeout is None:
        return None
    if isinstance(timeout, datetime.timedelta):
        seconds = timeout.total_seconds()
    elif isinstance(timeout, (int, float)) and not isinstance(timeout, bool):
        seconds = timeout
    else:
        raise JugError(f"{where}: timeout is a number of seconds (or a timedelta), not {timeout!r}")
    if not math.isfinite(seconds) or seconds < 0.001:
        raise JugError(f"{where}: timeout is at least 0.001 seconds (1 ms), not {timeout!r}")
    ms = round(seconds * 1000)
    if ms >= _U64:
        raise JugError(f"{where}: timeout {timeout!r} is too long")
    return ms


def _count(value, name, least, unit, where):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise JugError(f"{where}: {name} is a whole number of {unit}, not {value!r}")
    if not least <= value < _U64:
        raise JugError(f"{where}: {name} is from {least} to 2**64 - 1 {unit}, not {value!r}")
    return value


def limits(task, *, timeout=None, fuel=None, max_memory=None):
    """Gives `task` limits of its own, in place of `jug-host execute`'s `--timeout` (seconds:
    int, float or timedelta), `--fuel` (instructions) and `--max-memory` (bytes); `None` keeps
    the command's. Returns the task, so `t = f(x).with_limits(...)` reads naturally."""
    if isinstance(task, Tasklet):
        raise JugError(f"limits are set on a whole task, not on a part of its result: {task!r}")
    if not isinstance(task, Task):
        raise JugError(f"jug.limits(t, …): t must be a Task, not {task!r}")
    where = f"the limits of task {task.name}"
    timeout_ms = _timeout_ms(timeout, where)
    fuel = _count(fuel, "fuel", 0, "instructions", where)
    max_memory = _count(max_memory, "max_memory", 1, "bytes", where)
    mode = _state.mode
    if mode == "run":
        raise JugError(f"cannot set {where} inside a task: limits are set while the graph is built")
    if mode != "build":
        return task  # a placeholder: nothing was declared
    if task.key is None:
        raise JugError(_placeholder_message(task.name))
    try:
        graph.set_limits(task.key, graph.TaskLimits(timeout_ms=timeout_ms, fuel=fuel, max_memory=max_memory))
    except Err as e:
        raise JugError(f"cannot set {where}: {error_text(e)}") from None
    return task
