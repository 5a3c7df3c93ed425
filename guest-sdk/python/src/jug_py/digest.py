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
import os

# Never bundled (nor hashed): version control, caches, and compiled bytecode, which CPython
# would otherwise prefer to a source that changed without touching its timestamp.
SKIPPED_DIRS = {"__pycache__", ".git", ".hg", ".svn", ".mypy_cache", ".pytest_cache"}
SKIPPED_SUFFIXES = (".pyc", ".pyo")


class Digest:
    def __init__(self):
        self._hash = hashlib.sha256()
        self.field("jug-py code digest", b"2")

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


def bundle(*, script_path, sdk_runtime_dir, python_path):
    """The trees a build of `script_path` gives componentize-py, in import order: the script's
    local modules (`app`, where the entry module goes too), the SDK (`sdk`), then each `-p`
    directory (`path 0`, `path 1`…)."""
    script_dir = os.path.dirname(os.path.abspath(script_path))
    sdk_parent = os.path.dirname(sdk_runtime_dir)
    sdk_package = os.path.basename(sdk_runtime_dir)
    trees = [
        Tree("app", script_dir, local_modules(script_path)),
        Tree("sdk", sdk_parent, [f"{sdk_package}/{p}" for p in files_under(sdk_runtime_dir)]),
    ]
    for i, path in enumerate(python_path):
        trees.append(Tree(f"path {i}", path, files_under(path)))
    return trees


def code_digest(*, versions, wit_dir, entry_module, trees):
    """`sha256:<hex>` for a build that bundles `entry_module` (its source) and `trees` (see the
    module's docs)."""
    digest = Digest()
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
