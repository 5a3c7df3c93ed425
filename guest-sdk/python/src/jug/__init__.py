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

from . import log, mapreduce
from ._component import component
from ._errors import BarrierError, JugError
from ._limits import limits
from ._results import barrier, bvalue, value
from ._wrappers import CustomHash, Directory, InputFile, NoHash, directory, file
from .task import Task, TaskGenerator, Tasklet, identity, iteratetask

__version__ = "0.1.0"

__all__ = [
    "BarrierError",
    "CustomHash",
    "Directory",
    "InputFile",
    "JugError",
    "NoHash",
    "Task",
    "TaskGenerator",
    "Tasklet",
    "barrier",
    "bvalue",
    "component",
    "directory",
    "file",
    "identity",
    "iteratetask",
    "limits",
    "log",
    "mapreduce",
    "value",
]
