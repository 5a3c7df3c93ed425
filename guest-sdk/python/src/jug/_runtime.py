"""The component's life: pre-initialisation (`define`), then the `build` and `run` exports.

componentize-py imports the entry module `jug-py` generates while it builds the component
and snapshots the interpreter afterwards; nothing can be imported later (there are no files
at run time). The entry module calls `define` with the script's source, which runs the
script statement by statement with task calls returning placeholders, so that every task
function is registered and every module the script imports is loaded. Graph code that stops
(at a barrier, or on any exception such as a missing `sys.argv[1]`) does not stop the
definitions after it: top-level `import`, `def` and `class` statements (and assignments of
literal constants) always run, and modules imported inside functions are imported too.

Then `build(args)` runs the whole script again, in a fresh namespace with
`sys.argv = [script] + args`, declaring tasks to the host; `run(function, input)` looks the
function up, decodes its arguments, calls it and encodes the result.
"""

import ast
import gc
import importlib
import inspect
import linecache
import os
import sys
import traceback
import types

from . import _cbor, _imports, _state
from ._errors import BarrierError, JugError
from ._functions import lookup
from ._host import Err, WorldBase
from ._unsupported import SandboxError
from .mapreduce import run_batch
from .task import IDENTITY

_SDK_DIR = os.path.dirname(os.path.abspath(__file__))

# Around the report of a script that fails while the component is pre-initialised.
BUILD_ERROR_START = "----- jug: the script failed while the component was built -----"
BUILD_ERROR_END = "----- end -----"


class Script:
    """The script the component was built from."""

    def __init__(self, path, name, source):
        self.path = path
        self.name = name
        self.source = source
        self.tree = ast.parse(source, path)
        self.code = compile(self.tree, path, "exec")
        self.namespace = None

    def new_module(self):
        module = types.ModuleType(self.name)
        module.__file__ = self.path
        sys.modules[self.name] = module
        return module


def _cache_source(path, source):
    """Registers a file's lines with linecache for tracebacks: at run time there are no files
    to read them from (an entry without mtime is never checked against the file system)."""
    linecache.cache[path] = (len(source), None, source.splitlines(True), path)


def _is_definition(stmt):
    """Statements that run even after the graph code stopped while pre-initialising."""
    if isinstance(stmt, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return True
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
        return True  # a docstring
    if isinstance(stmt, (ast.Assign, ast.AnnAssign)) and stmt.value is not None:
        try:
            ast.literal_eval(stmt.value)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return False
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        return all(isinstance(target, ast.Name) for target in targets)
    if isinstance(stmt, ast.If):
        return all(_is_definition(s) for s in stmt.body + stmt.orelse)
    if isinstance(stmt, ast.Try):
        bodies = stmt.body + stmt.orelse + stmt.finalbody + [s for h in stmt.handlers for s in h.body]
        return all(_is_definition(s) for s in bodies)
    return False


def define(path, name, source, include=()):
    """Pre-initialisation: runs the script in define mode (see the module's docs), then imports
    what its tasks may import later (`_imports`) and the packages named in `include`."""
    _imports.install()
    saved_argv = sys.argv
    sys.argv = [path]
    _state.mode = "define"
    stopped = False
    try:
        _cache_source(path, source)
        script = Script(path, name, source)
        _state.script = script
        script.namespace = script.new_module().__dict__
        for stmt in script.tree.body:
            definition = _is_definition(stmt)
            if stopped and not definition:
                continue
            code = compile(ast.Module(body=[stmt], type_ignores=[]), path, "exec")
            if definition:
                exec(code, script.namespace)
                continue
            try:
                exec(code, script.namespace)
            except BaseException:  # the build will meet it again, with the real arguments
                stopped = True
        _imports.include(include)
    except BaseException as e:
        # jug-py shows what is between the markers instead of componentize-py's whole output.
        sys.stderr.write(f"{BUILD_ERROR_START}\n{format_traceback(e)}{BUILD_ERROR_END}\n")
        sys.stderr.flush()
        raise
    finally:
        sys.argv = saved_argv
        _state.mode = "idle"
    _import_nested(script.tree)
    _imports.import_lazy_imports()
    _warm_up()
    script.tree = None
    # Source lines of the modules the script imported (not the standard library's, not the
    # SDK's), for tracebacks.
    for loaded in list(sys.modules.values()):
        filename = getattr(loaded, "__file__", None)
        if not filename or not filename.endswith(".py") or filename in linecache.cache:
            continue
        if filename.startswith((sys.prefix, sys.base_prefix, _SDK_DIR)):
            continue
        try:
            with open(filename, encoding="utf-8") as f:
                _cache_source(filename, f.read())
        except (OSError, UnicodeDecodeError):
            pass
    # Every object that exists now lives in the snapshot: no collection at run time needs to
    # walk them.
    gc.collect()
    gc.freeze()


def _import_nested(tree):
    """Imports what the script imports inside functions (or anywhere but its top level):
    nothing can be imported at run time, but a module loaded now is in the snapshot. Best
    effort: an import that fails now is left to fail (or be caught) where it is written."""
    top_level = set(map(id, tree.body))
    for node in ast.walk(tree):
        if id(node) in top_level:
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names if alias.name != "*"]
        else:
            continue
        for name in names:
            if name in sys.modules:
                continue
            try:
                importlib.import_module(name)
            except BaseException:  # a name imported from a module, not a submodule; or absent
                pass


