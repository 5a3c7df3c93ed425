"""Jug's `jug.utils`, as far as it applies here: `identity` and `CustomHash`."""

from ._wrappers import CustomHash
from .task import identity

__all__ = ["CustomHash", "identity"]
