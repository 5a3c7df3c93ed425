"""Argument wrappers: Jug's `NoHash` and `CustomHash`, `file` and `directory`, which change
how an argument goes into its task's key, not what the task receives.

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


class Directory:
    """A directory of the working directory granted to one task (see `directory`)."""

    __slots__ = ("path", "guest", "writable")

    def __init__(self, path, guest, writable):
        self.path = path
        self.guest = guest
        self.writable = writable

    def __repr__(self):
        return f"jug.directory({self.path!r}, guest={self.guest!r}, writable={self.writable!r})"


def directory(path, guest=None, writable=False):
    """A directory of the working directory granted to the task this is an argument of, the
    per-task `jug-host --dir`: the task receives `guest`, the absolute path at which it sees
    the directory (by default "/" and the path's last component: `directory("data/raw")` is
    at "/raw"), read-only unless `writable`, in which case the task may also write there.
    The path, the guest path and `writable` are all part of the task's key. Only directories
    below the working directory can be granted: jug-host refuses absolute paths, `..` and
    symbolic links that lead out when the task runs (the task fails)."""
    path = _text(path, "jug.directory(path): path")
    what = f"jug.directory({path!r})"
    if type(writable) is not bool:
        raise JugError(f"{what}: writable must be True or False, not {writable!r}")
    if guest is None:
        last = path.rstrip("/").rsplit("/", 1)[-1]
        if last in ("", ".", ".."):
            raise JugError(f"{what}: no guest path follows from this path; pass guest=, such as guest='/data'")
        guest = "/" + last
    else:
        guest = _text(guest, f"{what}: guest")
    problem = guest_path_problem(guest)
    if problem is not None:
        raise JugError(f"{what}: the guest path {guest!r} {problem}")
    return Directory(path, guest, writable)


def _text(value, what):
    """`value` (a str or an os.PathLike giving one) as a str."""
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str):
        raise JugError(f"{what} must be a str, not {type(value).__name__}")
    return value


def guest_path_problem(guest):
    """Why `guest` cannot be where a task sees a granted directory, or None if it can: it must
    be absolute, not "/" itself, without empty, `.` or `..` components, and not under /inputs
    (where the task's `file` inputs are)."""
    if not guest.startswith("/"):
        return "must be absolute (start with /)"
    if guest == "/":
        return "cannot be / itself"
    if "\0" in guest:
        return "cannot hold a NUL character"
    if any(part in ("", ".", "..") for part in guest[1:].split("/")):
        return "must not have empty, `.` or `..` components"
    if guest == "/inputs" or guest.startswith("/inputs/"):
        return "must not be /inputs or under it (that is where file inputs are)"
    return None
