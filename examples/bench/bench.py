# The benchmark graph of examples/bench in Python: N independent tasks that do almost nothing
# (N after `--`, default 1,000), so what is measured is jug-host and the SDK's per-task cost.
#   jug-py build bench.py && jug-host execute bench.wasm -- 10000
import sys

from jug import TaskGenerator


@TaskGenerator
def double(x):
    return 2 * x


N = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
for i in range(N):
    double(i)
