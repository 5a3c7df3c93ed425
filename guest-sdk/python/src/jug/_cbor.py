"""Values across the sandbox wall: deterministic CBOR (RFC 8949 section 4.2.1).

`plain` checks a value and reduces it to the types the codec (`_codec`, which writes what
`cbor2.dumps(..., canonical=True)` writes) encodes: what jug-host would refuse (sets, dates,
non-string map keys, arbitrary objects) is refused here first, with a message naming the task.
"""

from . import _codec
from ._errors import JugError

TASK_REF_TAG = 27253
KEY_EXEMPT_TAG = 27254
CUSTOM_KEY_TAG = 27255
FILE_INPUT_TAG = 27256
DIR_GRANT_TAG = 27257

SUPPORTED = "None, bool, int, float, str, bytes, list, tuple and dict with str keys"

_SCALARS = (type(None), bool, int, float, str, bytes)


def _describe(value):
    kind = type(value)
    module = kind.__module__
    return kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}"


def plain(value, what, convert_arg=None):
    """`value` as the plain types the codec encodes: tuples become lists, subclasses of the
    supported types their base type. `convert_arg` handles SDK objects (tasks, wrappers) in
    arguments; `None` means they are not allowed (results)."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is list or kind is tuple:
        return [plain(item, what, convert_arg) for item in value]
    if kind is dict:
        return _plain_dict(value, what, convert_arg)
    if convert_arg is not None:
        converted = convert_arg(value)
        if converted is not NotImplemented:
            return converted
    # Subclasses: bool before int (bool is an int), IntEnum, str enums, namedtuples, OrderedDict.
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, (list, tuple)):
        return [plain(item, what, convert_arg) for item in value]
    if isinstance(value, dict):
        return _plain_dict(value, what, convert_arg)
    raise JugError(f"{what} contains a {_describe(value)}, which cannot cross to jug-host (supported: {SUPPORTED})")


def _plain_dict(value, what, convert_arg):
    out = {}
    for key, item in value.items():
        if type(key) is not str:
            if isinstance(key, str):
                key = str(key)
            else:
                raise JugError(f"{what} contains a dict with a {_describe(key)} key {key!r}: dict keys must be str")
        out[key] = plain(item, what, convert_arg)
    return out


def encode(value):
    """Deterministic CBOR of a value already made `plain` (tags allowed)."""
    return _codec.dumps(value)


def decode(data):
    return _codec.loads(data)


def tag(number, payload):
    return _codec.Tag(number, payload)


def warm_up():
    """Runs every code path once while the component is being built, so the modules they
    import lazily are in the snapshot (nothing can be imported at run time)."""
    sample = {
        "b": [None, True, False, 0, -1, 24, 2**40, 2**70, -(2**70), 1.5, 0.1, 1e300, float("inf")],
        "a": (b"bytes", "text", {"nested": [1.0, -0.0]}),
        "t": tag(TASK_REF_TAG, [b"k" * 32, 0, "x"]),
    }
    decode(encode(plain(sample, "warm-up", lambda v: v if isinstance(v, _codec.Tag) else NotImplemented)))
