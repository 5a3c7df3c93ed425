"""Jug's `jug.utils`, as far as it applies here: `identity` and `CustomHash`."""

from .task import CustomHash, identity

__all__ = ["CustomHash", "identity"]
