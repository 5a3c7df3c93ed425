"""The host's side of the `jug:task` world, as componentize-py binds it.

Inside a component the generated `wit_world` package is importable and every call goes to
jug-host. Outside one (plain CPython: editors, `python -c 'import jug'`), the imports are
missing, `IN_COMPONENT` is false and the SDK only builds placeholders.
"""

try:
    import wit_world as _wit_world
    from componentize_py_types import Err
    from wit_world.imports import graph, log

    IN_COMPONENT = True
    WorldBase = _wit_world.WitWorld
except ImportError:  # plain CPython
    graph = None
    log = None
    IN_COMPONENT = False
    WorldBase = object

    class Err(Exception):
        """Stands in for componentize-py's `Err` (the `err` case of a WIT result)."""

        def __init__(self, value):
            super().__init__(value)
            self.value = value


def error_text(err):
    """The message of an `Err` the host returned."""
    return str(getattr(err, "value", err))
