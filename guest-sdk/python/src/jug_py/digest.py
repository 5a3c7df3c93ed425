"""What goes into a component built from a script, and the code digest it declares.

componentize-py never produces the same bytes twice, so jug-host cannot key tasks by the
component's bytes; instead the component declares (custom section `jug-code-digest`) a sha256
over everything its behaviour can depend on:

- the SDK and componentize-py versions (componentize-py brings CPython and its standard
  library) and the WIT contract;
- the entry module (which embeds the script's source);
- every file of every directory on componentize-py's python path. jug-py stages exactly the
  files it hashes into fresh directories and gives componentize-py only those, so what the
  component's build can read is what the digest covers: the SDK's `jug` package, the local
  modules and packages the script imports (a package with all its files, data included), and
  every file of each directory named with `-p`. Nothing comes from the environment
  (`VIRTUAL_ENV`, the `python3` on `PATH`, `PYTHONPATH`).

Files are named by their place in the bundle (`app/helpers.py`, `path 0/networkx/…`), never
by their absolute path, so two checkouts of the same sources agree. Equal digests promise
equal behaviour; an edit to any bundled byte changes it.
"""

import ast
import hashlib
import json
import os

from . import deps

# Never bundled (nor hashed): version control, caches, and compiled bytecode, which CPython
# would otherwise prefer to a source that changed without touching its timestamp.
SKIPPED_DIRS = {"__pycache__", ".git", ".hg", ".svn", ".mypy_cache", ".pytest_cache"}
SKIPPED_SUFFIXES = (".pyc", ".pyo")


class Digest:
    def __init__(self):
        self._hash = hashlib.sha256()
        self.field("jug-py code digest", b"3")

    def field(self, label, data):
        if isinstance(data, str):
            data = data.encode()
        label = label.encode()
        self._hash.update(len(label).to_bytes(8, "little") + label)
        self._hash.update(len(data).to_bytes(8, "little") + data)

    def file(self, label, path):
        with open(path, "rb") as f:
            self.field(label, f.read())

    def hexdigest(self):
        return self._hash.hexdigest()


def files_under(root, suffix=None):
    """Every file under `root` (relative paths with `/`, sorted), skipping caches and VCS
    directories and bytecode; only names ending in `suffix` if given. Symbolic links to
    directories are not followed."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS)
        for filename in filenames:
            if suffix and not filename.endswith(suffix):
                continue
            if filename.endswith(SKIPPED_SUFFIXES):
                continue
            path = os.path.join(dirpath, filename)
            if not os.path.isfile(path):  # a dangling link, a socket…
                continue
            found.append(os.path.relpath(path, root).replace(os.sep, "/"))
    return sorted(found)


def _imported_top_names(source, filename):
    """The top-level module names a source imports, anywhere in it (absolute imports)."""
    try:
        tree = ast.parse(source, filename)
    except SyntaxError:
        return []
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module.split(".")[0])
    return names


def local_modules(script_path):
    """The local modules a script imports, recursively: the files (relative to the script's
    directory) of modules `x.py` and of packages `x/` (every file of the package, data
    included) found next to the script."""
    root = os.path.dirname(os.path.abspath(script_path))
    script_name = os.path.splitext(os.path.basename(script_path))[0]
    with open(script_path, encoding="utf-8") as f:
        pending = [(f.read(), script_path)]
    seen_names = {script_name}
    files = []
    while pending:
        source, filename = pending.pop()
        for name in _imported_top_names(source, filename):
            if name in seen_names:
                continue
            seen_names.add(name)
            module_file = os.path.join(root, name + ".py")
            package_dir = os.path.join(root, name)
            if os.path.isfile(module_file):
                new = [name + ".py"]
            elif os.path.isdir(package_dir):
                new = [f"{name}/{p}" for p in files_under(package_dir)]
            else:
                continue  # not local: the standard library, the SDK, a -p directory
            for relative in new:
                files.append(relative)
                if relative.endswith(".py"):
                    path = os.path.join(root, relative)
                    with open(path, encoding="utf-8", errors="replace") as f:
                        pending.append((f.read(), path))
    return sorted(files)


class Tree:
    """One directory of componentize-py's python path: `files` (relative paths) copied from
    `source` into the staging directory `name`."""

    def __init__(self, name, source, files):
        self.name = name
        self.source = source
        self.files = files


SITE_TREE = "site-packages"


def bundle(*, script_path, sdk_runtime_dir, python_path, site=None):
    """The trees a build of `script_path` gives componentize-py, in import order: the script's
    local modules (`app`, where the entry module goes too), the SDK (`sdk`), each `-p`
    directory (`path 0`, `path 1`…), then the installed dependencies (`site-packages`, see
    `deps.py`), last so that the user's own modules win."""
    script_dir = os.path.dirname(os.path.abspath(script_path))
    sdk_parent = os.path.dirname(sdk_runtime_dir)
    sdk_package = os.path.basename(sdk_runtime_dir)
    trees = [
        Tree("app", script_dir, local_modules(script_path)),
        Tree("sdk", sdk_parent, [f"{sdk_package}/{p}" for p in files_under(sdk_runtime_dir)]),
    ]
    for i, path in enumerate(python_path):
        trees.append(Tree(f"path {i}", path, files_under(path)))
    if site:
        trees.append(Tree(SITE_TREE, site, files_under(site)))
    return trees


