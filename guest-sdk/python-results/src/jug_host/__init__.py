"""Results of jug-host task graphs as Python values, for scripts and notebooks.

    import jug_host
    g = jug_host.open("primes.wasm")             # store, args, options, jug_host: see `open`
    g.status()                                   # {"primes.is_prime": {"complete": 99, ...}, ...}
    g.value("write_output")                      # 'Found 25 primes <= 100.\\n'
    g.values("is_prime")                         # [True, True, False, ...] in definition order

Everything goes through the `jug-host` binary (a subprocess per call): it builds the graph,
computes the keys and reads the store, so this package never re-implements either and works
on every store the binary does. Results travel as CBOR (`jug-host value --cbor`), decoded by
the Python SDK's own codec: bytes stay bytes, integers of any size and every float (NaN, -0.0,
infinities) come back exactly. A failure is one of the exceptions below, carrying the binary's
one-line message and exit code.
"""

import json
import os
import re
import shutil
import subprocess
from collections import namedtuple

from . import _codec
from ._codec import Tag

__all__ = [
    "open", "Graph", "Task", "Tag",
    "JugHostError", "MissingResult", "DamagedResult", "NoSuchTask", "AmbiguousTask",
]  # fmt: skip

# jug-host's exit codes (host/src/exit_code.rs) that mean something here.
_NOT_DONE, _NO_MATCH, _DAMAGED = 1, 6, 7

# What `value` says on stderr when a result is not stored yet.
_MISSING = "has no result yet"

_KEY = re.compile(r"[0-9a-fA-F]{8,64}")


class JugHostError(Exception):
    """jug-host refused or failed; `message` is its one-line error, `code` its exit code."""

    def __init__(self, message, code=None, command=None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.command = command


class MissingResult(JugHostError, LookupError):
    """The task has no stored result yet: run `jug-host execute` first."""


class DamagedResult(JugHostError):
    """The stored result failed its checksum; jug-host removed it, so the next execute
    computes it again."""


class NoSuchTask(JugHostError, LookupError):
    """No task of the graph matches the name or key."""


class AmbiguousTask(JugHostError, LookupError):
    """`value` was given a name that several tasks share: use `values`, or a key."""


Task = namedtuple("Task", ["key", "name", "state"])
Task.__doc__ = "One task: its key (64 hex digits), full name and state ('complete', 'ready'...)."


def open(graph, store=None, args=(), jug_host=None, options=()):  # noqa: A001 (like io.open)
    """The graph `graph` (a .wasm component) with its results.

    - `store`: where results live, as `--store` takes it (a directory, s3://…, redis://…);
      default: `$JUG_STORE`, else `<stem>.jugdata` in the current directory, as for jug-host.
    - `args`: the words after `--` for the graph builder (they change the graph).
    - `jug_host`: the binary; default `$JUG_HOST`, else `jug-host` on PATH.
    - `options`: more graph options, as on the command line (`["--dir", "data"]`): the same
      as `execute` was given, or the keys differ.
    """
    return Graph(graph, store=store, args=args, jug_host=jug_host, options=options)


class Graph:
    """A graph and its store. Each method runs jug-host once, so it sees the store as it is
    now (another process may be executing tasks)."""

    def __init__(self, graph, store=None, args=(), jug_host=None, options=()):
        self.graph = os.fspath(graph)
        self.store = store
        self.args = [str(a) for a in args]
        self.options = [os.fspath(o) for o in options]
        self.binary = _find_binary(jug_host)

    def __repr__(self):
        return f"jug_host.open({self.graph!r}, store={self.store!r}, args={self.args!r})"

    def value(self, name_or_key):
        """The result of one task: a name that one task has (`write_output`, with jug-host's
        `--name` rules) or a key (8 to 64 hex digits: a prefix of one)."""
        if _KEY.fullmatch(name_or_key):
            entries = self._results("--key", name_or_key)
        else:
            entries = self._results(name_or_key)
        if len(entries) != 1:
            raise AmbiguousTask(
                f"{len(entries)} tasks match {name_or_key!r}; use values({name_or_key!r}) for all "
                f"of them, or value(key) for one (keys: tasks())"
            )
        return entries[0]["value"]

    def values(self, name):
        """The results of every task `name` matches, in definition order."""
        return [entry["value"] for entry in self._results(name)]

    def results(self, name):
        """{key: result} of every task `name` matches, in definition order."""
        return {entry["key"]: entry["value"] for entry in self._results(name)}

    def status(self):
        """Counts per task name: {"primes.is_prime": {"failed": 0, "waiting": 0, "ready": 0,
        "complete": 99, "active": 0}, ...}, as `jug-host status --json` has them."""
        return self._json("status", "--json", accept=(0, _NOT_DONE))["tasks"]

    def tasks(self, name=None):
        """Every task (or those `name` matches) as Task(key, name, state), in definition order."""
        selection = [name] if name is not None else ["--pattern", "/./"]
        return [Task(t["key"], t["name"], t["state"]) for t in self._json("log", *selection, "--json")]

    def invalidate(self, name):
        """Removes the results of the tasks `name` matches and of everything that depends on
        them (`jug-host invalidate --name`); the next execute computes them again."""
        self._run("invalidate", "--name", name, "--short")

    def _results(self, *selection):
        entries = _codec.loads(self._run("value", *selection, "--cbor").stdout)
        if not isinstance(entries, list):
            raise JugHostError(f"jug-host value --cbor printed a {type(entries).__name__}, not a list")
        return entries

    def _json(self, command, *words, accept=(0,)):
        return json.loads(self._run(command, *words, accept=accept).stdout)

    def _run(self, command, *words, accept=(0,)):
        argv = [self.binary, command, self.graph, *words, *self.options]
        if self.store is not None:
            argv += ["--store", str(self.store)]
        argv += ["--", *self.args]
        done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
        if done.returncode in accept:
            return done
        raise _error(done, argv)


def _error(done, argv):
    """The exception for a failed run: its class from the exit code, its message jug-host's
    last line on stderr, without the `jug-host: ` prefix."""
    lines = [line for line in done.stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    message = lines[-1] if lines else f"jug-host exited with code {done.returncode}"
    message = message.removeprefix("jug-host: ")
    code = done.returncode
    if code == _NOT_DONE and _MISSING in message:
        kind = MissingResult
    elif code == _DAMAGED:
        kind = DamagedResult
    elif code == _NO_MATCH:
        kind = NoSuchTask
    else:
        kind = JugHostError
    return kind(message, code=code, command=argv)


def _find_binary(given):
    binary = given or os.environ.get("JUG_HOST") or shutil.which("jug-host")
    if not binary:
        raise JugHostError("cannot find jug-host: pass jug_host=PATH, set JUG_HOST, or put it on PATH")
    return os.fspath(binary)
