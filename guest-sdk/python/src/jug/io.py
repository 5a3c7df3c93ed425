"""Jug's `jug.io`: importable, but a component cannot write results to host files or pass a
task object into a task, so `NoLoad`, `write_task_out` and `write_metadata` say what to do
instead when called."""

from ._unsupported import stand_in

__all__ = ["NoLoad", "write_metadata", "write_task_out"]

NoLoad = stand_in(
    "jug.io.NoLoad",
    "passes a Task object into a task, but only values cross into a task's sandbox",
    "pass the task itself (the task gets its result), or t.hash() if the task needs the key",
)

_READ_RESULTS = (
    "read results with `jug-host value` (--cbor) or the jug_host Python package, or write the "
    "file from a task given jug.directory('out', writable=True)"
)

write_task_out = stand_in("jug.io.write_task_out", "writes a result to a file of the host", _READ_RESULTS)

write_metadata = stand_in("jug.io.write_metadata", "writes a task's metadata to a file of the host", _READ_RESULTS)
