"""A script's declared PyPI dependencies: read, locked, installed for the component's CPython.

The component runs CPython 3.14 on WebAssembly (WASI), whatever Python runs jug-py, so
packages are installed *for the guest*: pip with `--target`, `--python-version 3.14` and
`--platform any`, wheels only. A wheel for platform `any` is pure Python; a package that only
has platform wheels needs a C extension, which cannot load in the component.

- Requirements: `--requirements FILE`, else `requirements.txt` beside the script, else
  `[project] dependencies` of `pyproject.toml` beside it. None of them: no dependencies.
- Lock (`<script stem>.lock` beside the script, like Cargo.lock): the resolved wheels, one
  `name==version --hash=sha256:…` line each, which `pip --require-hashes` installs as they are,
  and the requirements they were resolved from. Created when missing; honoured when present
  and the requirements are the ones it records; resolved again (and rewritten) when they
  drifted, unless `--locked`, which fails then.
- Installed once per lock into `$JUG_PY_CACHE/site-packages/<sha256 of the pins>` (default
  `~/.cache/jug-py`), a directory no one else writes: that tree is what the component bundles
  and the digest covers.
"""

import email.parser
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

# The component's interpreter (componentize-py 0.25.1 embeds CPython 3.14) and what pip must
# accept for it: pure-Python wheels only.
TARGET = [
    "--only-binary=:all:", "--python-version", "3.14", "--implementation", "cp",
    "--abi", "cp314", "--abi", "abi3", "--abi", "none", "--platform", "any",
]  # fmt: skip
# Platforms a package with C extensions publishes wheels for: used only to explain a failure.
NATIVE_PLATFORMS = ["--platform", "manylinux2014_x86_64", "--platform", "win_amd64", "--platform", "macosx_11_0_arm64"]
PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
LOCK_HEADER = "# jug-py lock file: the wheels installed into this script's component. Written by jug-py build.\n"
REQUIREMENT_PREFIX = "# requirement: "


class DependencyError(Exception):
    """A one-line reason the dependencies cannot be installed (the build fails, exit code 1)."""


def cache_dir():
    return os.environ.get("JUG_PY_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "jug-py")


def find_requirements(script_path, explicit=None):
    """`(source, [requirement lines])` for a script, or `(None, [])` if it declares none.
    Comments and blank lines are dropped; pip options (`--index-url`, `-r other.txt`) are kept."""
    script_dir = os.path.dirname(os.path.abspath(script_path))
    if explicit:
        return explicit, _read_requirements(explicit)
    txt = os.path.join(script_dir, "requirements.txt")
    if os.path.isfile(txt):
        return txt, _read_requirements(txt)
    pyproject = os.path.join(script_dir, "pyproject.toml")
    if os.path.isfile(pyproject):
        try:
            import tomllib
        except ImportError:  # Python < 3.11 runs jug-py
            raise DependencyError(f"{pyproject}: reading it needs Python 3.11+; use a requirements.txt") from None
        try:
            with open(pyproject, "rb") as f:
                dependencies = tomllib.load(f).get("project", {}).get("dependencies", [])
        except tomllib.TOMLDecodeError as e:
            raise DependencyError(f"{pyproject}: {e}") from None
        if dependencies:
            return pyproject, [str(d).strip() for d in dependencies]
    return None, []


def _read_requirements(path):
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as e:
        raise DependencyError(f"cannot read the requirements {path}: {e.strerror}") from None
    kept = []
    for line in lines:
        line = re.sub(r"(^|\s)#.*", "", line).strip()
        if line:
            kept.append(line)
    return kept


def lock_path(script_path):
    stem = os.path.splitext(os.path.abspath(script_path))[0]
    return stem + ".lock"


def read_lock(path):
    """`(requirements, pins)` recorded in a lock file, or None if there is none."""
    if not os.path.isfile(path):
        return None
    requirements, pins = [], []
    with open(path, encoding="utf-8") as f:
        for line in f.read().splitlines():
            if line.startswith(REQUIREMENT_PREFIX):
                requirements.append(line[len(REQUIREMENT_PREFIX) :])
            elif line.strip() and not line.startswith("#"):
                pins.append(line.strip())
    return requirements, pins


def write_lock(path, requirements, pins):
    text = LOCK_HEADER + "".join(f"{REQUIREMENT_PREFIX}{r}\n" for r in requirements) + "".join(f"{p}\n" for p in pins)
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(temporary, path)


def _pip(arguments, cwd):
    return subprocess.run(PIP + arguments, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=cwd, text=True)


def resolve(requirements, cwd):
    """Resolves requirement lines for the guest: `name==version --hash=sha256:…` lines, sorted."""
    with tempfile.TemporaryDirectory(prefix="jug-py-resolve-") as scratch:
        listed = os.path.join(scratch, "requirements.txt")
        with open(listed, "w", encoding="utf-8") as f:
            f.write("".join(f"{r}\n" for r in requirements))
        report = os.path.join(scratch, "report.json")
        done = _pip(
            ["install", "--dry-run", "--ignore-installed", "--quiet", "--report", report, *TARGET,
             "--target", os.path.join(scratch, "target"), "-r", listed],
            cwd,
        )  # fmt: skip
        if done.returncode != 0:
            raise DependencyError(_explain(done.stdout, cwd))
        with open(report, encoding="utf-8") as f:
            installs = json.load(f)["install"]
    pins = []
    for item in installs:
        name, version = item["metadata"]["name"], item["metadata"]["version"]
        digest = item.get("download_info", {}).get("archive_info", {}).get("hashes", {}).get("sha256")
        if not digest:
            raise DependencyError(
                f"{name} {version} does not come from an index with hashes; jug-py only locks index wheels"
            )
        pins.append(f"{normalize(name)}=={version} --hash=sha256:{digest}")
    return sorted(pins)


def _explain(output, cwd):
    """One line for pip's failure: above all, a package that exists only with C extensions."""
    missing = re.search(r"No matching distribution found for ([^\s]+)", output)
    if missing:
        requirement = missing.group(1)
        name = re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0]
        with tempfile.TemporaryDirectory(prefix="jug-py-resolve-") as scratch:
            native = _pip(["install", "--dry-run", "--ignore-installed", "--quiet", "--no-deps", "--only-binary=:all:",
                           *NATIVE_PLATFORMS, "--target", scratch, requirement], cwd)  # fmt: skip
        if native.returncode == 0:
            return (
                f"{name} has no pure-Python wheel, only builds with C extensions, which cannot load in the "
                f"component's CPython (WebAssembly): only pure-Python packages can be dependencies; remove {name}"
            )
        return (
            f"no pure-Python wheel of {requirement} for CPython 3.14 on the package index "
            "(jug-py installs wheels only)"
        )
    errors = [line.strip() for line in output.splitlines() if line.startswith("ERROR:")]
    detail = errors[-1][len("ERROR:") :].strip() if errors else "see `pip install` for details"
    return f"pip could not resolve the requirements: {detail}"


