"""Imports in a component: stubs for missing C modules, lazy imports, and a clear error for a
module that is not in the snapshot.

A component has no files at run time: a module not imported while componentize-py built it
(the snapshot) cannot be imported later. So, while the component is built:

- `install()` puts a finder first on `sys.meta_path`. It stands in for stdlib modules whose C
  part the component's CPython lacks (`bz2`, `lzma`, `ssl`, `ctypes` and their C modules):
  popular packages import them at the top and use them only for some files or features, so
  the import succeeds and the first use raises `UnavailableModuleError`. A module of that name
  of the user's own (next to the script, under `-p`, installed) wins over the stub. At run
  time the same finder turns "No module named x" into an error saying how to include x.
- `import_lazy_imports()` imports, transitively, every module that the loaded modules outside
  the standard library and the SDK import anywhere (inside functions too: sympy has ~1,600
  such imports), so that what a task can reach is in the snapshot.
- `include(names)` imports every module of each package named with `--include`.
"""

import ast
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import pkgutil
import sys

from . import _state

# Stub name -> the C module whose absence it stands in for.
STUBBED = {
    "_bz2": "_bz2", "bz2": "_bz2", "_lzma": "_lzma", "lzma": "_lzma",
    "_ssl": "_ssl", "ssl": "_ssl", "_ctypes": "_ctypes", "ctypes": "_ctypes",
}  # fmt: skip
_SDK_DIR = os.path.dirname(os.path.abspath(__file__))
# Where the standard library is: `ast` is read from a file (componentize-py: /python), and
# lib/ holds the rest (lib/python3.14, lib/python314.zip, lib-dynload), as in a plain CPython.
_STDLIB_DIRS = tuple(
    {os.path.dirname(os.path.abspath(ast.__file__)), os.path.dirname(os.path.dirname(os.path.abspath(os.__file__)))}
)


def _in_stdlib(path):
    path = os.path.abspath(path)
    return any(path == d or path.startswith(d + os.sep) for d in _STDLIB_DIRS)


class UnavailableModuleError(ImportError):
    """A stubbed module was used."""


def _unavailable(module):
    return UnavailableModuleError(
        f"{module} is not available in a jug-host component (its C extension cannot be loaded in CPython "
        "on WebAssembly); it could only be imported"
    )


