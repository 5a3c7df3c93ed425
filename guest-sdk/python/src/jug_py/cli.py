"""`jug-py build SCRIPT.py [-o OUT.wasm] [-p DIR ...] [--requirements FILE] [--locked]
[--include PKG ...] [--force]`: a Jug script to a jug-host task component, with componentize-py.

The output declares its code digest (custom section `jug-code-digest`, see `digest.py`); an
output that already declares the digest of the current sources is up to date and is not
rebuilt (componentize-py takes 15-30 s).

componentize-py is called through its Python API with the staged directories only: its
command line would add the site-packages of `VIRTUAL_ENV`, of `pipenv` or of the first
`python3` on `PATH` on its own, which the digest could not know about.
"""

import argparse
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from . import __version__, deps, digest, entry, wasm

SRC_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # guest-sdk/python/src
RUNTIME_DIR = os.path.join(SRC_DIR, "jug")
SDK_DIR = os.path.dirname(SRC_DIR)  # guest-sdk/python
COMPONENTIZE_PY_VERSION = "0.25.1"
# Keep in step with jug/_runtime.py (the runtime is not imported here: it is the guest's).
BUILD_ERROR_START = "----- jug: the script failed while the component was built -----"
BUILD_ERROR_END = "----- end -----"
# Runs componentize-py's API with the arguments in argv[1] (JSON).
COMPONENTIZE = "import json, sys, componentize_py; componentize_py.componentize(**json.loads(sys.argv[1]))"
RESERVED_NAMES = {
    "jug",
    "jug_py",
    "wit_world",
    "componentize_py_types",
    "componentize_py_runtime",
    "poll_loop",
    entry.ENTRY_MODULE,
}


class Failure(Exception):
    """A one-line error and the exit code that goes with it."""

    def __init__(self, message, code=1):
        super().__init__(message)
        self.code = code


def wit_dir():
    found = os.environ.get("JUG_WIT_DIR") or os.path.join(SDK_DIR, "..", "..", "wit")
    found = os.path.normpath(os.path.abspath(found))
    if not os.path.isfile(os.path.join(found, "task.wit")):
        raise Failure(f"cannot find the jug:task WIT contract (task.wit) in {found}: set JUG_WIT_DIR")
    return found


def componentize_py_version():
    try:
        return importlib.metadata.version("componentize-py")
    except importlib.metadata.PackageNotFoundError:
        raise Failure(f"componentize-py is not installed for {sys.executable}: run scripts/sdk/python") from None