def _warm_up():
    """Runs the code paths of `run` and of error reporting once now, so that whatever they
    import lazily is in the snapshot."""
    _cbor.warm_up()

    def sample(a, /, b, *rest, c=1, **more):
        return a

    inspect.signature(sample).bind(1, 2, 3, c=4, d=5).apply_defaults()
    for make in (lambda: undefined_name, lambda: object().missing, lambda: {}["k"], lambda: 1 / 0):  # noqa: F821
        try:
            try:
                make()
            except Exception as inner:
                raise ValueError("chained") from inner
        except Exception as e:
            format_traceback(e)
            _one_line(e)
    sys.stdout.flush()
    sys.stderr.flush()


def _is_sdk_file(filename):
    return os.path.abspath(filename).startswith(_SDK_DIR + os.sep)


def _without_sdk_frames(te, seen):
    if te is None or id(te) in seen:
        return
    seen.add(id(te))
    user = [frame for frame in te.stack if not _is_sdk_file(frame.filename)]
    if user:
        te.stack = traceback.StackSummary.from_list(user)
    _without_sdk_frames(te.__cause__, seen)
    _without_sdk_frames(te.__context__, seen)


def format_traceback(e):
    """`e`'s traceback as Python prints it, without the SDK's own frames."""
    te = traceback.TracebackException(type(e), e, e.__traceback__)
    _without_sdk_frames(te, set())
    return "".join(te.format())


def _one_line(e):
    message = str(e)
    return f"{type(e).__name__}: {message}" if message else type(e).__name__


def _print_traceback(e):
    sys.stderr.write(format_traceback(e))


def _script_location(e):
    """` (primes.py, line 12)`: the innermost frame of the script in `e`'s traceback."""
    script = _state.script
    line = None
    tb = e.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == script.path:
            line = tb.tb_lineno
        tb = tb.tb_next
    return f" ({os.path.basename(script.path)}, line {line})" if line is not None else ""


def build(args):
    script = _state.script
    module = script.new_module()
    sys.argv = [script.path, *args]
    _state.mode = "build"
    try:
        exec(script.code, module.__dict__)
    except BarrierError as e:
        raise Err(str(e)) from None
    except SystemExit as e:
        if e.code not in (None, 0):
            raise Err(f"the script called sys.exit({e.code!r})") from None
    except SandboxError as e:  # the message says it all; the script line says where
        raise Err(f"{e}{_script_location(e)}") from None
    except JugError as e:
        _print_traceback(e)
        raise Err(f"{e}{_script_location(e)}") from None
    except BaseException as e:
        _print_traceback(e)
        raise Err(f"{_one_line(e)}{_script_location(e)}") from None
    finally:
        _state.mode = "idle"
        sys.stdout.flush()
        sys.stderr.flush()


def run(function, input):
    _state.mode = "run"
    try:
        return _run(function, input)
    except Err:
        raise
    except BaseException as e:  # a bug of the SDK's: still an error of the task, not a trap
        _print_traceback(e)
        raise Err(f"jug: {_one_line(e)}") from None
    finally:
        _state.mode = "idle"
        sys.stdout.flush()
        sys.stderr.flush()


def _run(function, input):
    name, _, kind = function.partition(".")
    if function == IDENTITY:
        task_function = None
    else:
        task_function = lookup(name)
        if task_function is None or kind not in ("", "map", "reduce"):
            known = ", ".join(sorted(_state.registry))
            raise Err(f"this component has no task function `{function}` (it has: {known})")
    try:
        args = _cbor.decode(input)
    except Exception as e:
        raise Err(f"cannot decode the arguments of `{function}`: {e}") from None
    try:
        if task_function is None:
            (result,) = args
        elif kind:
            result = run_batch(task_function, kind, args)
        else:
            result = task_function.call(args)
    except BaseException as e:
        _print_traceback(e)
        raise Err(_one_line(e)) from None
    try:
        return _cbor.encode(_cbor.plain(result, f"the result of task {function}"))
    except JugError as e:
        print(f"jug: {e}", file=sys.stderr)
        raise Err(str(e)) from None


class World(WorldBase):
    """The component's exports (the entry module's `WitWorld` derives from it)."""

    def build(self, args):
        build(args)

    def run(self, function, input):
        return run(function, input)
