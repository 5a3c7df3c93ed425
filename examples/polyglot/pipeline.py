"""A graph in Python whose tasks run in three languages.

Python measures (here: a deterministic pseudo-random sample per seed), Rust summarises
(`stats.wasm`, built from examples/polyglot/stats) and JavaScript writes the report
(`report.wasm`, from report.js). Every value crosses between them as deterministic CBOR, so
the keys, and the bytes stored, are the same whichever language produced them.

Build all three with examples/polyglot/build, then:  jug-host execute pipeline.wasm
"""

from jug import TaskGenerator, component

stats = component("stats.wasm")    # Rust
report = component("report.wasm")  # JavaScript


@TaskGenerator
def measure(seed):
    """A sample of 100 values in [0, 1), from a linear congruential generator."""
    state = seed * 2654435761 + 1
    values = []
    for _ in range(100):
        state = (state * 6364136223846793005 + 1442695040888963407) % 2**64
        values.append((state >> 11) / 2**53)
    return values


@TaskGenerator
def probe():
    """One value of every kind that crosses languages: the echo tasks must return it
    byte for byte."""
    return {
        "ints": [0, 1, -1, 23, 24, 255, 256, -257, 2**32, 2**63 - 1, -(2**63), 2**64 - 1],
        "floats": [0.5, 1.5, -2.75, 0.1, 3.141592653589793, 1e300, -1e-300, 65504.5, 1 / 3],
        "strings": ["", "jug", "naïve café", "日本語", "emoji 🎉", "tab\tnew\nline"],
        "bytes": b"\x00\x01\xfe\xffbinary",
        "nested": {"a": [1, [2, [3, {"b": b"", "c": None}]]], "t": True, "f": False},
    }


samples = [measure(seed) for seed in range(8)]
summary = stats.describe(samples)
text = report.format(summary)

value = probe()
from_rust = stats.echo(value)
from_js = report.echo(value)
