"""The SDK's exceptions."""


class JugError(Exception):
    """A mistake in how the SDK is used (an argument that cannot be encoded, two task
    functions with one name, ...). Its message is what jug-host shows."""


JugError.__module__ = "jug"


class BarrierError(BaseException):
    """Raised by `barrier()`, `bvalue()` and `value()` while a result the graph needs is not
    stored yet: the build stops there, `jug-host execute` runs what was declared and builds
    again. A `BaseException`, so that an `except Exception:` in the script does not swallow it.
    """

    def __init__(self, message="the graph builder stopped at a barrier: a result it needs is not stored yet"):
        super().__init__(message)


BarrierError.__module__ = "jug"
