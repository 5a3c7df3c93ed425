"""Argument wrappers: Jug's `NoHash` and `CustomHash`, and `file`, which change how an
argument goes into its task's key, not what the task receives.

They only hold their value: declaring a task (`task._argument`) turns each into its CBOR tag,
and `value` unwraps them. They know nothing of tasks, so `task` can import them to encode them.
"""

import os

from . import _state
from ._errors import JugError
from ._host import Err, error_text, graph


class NoHash:
    """Jug's `NoHash`: the task gets `value`, but its key ignores it (a thread count, a log
    level): changing it re-runs nothing."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


class CustomHash:
    """Jug's `CustomHash(value, hash_function)`: the task gets `value` and its key depends on
    `hash_function(value)` (bytes or str) instead. `hash` may also be the bytes or str itself."""

    __slots__ = ("value", "hash")

    def __init__(self, value, hash):
        self.value = value
        self.hash = hash

    def hash_bytes(self):
        digest = self.hash(self.value) if callable(self.hash) else self.hash
        if isinstance(digest, str):
            digest = digest.encode()
        if not isinstance(digest, (bytes, bytearray)):
            raise JugError(f"a CustomHash hash must be bytes or str, got {type(digest).__name__}")
        return bytes(digest)


class InputFile:
    """A file of the working directory as a task input (see `file`)."""

    __slots__ = ("path", "digest")

    def __init__(self, path, digest):
        self.path = path
        self.digest = digest

    def __repr__(self):
        return f"jug.file({self.path!r})"


def file(path):
    """A file of the working directory as a task input: the task receives the path at which
    it can read it (read-only), and the task's key holds the file's content digest, so
    editing the file re-runs exactly the tasks that read it."""
    path = os.fspath(path)
    if _state.mode != "build":
        return InputFile(path, None)
    try:
        digest = graph.input_file(path)
    except Err as e:
        raise JugError(error_text(e)) from None
    return InputFile(path, bytes(digest))
