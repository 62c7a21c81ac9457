"""Benchmark the FHIRPath layer: strict parsing, and evaluation per call against fhirpathpy.

    python tools/bench_fhirpath.py [--repeat N]

Prints the time to syntax-check every R5 core constraint (the vendored fixture), and for a
few real constraints the time per evaluation with ``compile_expression`` and with
``fhirpathpy.compile`` (which rebuilds its user invocation table on every call). Timings
vary with the machine: compare the two columns, not runs.
"""

from __future__ import annotations

import argparse
import json
import sys
import timeit
from pathlib import Path

import fhirpathpy

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.fhirpath import compile_expression  # noqa: E402
from engine.fhirpath.syntax import parse  # noqa: E402

_CONSTRAINTS = ROOT / "tests" / "fixtures" / "fhirpath" / "r5-constraint-expressions.json"
_RESOURCE = {
    "resourceType": "ImagingSelection",
    "status": "available",
    "code": {"text": "x"},
    "studyUid": "1.2.3",
    "seriesUid": "1.2.3.4",
    "instance": [
        {"uid": "1.2.3.4.5", "imageRegion2D": [{"regionType": "point", "coordinate": [1, 2]}]},
        {"uid": "1.2.3.4.6", "waveFormChannel": [1, 2]},
    ],
}
_EXPRESSIONS = {
    "isl-1": "seriesUid.exists() or imageRegion3D.exists()",
    "isl-7": (
        "instance.imageRegion2D.coordinate.exists() implies "
        "instance.imageRegion2D.coordinate.count() mod 2 = 0"
    ),
    "ele-1": "hasValue() or (children().count() > id.count())",
}


# What a plain fhirpathpy user registers for ele-1; fhirpathpy wraps it again on every call.
_FHIRPATHPY_OPTIONS = {
    "userInvocationTable": {
        "hasValue": {"fn": lambda inputs: len(inputs) == 1 and not isinstance(inputs[0], dict)}
    }
}


def main() -> None:
    """Run both benchmarks and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2000, help="evaluations per expression")
    args = parser.parse_args()

    entries = json.loads(_CONSTRAINTS.read_text(encoding="utf-8"))["entries"]
    expressions = [e["expression"] for e in entries["defined"]] + entries["snapshot_only"]
    parse.cache_clear()
    seconds = timeit.timeit(lambda: [parse(e) for e in expressions], number=1)
    per = 1000 * seconds / len(expressions)
    print(f"parse {len(expressions)} R5 constraints: {seconds:.3f} s ({per:.2f} ms each)")

    for key, expression in _EXPRESSIONS.items():
        ours = compile_expression(expression)
        theirs = fhirpathpy.compile(expression, options=_FHIRPATHPY_OPTIONS)
        environment = {"resource": _RESOURCE, "rootResource": _RESOURCE}
        ours_time = timeit.timeit(
            lambda o=ours: o(
                _RESOURCE,
                focus_path="ImagingSelection",
                resource=_RESOURCE,
                root_resource=_RESOURCE,
            ),
            number=args.repeat,
        )
        theirs_time = timeit.timeit(
            lambda t=theirs, env=environment: t(_RESOURCE, env), number=args.repeat
        )
        print(
            f"{key}: ours {1e6 * ours_time / args.repeat:.1f} µs/call, "
            f"fhirpathpy.compile {1e6 * theirs_time / args.repeat:.1f} µs/call"
        )


if __name__ == "__main__":
    main()
