"""Benchmark start-up from compiled rules vs markdown: ``python tools/bench_rules.py [DIR]``.

Each measurement runs in a fresh interpreter (cold caches, as a command-line run is):

- ``import …``: the imports alone, which every other case includes;
- ``markdown``: ``engine.load_definitions(DIR)``, parsing and checking every file;
- ``rules index``: ``load_rules(DIR)``, which reads only ``rules/_index.yaml``;
- ``rules, one type``: ``load_rules(DIR)["ImagingSelection"]`` (one rule file parsed);
- ``rules, all types``: every rule file parsed;
- ``validate one``: the time to a first validation of one ImagingSelection, from
  the markdown and from the compiled rules.

DIR defaults to the project's ``definitions``. Figures are medians of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_RESOURCE = (
    "{'resourceType': 'ImagingSelection', 'status': 'available', 'code': {'text': 'x'},"
    " 'studyUid': '1.2.3', 'seriesUid': '1.2.3.4'}"
)
_CASES = {
    "import engine": "import engine",
    "import engine.rules.loader": "import engine.rules.loader",
    "markdown": "import engine; engine.load_definitions(D)",
    "rules index": "from engine.rules.loader import load_rules; load_rules(D)",
    "rules, one type": (
        "from engine.rules.loader import load_rules; load_rules(D)['ImagingSelection']"
    ),
    "rules, all types": (
        "from engine.rules.loader import load_rules; d = load_rules(D); [d[n] for n in d]"
    ),
    "validate one (markdown)": (
        f"import engine; engine.Validator(engine.load_definitions(D)).validate({_RESOURCE})"
    ),
    "validate one (rules)": (
        "import engine; from engine.rules.loader import load_rules; "
        f"engine.Validator(load_rules(D)).validate({_RESOURCE})"
    ),
}


def _time(statement: str, folder: str) -> float:
    program = (
        "import time; t = time.perf_counter(); "
        f"D = {folder!r}; {statement}; print(time.perf_counter() - t)"
    )
    output = subprocess.run(
        [sys.executable, "-c", program], check=True, capture_output=True, text=True, cwd=ROOT
    )
    return float(output.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("definitions", nargs="?", default=str(ROOT / "definitions"))
    parser.add_argument("--repeat", type=int, default=5, help="fresh-interpreter runs per case")
    args = parser.parse_args(argv)
    for name, statement in _CASES.items():
        runs = [_time(statement, args.definitions) for _ in range(args.repeat)]
        print(f"{name:26} {statistics.median(runs) * 1000:9.1f} ms (best {min(runs) * 1000:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