def code_digest(*, versions, wit_dir, entry_module, trees, functions=None):
    """`sha256:<hex>` for a build that bundles `entry_module` (its source) and `trees` (see the
    module's docs), with the identities of its functions (`function_digests`), so that a
    change in how they are computed rebuilds a component that is otherwise current."""
    digest = Digest()
    if functions:
        digest.field("function identities", json.dumps(functions, sort_keys=True))
    for label, version in sorted(versions.items()):
        digest.field(f"version {label}", version)
    for relative in files_under(wit_dir, ".wit"):
        digest.file(f"wit {relative}", os.path.join(wit_dir, relative))
    digest.field("entry module", entry_module)
    for tree in trees:
        digest.field("tree", tree.name)
        for relative in tree.files:
            digest.file(f"{tree.name}/{relative}", os.path.join(tree.source, relative))
    return "sha256:" + digest.hexdigest()


# Per-function identity --------------------------------------------------------------------
#
# A task's key should change when, and only when, the code that task function can run changes.
# For each function defined at the top level of the script, jug-py declares a digest (custom
# section `jug-function-digests`) over:
#
# - the *base*: the component digest's fields that no function can be told apart by (versions,
#   WIT, the entry module's template and the script's name, the SDK, every `-p` directory);
# - the function's definition, as an AST without line numbers (moving code changes nothing;
#   its decorators and docstring count);
# - transitively, every top-level statement of the script that binds or mentions a name the
#   function (or a statement already counted) uses: the helpers it calls, the constants and
#   classes it reads, the imports it relies on, and statements that could change them
#   (`CONFIG.update(...)` mentions CONFIG);
# - every local module the counted statements import, whole (with what they import);
# - every installed distribution (`--requirements`, see deps.py) whose modules the counted
#   statements or those local modules import, anywhere in them, and every distribution those
#   require, transitively (whatever the markers: conservative). Changing one pinned version
#   changes the functions that can import it and only those.
#
# Conservative where Python is dynamic: a function or counted statement that uses `eval`,
# `exec`, `globals`, `vars`, `locals`, `getattr`, `setattr`, `__import__`, `importlib`,
# `sys.modules` or `__dict__` counts the whole script and every local module; so does any
# top-level statement using them, for every function (with every installed distribution),
# and `from m import *` counts for every function. A script the host's Python cannot parse
# declares no table, and its tasks keep the whole-component identity.
#
# This reads the script's syntax with the Python running jug-py (it imports and runs
# nothing); the component's CPython may parse a newer syntax, in which case the table is left
# out rather than guessed.

DYNAMIC_NAMES = {
    "eval", "exec", "globals", "vars", "locals", "getattr", "setattr", "delattr", "__import__",
    "importlib", "__dict__", "modules", "__builtins__", "compile",
}  # fmt: skip

SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda, ast.ListComp, ast.SetComp,
          ast.DictComp, ast.GeneratorExp)  # fmt: skip


def _identifiers(node):
    """Every identifier in a node: names, attribute names, import names."""
    found = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            found.add(sub.id)
        elif isinstance(sub, ast.Attribute):
            found.add(sub.attr)
        elif isinstance(sub, (ast.Import, ast.ImportFrom)):
            found.update((alias.asname or alias.name).split(".")[0] for alias in sub.names)
    return found


def _free_names(function):
    """The names a function definition reads from the module: the names it loads (decorators,
    defaults and annotations included) less its parameters and the names it assigns."""
    local = set()
    for sub in ast.walk(function):
        if isinstance(sub, ast.arg):
            local.add(sub.arg)
        elif isinstance(sub, ast.Name) and isinstance(sub.ctx, (ast.Store, ast.Del)):
            local.add(sub.id)
        elif isinstance(sub, (ast.Import, ast.ImportFrom)) and sub is not function:
            local.update((alias.asname or alias.name).split(".")[0] for alias in sub.names)
    loaded = {sub.id for sub in ast.walk(function) if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load)}
    nested = {sub.name for sub in ast.walk(function) if isinstance(sub, SCOPES[:3]) and sub is not function}
    # `global x` makes x the module's, however the function assigns it.
    declared_global = {name for sub in ast.walk(function) if isinstance(sub, ast.Global) for name in sub.names}
    return (loaded - local - nested) | (loaded & declared_global)


def _uses(statement):
    """The module-level names a top-level statement reads."""
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return _free_names(statement)
    return {sub.id for sub in ast.walk(statement) if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load)}


def _bound_names(statement):
    """The module-level names a top-level statement binds (nested scopes left out)."""
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {statement.name}
    bound = set()
    pending = [statement]
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            bound.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
            continue
        if not isinstance(node, SCOPES):
            pending.extend(ast.iter_child_nodes(node))
    return bound


