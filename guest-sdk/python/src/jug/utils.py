"""Jug's `jug.utils`: `identity`, `CustomHash`, `timed_path` and `sync_move` work;
`jug_execute` and `cached_glob` import, and say why they cannot work when called."""

import os

from ._unsupported import stand_in
from ._wrappers import CustomHash, file
from .task import identity

__all__ = ["CustomHash", "cached_glob", "identity", "jug_execute", "sync_move", "timed_path"]


def timed_path(path):
    """Jug's `timed_path(path)`: a file as a task input, which re-runs its tasks when the file
    changes. Here it is `jug.file(path)`: the key holds a digest of the file's *content*, not
    its mtime and size as in Jug, so editing the file re-runs exactly the tasks that read it
    and touching it re-runs nothing; the task receives a path at which it can read the file."""
    return file(path)


def sync_move(src, dst):
    """Jug's `sync_move(src, dst)`, for a task that writes its output under a temporary name
    then moves it into place in a directory granted to it (`jug.directory(..., writable=True)`):
    the rename is atomic. Jug also fsyncs the directory; a sandboxed task cannot, so the
    durability of the move is the host file system's."""
    os.rename(src, dst)


jug_execute = stand_in(
    "jug.utils.jug_execute",
    "runs a program outside the sandbox, which a jug-host task cannot",
    "write that step as a Python task function, or as a task of another component "
    "(jug.component('tool.wasm').main(...))",
)

cached_glob = stand_in(
    "jug.utils.cached_glob",
    "lists the host's files, which the graph builder cannot see from its sandbox",
    "pass the file names as arguments after `--` on the jug-host command line (sys.argv) "
    "and give each to its task as jug.file(name)",
)
