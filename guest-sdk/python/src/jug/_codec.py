"""A small deterministic CBOR codec (RFC 8949 section 4.2.1) for the values tasks exchange.

It writes exactly what `cbor2.dumps(value, canonical=True)` writes for the types the SDK
allows (None, bool, int of any size, float, str, bytes, list, dict with str keys, tags),
which the SDK's tests check, and reads any well-formed definite-length CBOR. Why not cbor2
itself: every task runs in a fresh instance of the component's snapshot, and cbor2's
general machinery costs about a millisecond per task there, this one a few microseconds.
"""

import math
import struct


class Tag:
    """A CBOR tag around a value (`Tag(27253, key)`)."""

    __slots__ = ("tag", "value")

    def __init__(self, tag, value):
        self.tag = tag
        self.value = value

    def __eq__(self, other):
        return isinstance(other, Tag) and (self.tag, self.value) == (other.tag, other.value)

    def __hash__(self):
        return hash((Tag, self.tag))

    def __repr__(self):
        return f"Tag({self.tag}, {self.value!r})"


class DecodeError(ValueError):
    pass


_pack_head16 = struct.Struct(">BH").pack
_pack_head32 = struct.Struct(">BI").pack
_pack_head64 = struct.Struct(">BQ").pack
_pack_f16 = struct.Struct(">Be").pack
_pack_f32 = struct.Struct(">Bf").pack
_pack_f64 = struct.Struct(">Bd").pack
_unpack_f16 = struct.Struct(">e").unpack
_unpack_f32 = struct.Struct(">f").unpack
_unpack_f64 = struct.Struct(">d").unpack
_HEADS = [bytes([i]) for i in range(256)]


def _head(major, n):
    m = major << 5
    if n < 24:
        return _HEADS[m | n]
    if n < 0x100:
        return _HEADS[m | 24] + _HEADS[n]
    if n < 0x10000:
        return _pack_head16(m | 25, n)
    if n < 0x100000000:
        return _pack_head32(m | 26, n)
    return _pack_head64(m | 27, n)


def _float(x):
    if x != x:
        return b"\xf9\x7e\x00"
    if math.isinf(x):
        return b"\xf9\x7c\x00" if x > 0 else b"\xf9\xfc\x00"
    encoded = _pack_f64(0xFB, x)
    try:
        single = _pack_f32(0xFA, x)
        if _unpack_f32(single[1:])[0] == x:
            encoded = single
            half = _pack_f16(0xF9, x)
            if _unpack_f16(half[1:])[0] == x:
                encoded = half
    except (OverflowError, struct.error):
        pass
    return encoded


def _encode(x, out):
    t = type(x)
    if t is int:
        if 0 <= x < 0x10000000000000000:
            out.append(_head(0, x))
        elif -0x10000000000000000 <= x < 0:
            out.append(_head(1, -1 - x))
        else:
            major, n = (2, x) if x >= 0 else (3, -1 - x)
            payload = n.to_bytes((n.bit_length() + 7) // 8, "big")
            out.append(_HEADS[0xC0 | major])
            out.append(_head(2, len(payload)))
            out.append(payload)
    elif t is str:
        data = x.encode("utf-8")
        out.append(_head(3, len(data)))
        out.append(data)
    elif x is None:
        out.append(b"\xf6")
    elif t is bool:
        out.append(b"\xf5" if x else b"\xf4")
    elif t is float:
        out.append(_float(x))
    elif t is bytes:
        out.append(_head(2, len(x)))
        out.append(x)
    elif t is list or t is tuple:
        out.append(_head(4, len(x)))
        for item in x:
            _encode(item, out)
    elif t is dict:
        out.append(_head(5, len(x)))
        entries = []
        for key, value in x.items():
            if type(key) is not str:
                raise TypeError(f"map keys must be str, not {type(key).__name__}")
            data = key.encode("utf-8")
            entries.append((_head(3, len(data)) + data, value))
        entries.sort(key=_first)
        for key, value in entries:
            out.append(key)
            _encode(value, out)
    elif t is Tag:
        out.append(_head(6, x.tag))
        _encode(x.value, out)
    else:
        raise TypeError(f"cannot encode a {t.__name__} as CBOR")


def _first(entry):
    return entry[0]


def dumps(x):
    """Deterministic CBOR of `x` (types as in the module's docs, exactly; no subclasses)."""
    out = []
    _encode(x, out)
    return b"".join(out)


def loads(data):
    """The value of one CBOR data item that fills `data`."""
    data = bytes(data)
    try:
        value, end = _decode(data, 0)
    except (IndexError, struct.error):
        raise DecodeError("truncated CBOR") from None
    if end != len(data):
        raise DecodeError(f"{len(data) - end} bytes after the CBOR value")
    return value


def _argument(data, pos, info):
    if info < 24:
        return info, pos
    if info == 24:
        return data[pos], pos + 1
    if info == 25:
        return int.from_bytes(data[pos : pos + 2], "big"), pos + 2
    if info == 26:
        return int.from_bytes(data[pos : pos + 4], "big"), pos + 4
    if info == 27:
        return int.from_bytes(data[pos : pos + 8], "big"), pos + 8
    raise DecodeError(f"unsupported CBOR head {data[pos - 1]:#04x} (indefinite lengths are not deterministic)")


def _decode(data, pos):
    initial = data[pos]
    major, info = initial >> 5, initial & 31
    pos += 1
    if major == 7:
        if info == 20:
            return False, pos
        if info == 21:
            return True, pos
        if info == 22 or info == 23:
            return None, pos
        if info == 25:
            return _unpack_f16(data[pos : pos + 2])[0], pos + 2
        if info == 26:
            return _unpack_f32(data[pos : pos + 4])[0], pos + 4
        if info == 27:
            return _unpack_f64(data[pos : pos + 8])[0], pos + 8
        raise DecodeError(f"unsupported CBOR simple value {initial:#04x}")
    n, pos = _argument(data, pos, info)
    if major == 0:
        return n, pos
    if major == 1:
        return -1 - n, pos
    if major == 2:
        end = pos + n
        if end > len(data):
            raise DecodeError("truncated CBOR")
        return data[pos:end], end
    if major == 3:
        end = pos + n
        if end > len(data):
            raise DecodeError("truncated CBOR")
        return data[pos:end].decode("utf-8"), end
    if major == 4:
        items = []
        for _ in range(n):
            item, pos = _decode(data, pos)
            items.append(item)
        return items, pos
    if major == 5:
        result = {}
        for _ in range(n):
            key, pos = _decode(data, pos)
            value, pos = _decode(data, pos)
            result[key] = value
        return result, pos
    value, pos = _decode(data, pos)
    if n == 2 and type(value) is bytes:
        return int.from_bytes(value, "big"), pos
    if n == 3 and type(value) is bytes:
        return -1 - int.from_bytes(value, "big"), pos
    return Tag(n, value), pos
