"""The declared code digest of a component built from a script: what its behaviour depends on.

componentize-py never produces the same bytes twice, so jug-host cannot key tasks by the
component's bytes; instead the component declares (custom section `jug-code-digest`) a
sha256 over the SDK and toolchain versions, the SDK's guest runtime, the WIT contract, the
entry template, the script and every local module it imports, and every file of the extra
module directories. Equal digests promise equal behaviour; an edit to any of these changes it.
"""

import ast
import hashlib
import os

SKIPPED_DIRS = {"__pycache__", ".git", ".hg", ".svn", ".mypy_cache", ".pytest_cache"}


class Digest:
    def __init__(self):
        self._hash = hashlib.sha256()
        self.field("jug-py code digest", b"1")

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
    directories; only names ending in `suffix` if given."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS)
        for filename in filenames:
            if suffix and not filename.endswith(suffix):
                continue
            if filename.endswith((".pyc", ".pyo")):
                continue
            relative = os.path.relpath(os.path.join(dirpath, filename), root)
            found.append(relative.replace(os.sep, "/"))
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
    directory) of modules `x.py` and packages `x/` found next to the script."""
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
                new = [f"{name}/{p}" for p in files_under(package_dir, ".py")]
            else:
                continue  # not local: the standard library, cbor2, the SDK, an extra path
            for relative in new:
                files.append(relative)
                path = os.path.join(root, relative)
                with open(path, encoding="utf-8", errors="replace") as f:
                    pending.append((f.read(), path))
    return sorted(files)


def code_digest(*, versions, sdk_runtime_dir, wit_dir, template, script_path, extra_paths):
    """`sha256:<hex>` for a build of `script_path` (see the module's docs)."""
    digest = Digest()
    for label, version in sorted(versions.items()):
        digest.field(f"version {label}", version)
    for relative in files_under(sdk_runtime_dir, ".py"):
        digest.file(f"sdk {relative}", os.path.join(sdk_runtime_dir, relative))
    for relative in files_under(wit_dir, ".wit"):
        digest.file(f"wit {relative}", os.path.join(wit_dir, relative))
    digest.field("entry template", template)
    digest.field("script name", os.path.basename(script_path))
    digest.file("script", script_path)
    root = os.path.dirname(os.path.abspath(script_path))
    for relative in local_modules(script_path):
        digest.file(f"local {relative}", os.path.join(root, relative))
    for i, extra in enumerate(extra_paths):
        for relative in files_under(extra):
            digest.file(f"extra {i} {relative}", os.path.join(extra, relative))
    return "sha256:" + digest.hexdigest()