class _UnavailableType(type):
    """The type of a stub's attributes; `_jug_stub` (inherited by subclasses) names the stub."""

    def __call__(cls, *args, **kwargs):
        raise _unavailable(cls._jug_stub)

    def __getattr__(cls, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise _unavailable(cls._jug_stub)


class _StubLoader(importlib.abc.Loader):
    def create_module(self, spec):
        return None

    def exec_module(self, module):
        name = module.__name__
        placeholders = {}

        def __getattr__(attribute):
            # Dunders stay missing (the import system and `from m import *` probe them); any other
            # name is a class that can be subclassed or stored, and raises once called or used.
            if attribute.startswith("__"):
                raise AttributeError(f"module {name!r} has no attribute {attribute!r}")
            if attribute not in placeholders:
                placeholders[attribute] = _UnavailableType(attribute, (), {"__module__": name, "_jug_stub": name})
            return placeholders[attribute]

        module.__getattr__ = __getattr__
        module.__all__ = []
        if name == "ctypes":
            _add_ctypes_sizes(module, placeholders)


# `ctypes.sizeof(ctypes.c_long)` needs no C: packages compute limits with it at import (sympy).
_CTYPES_CODES = {
    "c_bool": "?", "c_char": "c", "c_byte": "b", "c_ubyte": "B", "c_short": "h", "c_ushort": "H",
    "c_int": "i", "c_uint": "I", "c_long": "l", "c_ulong": "L", "c_longlong": "q", "c_ulonglong": "Q",
    "c_size_t": "N", "c_ssize_t": "n", "c_float": "f", "c_double": "d", "c_void_p": "P", "c_char_p": "P",
    "c_wchar_p": "P",
}  # fmt: skip


def _add_ctypes_sizes(module, placeholders):
    import struct

    for type_name, code in _CTYPES_CODES.items():
        namespace = {"__module__": "ctypes", "_jug_stub": "ctypes", "_type_": code}
        placeholders[type_name] = _UnavailableType(type_name, (), namespace)

    def sizeof(obj):
        code = getattr(obj if isinstance(obj, type) else type(obj), "_type_", None)
        if not isinstance(code, str):
            raise _unavailable("ctypes")
        return struct.calcsize(code)

    module.sizeof = sizeof


def _user_paths():
    """sys.path entries outside the standard library: the script's, `-p` directories, the
    installed dependencies (and componentize-py's own)."""
    return [p for p in sys.path if p and not _in_stdlib(p)]


def _available(c_module):
    return c_module in sys.builtin_module_names or importlib.machinery.PathFinder.find_spec(c_module) is not None


class StubFinder(importlib.abc.MetaPathFinder):
    """First on `sys.meta_path`: the stubs (see the module's docs)."""

    def find_spec(self, fullname, path=None, target=None):
        top = fullname.partition(".")[0]
        if top not in STUBBED:
            return None
        if fullname == top:
            # The user's module of that name wins (the standard library comes first on sys.path,
            # so it is returned from here), then the real one if this CPython has its C part.
            own = importlib.machinery.PathFinder.find_spec(top, _user_paths())
            if own is not None:
                return own
            if _available(STUBBED[top]):
                return None
        elif not isinstance(getattr(sys.modules.get(top), "__loader__", None), _StubLoader):
            return None  # a submodule of the real package, or of the user's
        return importlib.machinery.ModuleSpec(fullname, _StubLoader(), is_package=True)


class MissingFinder(importlib.abc.MetaPathFinder):
    """Last on `sys.meta_path`: once the component is built, nothing else finds a module that
    was not imported while it was; say how to include it."""

    def find_spec(self, fullname, path=None, target=None):
        if _state.mode not in ("build", "run"):
            return None
        top = fullname.partition(".")[0]
        raise ModuleNotFoundError(
            f"No module named {fullname!r} in this component: it was not imported while the component was built "
            f"(nothing can be imported later); import it at the top level of the script, or build with "
            f"`jug-py build --include {top}`",
            name=fullname,
        )


def install():
    """Installs the finders (before the script runs while the component is built)."""
    if not any(isinstance(f, StubFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, StubFinder())
        sys.meta_path.append(MissingFinder())


def _is_third_party(module):
    filename = getattr(module, "__file__", None)
    if not filename or not filename.endswith(".py"):
        return False
    return not _in_stdlib(filename) and not os.path.abspath(filename).startswith(_SDK_DIR + os.sep)


def _imported_names(module):
    """Every module name `module`'s source may import (relative imports resolved); for
    `from m import x`, `m.x` too, which is a submodule or is not found."""
    try:
        with open(module.__file__, encoding="utf-8") as f:
            tree = ast.parse(f.read(), module.__file__)
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return []
    package = module.__spec__.parent if getattr(module, "__spec__", None) else module.__name__.rpartition(".")[0]
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            try:
                relative = "." * node.level + (node.module or "")
                base = importlib.util.resolve_name(relative, package) if node.level else node.module
            except (ImportError, ValueError):
                continue
            if base:
                names.append(base)
                names.extend(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
    return names


def _try_import(name):
    if name in sys.modules:
        return
    try:
        importlib.import_module(name)
    except BaseException:  # optional dependencies, names that are not modules: left to fail at use
        pass


def import_lazy_imports():
    """See the module's docs. Returns how many modules were scanned."""
    scanned = set()
    while True:
        pending = [m for n, m in list(sys.modules.items()) if n not in scanned and _is_third_party(m)]
        if not pending:
            return len(scanned)
        for module in pending:
            scanned.add(module.__name__)
            for name in _imported_names(module):
                _try_import(name)


def include(names):
    """Imports every module of the packages `names`: the package itself must import (else
    ImportError, which fails the build), a module of it that fails is left to fail at use."""
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as e:
            raise ImportError(f"--include {name}: {type(e).__name__}: {e}") from None
        package = sys.modules[name]
        for found in pkgutil.walk_packages(getattr(package, "__path__", []), f"{name}.", onerror=lambda _: None):
            _try_import(found.name)
