"""jug: Jug task graphs in Python, compiled to a WebAssembly component for jug-host.

```python
from jug import TaskGenerator

@TaskGenerator
def is_prime(n):
    return n >= 2 and all(n % d for d in range(2, int(n ** 0.5) + 1))

@TaskGenerator
def count_primes(flags):
    return sum(flags)

primes100 = [is_prime(n) for n in range(2, 101)]
count_primes(primes100)
```

`jug-py build primes.py` makes `primes.wasm`; `jug-host execute primes.wasm` runs it. See
guest-sdk/python/README.md.
"""

from . import _state, log, mapreduce
from ._component import component
from ._errors import BarrierError, JugError
from ._limits import limits
from ._results import CachedFunction, barrier, bvalue, value
from ._unsupported import SandboxError, stand_in
from ._wrappers import CustomHash, Directory, InputFile, NoHash, directory, file
from .compound import CompoundTask, CompoundTaskGenerator
from .task import Task, TaskGenerator, Tasklet, identity, iteratetask

__version__ = "0.1.0"

__all__ = [
    "BarrierError",
    "CachedFunction",
    "CompoundTask",
    "CompoundTaskGenerator",
    "CustomHash",
    "Directory",
    "InputFile",
    "JugError",
    "NoHash",
    "SandboxError",
    "Task",
    "TaskGenerator",
    "Tasklet",
    "barrier",
    "bvalue",
    "component",
    "directory",
    "file",
    "identity",
    "init",
    "is_jug_running",
    "iteratetask",
    "limits",
    "log",
    "mapreduce",
    "set_jugdir",
    "value",
]


def is_jug_running():
    """Jug's `is_jug_running()`: True while jug-host runs the script (building the component,
    building the graph, running a task), False under plain Python."""
    return _state.mode != "native"


set_jugdir = stand_in(
    "jug.set_jugdir",
    "chooses the store from inside the script, but jug-host's store is the command's",
    "remove it and give jug-host --store (alias --jugdir) or JUG_STORE",
)

init = stand_in(
    "jug.init",
    "loads a jugfile and its results into plain Python, which a jug-host graph is not",
    "outside the graph use the jug_host package (jug_host.open('graph.wasm')); inside it, value() and bvalue()",
)
