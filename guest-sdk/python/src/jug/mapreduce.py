"""Jug's `jug.mapreduce`: apply a task function to many inputs, and fold many results, in
fewer, bigger tasks.

`map(f, inputs, map_step)` declares one task `<f>.map` per `map_step` inputs, which runs `f`
on each input of its chunk, and returns one tasklet per input, in order. `reduce(f, values,
reduce_step)` folds with `f(a, b)` (which should be associative), `reduce_step` values per
`<f>.reduce` task, level by level until one is left. The tasks are those of the Rust SDK's
`jug::mapreduce`; unlike Jug's `mapreduce`, which folds each chunk inside its map task,
`mapreduce` here is `map` then `reduce`, so its tree starts from one value per input.

`f` must be a task function (`@TaskGenerator`, or a function of the script's top level).
"""

from ._errors import JugError
from .task import Task, TaskGenerator, _declare, register


def _function(f, what):
    if not isinstance(f, TaskGenerator) and not callable(f):
        raise JugError(f"jug.mapreduce.{what}: {f!r} is not a task function")
    return register(f)


def _chunks(items, step):
    return [items[i : i + step] for i in range(0, len(items), step)]


def _map(f, calls, map_step, what):
    function = _function(f, what)
    if map_step <= 1:
        return [Task(f, *args) for args in calls]
    name = f"{function.name}.map"
    out = []
    for chunk in _chunks(calls, map_step):
        items = []
        for args in chunk:
            declared = function.declared_args(args, {})
            items.append(declared[0] if function.unary else declared)
        block = Task._declared(name, _declare(name, [items]))
        out.extend(block[i] for i in range(len(chunk)))
    return out


def map(mapper, sequence, map_step=4):
    """`mapper(x)` for every `x` in `sequence`, `map_step` per task: one tasklet per input, in
    order. A `map_step` of 1 (or less) declares plain `mapper(x)` tasks, as Jug does."""
    return _map(mapper, [(x,) for x in sequence], map_step, "map")


def currymap(mapper, sequence, map_step=4):
    """Jug's `currymap`: `mapper(*args)` for every tuple `args` in `sequence`."""
    return _map(mapper, [tuple(args) for args in sequence], map_step, "currymap")


def reduce(reducer, inputs, reduce_step=8):
    """Folds `inputs` in order with `reducer(a, b)`, `reduce_step` values per task, level by
    level until one is left; the final `Task`, or None for no inputs. A `reduce_step` below 2
    counts as 2."""
    function = _function(reducer, "reduce")
    name = f"{function.name}.reduce"
    step = max(2, reduce_step)
    level = [Task._declared(name, _declare(name, [chunk])) for chunk in _chunks(list(inputs), step)]
    while len(level) > 1:
        level = [Task._declared(name, _declare(name, [chunk])) for chunk in _chunks(level, step)]
    return level[0] if level else None


def mapreduce(reducer, mapper, inputs, map_step=4, reduce_step=8):
    """`reduce` over `map` (Jug's `mapreduce.mapreduce`)."""
    return reduce(reducer, map(mapper, inputs, map_step), reduce_step)


def run_batch(function, kind, args):
    """Runs a `<name>.map` or `<name>.reduce` task on its decoded argument array."""
    (items,) = args
    if kind == "map":
        return [function.call_item(item) for item in items]
    if not items:
        raise JugError("nothing to reduce")
    accumulator = items[0]
    for item in items[1:]:
        accumulator = function.f(accumulator, item)
    return accumulator
