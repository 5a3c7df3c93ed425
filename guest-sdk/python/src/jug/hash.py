"""Jug's `jug.hash.hash_one`, for `CustomHash` hash functions."""

import hashlib

from . import _cbor

__all__ = ["hash_one"]


def hash_one(obj):
    """A hash of `obj` (bytes, a hex sha1 as Jug's): over its deterministic CBOR, so it takes
    the values a task argument can be (None, bool, int, float, str, bytes, lists, tuples and
    dicts with str keys). Jug hashes pickles, so the bytes differ from Jug's."""
    data = _cbor.encode(_cbor.plain(obj, "the argument of jug.hash.hash_one"))
    return hashlib.sha1(data).hexdigest().encode()
