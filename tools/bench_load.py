"""Benchmark loading definitions: ``python tools/bench_load.py [PATH ...] [--repeat N]``.

Prints the import time of the loader, the time of the first load after import (cold
parser caches), and the median and best of ``--repeat`` further loads. PATH defaults to
the seed, ``definitions/ImagingSelection.md``; give ``definitions`` to time the whole
folder.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", default=[str(ROOT / "definitions/ImagingSelection.md")])
    parser.add_argument("--repeat", type=int, default=20, help="timed loads after the first")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    import engine
    import engine.definitions.markdown  # noqa: F401  (imported lazily by engine; its grammars load here)

    imported = time.perf_counter() - started

    started = time.perf_counter()
    definitions = engine.load_definitions(*args.paths)
    first = time.perf_counter() - started

    timings = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        engine.load_definitions(*args.paths)
        timings.append(time.perf_counter() - started)

    types = len(definitions)
    elements = sum(len(sd.elements) for sd in definitions.values())
    constraints = sum(len(sd.constraints) for sd in definitions.values())
    print(
        f"loaded {', '.join(args.paths)}: {types} types, {elements} elements, "
        f"{constraints} constraints"
    )
    print(f"import engine + loader:   {imported * 1000:8.1f} ms")
    print(f"first load after import:  {first * 1000:8.1f} ms")
    if timings:
        print(
            f"repeat loads (n={len(timings)}): median {statistics.median(timings) * 1000:.1f} ms,"
            f" best {min(timings) * 1000:.1f} ms"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