def normalize(name):
    """PEP 503's normalised distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def locked_pins(script_path, requirements, requirements_source, locked):
    """The pins for a build: the lock's when it matches the requirements, else newly resolved
    (and written), or a `DependencyError` under `locked`."""
    path = lock_path(script_path)
    recorded = read_lock(path)
    name = os.path.basename(path)
    if recorded is not None and recorded[0] == requirements:
        return recorded[1]
    if locked:
        if recorded is None:
            raise DependencyError(f"--locked: there is no {name}; build once without --locked to create it")
        raise DependencyError(
            f"--locked: {os.path.basename(requirements_source)} changed since {name} was written; "
            "build without --locked to update it"
        )
    pins = resolve(requirements, os.path.dirname(os.path.abspath(requirements_source)))
    write_lock(path, requirements, pins)
    return pins


def install(pins):
    """The directory holding the wheels `pins` installed for the guest (installed on first use,
    then reused: it is keyed by the pins, hashes included)."""
    key = hashlib.sha256("".join(f"{p}\n" for p in pins).encode()).hexdigest()
    target = os.path.join(cache_dir(), "site-packages", key)
    if os.path.isdir(target):
        return target
    os.makedirs(os.path.dirname(target), exist_ok=True)
    scratch = tempfile.mkdtemp(prefix=f".{key[:12]}-", dir=os.path.dirname(target))
    try:
        listed = os.path.join(scratch, "pins.txt")
        with open(listed, "w", encoding="utf-8") as f:
            f.write("".join(f"{p}\n" for p in pins))
        staged = os.path.join(scratch, "site")
        done = _pip(
            ["install", "--quiet", "--no-deps", "--require-hashes", "--no-compile", "--ignore-installed", *TARGET,
             "--target", staged, "-r", listed],
            scratch,
        )  # fmt: skip
        if done.returncode != 0:
            sys.stderr.write(done.stdout)
            raise DependencyError("pip could not install the locked wheels (its output is above)")
        # Console scripts are not importable, and name the build machine's interpreter.
        shutil.rmtree(os.path.join(staged, "bin"), ignore_errors=True)
        try:
            os.replace(staged, target)
        except OSError:  # another build installed the same pins meanwhile
            if not os.path.isdir(target):
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


class Distribution:
    """An installed distribution: its files (relative to the site directory), the top-level
    module names they provide, and the names of the distributions it requires."""

    def __init__(self, name, files, modules, requires):
        self.name = name
        self.files = files
        self.modules = modules
        self.requires = requires


def distributions(site):
    """The distributions installed in `site`, by normalised name, read from their
    `*.dist-info` (METADATA: Requires-Dist, whatever its markers; RECORD: files)."""
    found = {}
    for entry in sorted(os.listdir(site)):
        if not entry.endswith(".dist-info"):
            continue
        info = os.path.join(site, entry)
        with open(os.path.join(info, "METADATA"), encoding="utf-8", errors="replace") as f:
            metadata = email.parser.Parser().parse(f, headersonly=True)
        requirements = metadata.get_all("Requires-Dist") or []
        requires = {normalize(re.split(r"[\s<>=!~;\[(]", r.strip(), maxsplit=1)[0]) for r in requirements}
        files, modules = [], set()
        with open(os.path.join(info, "RECORD"), encoding="utf-8") as f:
            for row in f.read().splitlines():
                relative = row.rsplit(",", 2)[0].strip('"')
                if not relative or relative.startswith("..") or not os.path.isfile(os.path.join(site, relative)):
                    continue
                if "__pycache__/" in relative:
                    continue
                files.append(relative)
                top = relative.split("/")[0]
                if top != entry and not top.endswith((".dist-info", ".data", ".pth")):
                    modules.add(top[:-3] if top.endswith(".py") else top.split(".")[0])
        found[normalize(metadata["Name"])] = Distribution(normalize(metadata["Name"]), sorted(files), modules, requires)
    return found


def closure(distributions_by_name, imported_names):
    """The distributions a module importing `imported_names` (top-level names) can run: those
    providing the names, and everything they require, transitively (installed ones only)."""
    pending = [d.name for d in distributions_by_name.values() if d.modules & imported_names]
    covered = set()
    while pending:
        name = pending.pop()
        if name in covered or name not in distributions_by_name:
            continue
        covered.add(name)
        pending.extend(distributions_by_name[name].requires)
    return sorted(covered)