def _touched(statement):
    """The names a plain top-level statement could change without assigning them: every name
    it loads, except where it only calls it (`f(x)` may change x, not f)."""
    called = {id(sub.func) for sub in ast.walk(statement) if isinstance(sub, ast.Call)}
    return {
        sub.id for sub in ast.walk(statement)
        if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load) and id(sub) not in called
    }  # fmt: skip


def _imports(node):
    """The top-level names of the modules a node imports (absolute imports), anywhere in it."""
    found = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Import):
            found.update(alias.name.split(".")[0] for alias in sub.names)
        elif isinstance(sub, ast.ImportFrom) and sub.level == 0 and sub.module:
            found.add(sub.module.split(".")[0])
    return found


def _tree_digest(tree, relatives):
    digest = Digest()
    for relative in relatives:
        digest.file(f"{tree.name}/{relative}", os.path.join(tree.source, relative))
    return digest.hexdigest()


def function_digests(*, script_path, versions, wit_dir, entry_template, trees, distributions=None):
    """`{function name: "sha256:<hex>"}` for the top-level functions of `script_path` (see
    above); `{}` if the script cannot be parsed here. `distributions`: the installed ones
    (`deps.distributions` of the `site-packages` tree), by name."""
    with open(script_path, encoding="utf-8") as f:
        source = f.read()
    try:
        tree = ast.parse(source, os.path.basename(script_path))
    except SyntaxError:
        return {}
    base = Digest()
    base.field("jug-py function digest", "1")
    for label, version in sorted(versions.items()):
        base.field(f"version {label}", version)
    for relative in files_under(wit_dir, ".wit"):
        base.file(f"wit {relative}", os.path.join(wit_dir, relative))
    base.field("entry template", entry_template)
    base.field("script name", os.path.basename(script_path))
    app = next(t for t in trees if t.name == "app")
    site = next((t for t in trees if t.name == SITE_TREE), None)
    distributions = distributions or {}
    for t in trees:
        if t is not app and t is not site:
            base.field("tree", t.name)
            for relative in t.files:
                base.file(f"{t.name}/{relative}", os.path.join(t.source, relative))
    base = base.hexdigest()

    statements = tree.body
    plain = [not isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom))
             for s in statements]  # fmt: skip
    dumps = [ast.dump(s, include_attributes=False) for s in statements]
    uses = [_uses(s) for s in statements]
    bound = [_bound_names(s) for s in statements]
    touched = [_touched(s) if p else set() for s, p in zip(statements, plain)]
    dynamic = [bool(_identifiers(s) & DYNAMIC_NAMES) for s in statements]
    # `from m import *` binds names no one can list: every function counts it.
    star = [isinstance(s, ast.ImportFrom) and any(a.name == "*" for a in s.names) for s in statements]
    module_of = {relative: relative.split("/")[0].removesuffix(".py") for relative in app.files}
    local_names = set(module_of.values())
    # What each local module imports (its files together), to follow it to installed packages.
    local_imports = {name: set() for name in local_names}
    for relative in app.files:
        if relative.endswith(".py"):
            with open(os.path.join(app.source, relative), encoding="utf-8", errors="replace") as f:
                try:
                    local_imports[module_of[relative]] |= _imports(ast.parse(f.read()))
                except SyntaxError:  # newer syntax than this Python's: it may import anything
                    local_imports[module_of[relative]].add("*")
    distribution_digests = {
        name: _tree_digest(site, d.files) for name, d in distributions.items()
    } if site else {}  # fmt: skip

    digests = {}
    for index, statement in enumerate(statements):
        if not isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        counted = {index} | {i for i, is_star in enumerate(star) if is_star}
        names = set()
        pending = sorted(counted)
        while pending:
            i = pending.pop()
            new = uses[i] - names
            names |= new
            for j in range(len(statements)):
                if j not in counted and (bound[j] & new or touched[j] & new):
                    counted.add(j)
                    pending.append(j)
        imported = set()
        for i in counted:
            imported |= _imports(statements[i])
        everything = any(dynamic[i] for i in counted) or any(dynamic[i] for i, p in enumerate(plain) if p)
        if everything:
            counted = set(range(len(statements)))
            modules = local_names
        else:
            modules = imported & local_names
            pending = list(modules)
            while pending:  # local modules that import local modules
                for name in local_imports[pending.pop()] & local_names - modules:
                    modules.add(name)
                    pending.append(name)
        for name in modules:
            imported |= local_imports[name]
        if everything or "*" in imported:
            covered = sorted(distributions)
        else:
            covered = deps.closure(distributions, imported)
        digest = Digest()
        digest.field("base", base)
        digest.field("function", statement.name)
        for i in sorted(counted):
            digest.field("statement", dumps[i])
        for relative in app.files:
            if module_of[relative] in modules:
                digest.file(f"app/{relative}", os.path.join(app.source, relative))
        for name in covered:
            digest.field("distribution", f"{name} {distribution_digests[name]}")
        digests[statement.name] = "sha256:" + digest.hexdigest()
    return digests