class Build:
    def __init__(self, script, output, extra_paths, requirements=None, locked=False, include=()):
        if not os.path.isfile(script):
            raise Failure(f"no such script: {script}", 2)
        self.script_arg = script
        self.script = os.path.abspath(script)
        base = os.path.basename(self.script)
        self.name = base[:-3] if base.endswith(".py") else os.path.splitext(base)[0]
        if self.name in RESERVED_NAMES or self.name in getattr(sys, "stdlib_module_names", ()):
            raise Failure(f"{base}: a script cannot be named after the module `{self.name}`; rename it", 2)
        for extra in extra_paths:
            if not os.path.isdir(extra):
                raise Failure(f"-p {extra}: no such directory", 2)
        if requirements and not os.path.isfile(requirements):
            raise Failure(f"--requirements {requirements}: no such file", 2)
        for name in include:
            if not all(part.isidentifier() for part in name.split(".")):
                raise Failure(f"--include {name}: not a module name", 2)
        self.extra_paths = [os.path.abspath(p) for p in extra_paths]
        self.output = os.path.abspath(output or f"{self.name}.wasm")
        self.wit = wit_dir()
        self.versions = {"jug-py": __version__, "componentize-py": componentize_py_version()}
        with open(self.script, encoding="utf-8") as f:
            self.source = f.read()
        # The script's file name, not its path: the component must not depend on where the
        # checkout is (the script sees it as `__file__`, tracebacks show it).
        self.include = sorted(set(include))
        self.entry_module = entry.render(base, self.name, self.source, self.include)
        site = self.install_dependencies(requirements, locked)
        self.trees = digest.bundle(
            script_path=self.script, sdk_runtime_dir=RUNTIME_DIR, python_path=self.extra_paths, site=site
        )
        self.functions = digest.function_digests(
            script_path=self.script, versions=self.versions, wit_dir=self.wit,
            # --include changes what every function's module state is: part of the base.
            entry_template=entry.TEMPLATE + repr(self.include), trees=self.trees,
            distributions=deps.distributions(site) if site else None,
        )  # fmt: skip
        self.digest = digest.code_digest(
            versions=self.versions, wit_dir=self.wit, entry_module=self.entry_module, trees=self.trees,
            functions=self.functions,
        )  # fmt: skip

    def install_dependencies(self, requirements, locked):
        """The directory of the script's installed dependencies (see deps.py), or None."""
        try:
            source, lines = deps.find_requirements(self.script, requirements)
            if not lines:
                return None
            pins = deps.locked_pins(self.script, lines, source, locked)
            return deps.install(pins) if pins else None
        except deps.DependencyError as e:
            raise Failure(str(e)) from None

    def up_to_date(self):
        return wasm.declared_digest(self.output) == self.digest.encode()

    def run(self):
        if self.versions["componentize-py"] != COMPONENTIZE_PY_VERSION:
            print(
                f"jug-py: warning: componentize-py {self.versions['componentize-py']} is installed; "
                f"this SDK is tested with {COMPONENTIZE_PY_VERSION}",
                file=sys.stderr,
            )
        out_dir = os.path.dirname(self.output)
        os.makedirs(out_dir, exist_ok=True)
        staging = tempfile.mkdtemp(prefix="jug-py-")
        temporary = os.path.join(out_dir, f".{os.path.basename(self.output)}.{os.getpid()}.tmp")
        try:
            python_path = self.stage(staging)
            arguments = {
                "wit_path": [self.wit], "worlds": ["task"], "features": [], "all_features": False,
                "world_module": None, "python_path": python_path, "module_worlds": [],
                "app_name": entry.ENTRY_MODULE, "output_path": temporary, "stub_wasi": False,
                "import_interface_names": [], "export_interface_names": [], "full_names": False,
                "intersect_world": None,
            }  # fmt: skip
            # In a process of its own (`-I`: no PYTHONPATH, no user site-packages), so that
            # its output can be shown or summed up (see `failure`).
            command = [sys.executable, "-I", "-c", COMPONENTIZE, json.dumps(arguments)]
            env = dict(os.environ, RUST_BACKTRACE="0", RUST_LIB_BACKTRACE="0")
            started = time.monotonic()
            done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=staging)
            seconds = time.monotonic() - started
            if done.returncode != 0 or not os.path.isfile(temporary):
                raise Failure(self.failure(done.stdout.decode(errors="replace")))
            with open(temporary, "ab") as f:
                if self.functions:
                    table = json.dumps(self.functions, sort_keys=True, separators=(",", ":"))
                    f.write(wasm.custom_section(wasm.FUNCTIONS_SECTION, table.encode()))
                f.write(wasm.custom_section(wasm.DIGEST_SECTION, self.digest.encode()))
            os.replace(temporary, self.output)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            if os.path.exists(temporary):
                os.unlink(temporary)
        size = os.path.getsize(self.output) / 1e6
        print(f"jug-py: built {self.display()} ({size:.1f} MB, {self.digest[:19]}…) in {seconds:.1f} s")

    def stage(self, staging):
        """Copies the bundle (see `digest.bundle`) into `staging`, one directory per tree, and
        returns them: componentize-py's python path."""
        python_path = []
        for i, tree in enumerate(self.trees):
            target_root = os.path.join(staging, str(i))
            os.makedirs(target_root)
            for relative in tree.files:
                target = os.path.join(target_root, relative)
                os.makedirs(os.path.dirname(target), exist_ok=True)
                shutil.copyfile(os.path.join(tree.source, relative), target)
            python_path.append(target_root)
        with open(os.path.join(python_path[0], entry.ENTRY_MODULE + ".py"), "w", encoding="utf-8") as f:
            f.write(self.entry_module)
        return python_path

    def failure(self, output):
        """Shows why componentize-py failed and returns the one-line error: the script's own
        traceback when it failed while the component was pre-initialised (see
        `jug._runtime.define`), else all that componentize-py printed."""
        start = output.find(BUILD_ERROR_START)
        end = output.find(BUILD_ERROR_END, start)
        if start < 0 or end < 0:
            sys.stderr.write(output)
            return f"componentize-py failed to build {self.script_arg} (its output is above)"
        report = output[start + len(BUILD_ERROR_START) : end].strip("\n")
        sys.stderr.write(report + "\n")
        last = report.splitlines()[-1] if report else "an error"
        return f"{self.script_arg} failed while the component was built: {last}"

    def display(self):
        return os.path.relpath(self.output) if not os.path.relpath(self.output).startswith("..") else self.output


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="jug-py", description="Builds Jug scripts into jug-host task components.")
    parser.add_argument("--version", action="version", version=f"jug-py {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(sub):
        sub.add_argument("script", metavar="SCRIPT.py", help="the Jug script (task functions and graph code)")
        sub.add_argument(
            "-p", "--python-path", action="append", default=[], metavar="DIR",
            help="another directory of modules the script imports (may be repeated)",
        )  # fmt: skip
        sub.add_argument(
            "-r", "--requirements", metavar="FILE",
            help="PyPI requirements to install for the component (default: requirements.txt, else "
            "pyproject.toml's [project] dependencies, beside the script)",
        )  # fmt: skip
        sub.add_argument(
            "--locked", action="store_true", help="fail if the requirements no longer match <script stem>.lock"
        )
        sub.add_argument(
            "--include", action="append", default=[], metavar="PKG",
            help="import every module of PKG while building, for tasks that import them at run time (may be repeated)",
        )  # fmt: skip

    build = commands.add_parser("build", help="build SCRIPT.py into a component (skipped when up to date)")
    common(build)
    build.add_argument(
        "-o", "--output", metavar="OUT.wasm", help="default: <script stem>.wasm in the current directory"
    )
    build.add_argument("--force", action="store_true", help="build even if OUT.wasm is up to date")
    digest_command = commands.add_parser("digest", help="print the code digest a build of SCRIPT.py would declare")
    common(digest_command)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        if args.command == "digest":
            print(Build(args.script, None, args.python_path, args.requirements, args.locked, args.include).digest)
            return 0
        build = Build(args.script, args.output, args.python_path, args.requirements, args.locked, args.include)
        if not args.force and build.up_to_date():
            print(f"jug-py: {build.display()} is up to date")
            return 0
        build.run()
        return 0
    except Failure as e:
        print(f"jug-py: {e}", file=sys.stderr)
        return e.code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
