"""`jug-py build SCRIPT.py [-o OUT.wasm] [-p DIR ...] [--force]`: a Jug script to a jug-host
task component, with componentize-py.

The output declares its code digest (custom section `jug-code-digest`, see `digest.py`); an
output that already declares the digest of the current sources is up to date and is not
rebuilt (componentize-py takes 15-30 s).
"""

import argparse
import glob
import importlib.metadata
import os
import shutil
import subprocess
import sys
import tempfile
import time

from . import __version__, digest, entry, wasm

SRC_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # guest-sdk/python/src
RUNTIME_DIR = os.path.join(SRC_DIR, "jug")
SDK_DIR = os.path.dirname(SRC_DIR)  # guest-sdk/python
COMPONENTIZE_PY_VERSION = "0.25.1"
# Keep in step with jug/_runtime.py (the runtime is not imported here: it is the guest's).
BUILD_ERROR_START = "----- jug: the script failed while the component was built -----"
BUILD_ERROR_END = "----- end -----"
RESERVED_NAMES = {
    "jug",
    "jug_py",
    "cbor2",
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


def default_pydeps():
    """scripts/sdk/python installs the venv running this tool and `pydeps` side by side."""
    return os.path.join(os.path.dirname(sys.prefix), "pydeps")


def wit_dir():
    found = os.environ.get("JUG_WIT_DIR") or os.path.join(SDK_DIR, "..", "..", "wit")
    found = os.path.normpath(os.path.abspath(found))
    if not os.path.isfile(os.path.join(found, "task.wit")):
        raise Failure(f"cannot find the jug:task WIT contract (task.wit) in {found}: set JUG_WIT_DIR")
    return found


def pydeps_dir():
    """The directory with the pure-Python cbor2, and cbor2's version."""
    found = os.path.abspath(os.environ.get("JUG_PY_DEPS") or default_pydeps())
    if not os.path.isfile(os.path.join(found, "cbor2", "_encoder.py")):
        raise Failure(f"no pure-Python cbor2 in {found}: run scripts/sdk/python (or set JUG_PY_DEPS)")
    versions = []
    for metadata in glob.glob(os.path.join(found, "cbor2-*.dist-info", "METADATA")):
        with open(metadata, encoding="utf-8") as f:
            versions += [line.split(":", 1)[1].strip() for line in f if line.startswith("Version:")]
    if len(versions) != 1:
        raise Failure(f"cannot tell which cbor2 version is in {found}: reinstall it with scripts/sdk/python")
    return found, versions[0]


def componentize_py_version():
    try:
        return importlib.metadata.version("componentize-py")
    except importlib.metadata.PackageNotFoundError:
        raise Failure(f"componentize-py is not installed for {sys.executable}: run scripts/sdk/python") from None


def installed_distributions():
    """What `pip` installed next to jug-py: componentize-py also bundles modules from this
    environment's site-packages, so their versions are part of the digest."""
    names = set()
    for dist in importlib.metadata.distributions():
        name = (dist.metadata["Name"] or "").lower()
        if name and name not in ("pip", "setuptools", "wheel"):  # what `python -m venv` brings
            names.add(f"{name}=={dist.version}")
    return "\n".join(sorted(names))


class Build:
    def __init__(self, script, output, extra_paths):
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
        self.extra_paths = [os.path.abspath(p) for p in extra_paths]
        self.output = os.path.abspath(output or f"{self.name}.wasm")
        self.wit = wit_dir()
        self.pydeps, cbor2_version = pydeps_dir()
        self.versions = {
            "jug-py": __version__,
            "componentize-py": componentize_py_version(),
            "cbor2": cbor2_version,
            "site-packages": installed_distributions(),
        }
        with open(self.script, encoding="utf-8") as f:
            self.source = f.read()
        self.digest = digest.code_digest(
            versions=self.versions,
            sdk_runtime_dir=RUNTIME_DIR,
            wit_dir=self.wit,
            template=entry.TEMPLATE,
            script_path=self.script,
            extra_paths=self.extra_paths,
        )

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
            with open(os.path.join(staging, entry.ENTRY_MODULE + ".py"), "w", encoding="utf-8") as f:
                f.write(entry.render(self.script, self.name, self.source))
            # The local modules the digest covers, and nothing else of the script's directory.
            root = os.path.dirname(self.script)
            for relative in digest.local_modules(self.script):
                target = os.path.join(staging, relative)
                os.makedirs(os.path.dirname(target), exist_ok=True)
                shutil.copyfile(os.path.join(root, relative), target)
            command = [
                sys.executable, "-c",
                "import sys; from componentize_py import script; sys.argv[0] = 'componentize-py'; sys.exit(script())",
                "-d", self.wit, "-w", "task", "componentize", entry.ENTRY_MODULE, "-o", temporary,
                "-p", staging, "-p", SRC_DIR, "-p", self.pydeps,
            ]  # fmt: skip
            for extra in self.extra_paths:
                command += ["-p", extra]
            env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
            env["RUST_BACKTRACE"] = env["RUST_LIB_BACKTRACE"] = "0"
            env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if "pipenv" not in p)
            started = time.monotonic()
            done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=staging)
            seconds = time.monotonic() - started
            if done.returncode != 0 or not os.path.isfile(temporary):
                raise Failure(self.failure(done.stdout.decode(errors="replace")))
            with open(temporary, "ab") as f:
                f.write(wasm.custom_section(wasm.DIGEST_SECTION, self.digest.encode()))
            os.replace(temporary, self.output)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            if os.path.exists(temporary):
                os.unlink(temporary)
        size = os.path.getsize(self.output) / 1e6
        print(f"jug-py: built {self.display()} ({size:.1f} MB, {self.digest[:19]}…) in {seconds:.1f} s")

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
            print(Build(args.script, None, args.python_path).digest)
            return 0
        build = Build(args.script, args.output, args.python_path)
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
