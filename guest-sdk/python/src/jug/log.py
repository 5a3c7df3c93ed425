"""Log lines for the host: shown on its terminal while the graph is built, kept in the task's
log in the store (`logs/<key>`) while a task runs. `print` to stdout/stderr is captured too."""

import sys

from . import _host


def _write(level, message):
    if _host.log is None:
        print(f"[{level}] {message}", file=sys.stderr)
        return
    sys.stdout.flush()
    sys.stderr.flush()
    _host.log.write(getattr(_host.log.Level, level), str(message))


def debug(message):
    _write("DEBUG", message)


def info(message):
    _write("INFO", message)


def warn(message):
    _write("WARN", message)


def error(message):
    _write("ERROR", message)
